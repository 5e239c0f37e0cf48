// Copyright 2026 The micro-nats Authors.

#include "nats/inbox_mux.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"

namespace micro_nats::nats {

InboxMux::InboxMux(std::shared_ptr<Connection> connection)
    : connection_(std::move(connection)), prefix_(connection_->Inbox()) {}

absl::StatusOr<std::shared_ptr<InboxMux>> InboxMux::Create(
    std::shared_ptr<Connection> connection) {
  std::shared_ptr<InboxMux> mux(new InboxMux(std::move(connection)));
  std::weak_ptr<InboxMux> weak = mux;
  MN_ASSIGN_OR_RETURN(
      mux->subscription_,
      mux->connection_->Subscribe(
          mux->prefix_ + ".*",
          [weak](natsMsg* msg) {
            if (auto self = weak.lock()) self->Route(msg);
          },
          // Inbox handlers only hand a message over; they never block.
          {.on_error =
               [weak](const absl::Status& status) {
                 if (auto self = weak.lock()) self->Lost(status);
               },
           .run_on = HandlerThread::kDeliveryThread}));
  MN_RETURN_IF_ERROR(mux->connection_->Flush(absl::Seconds(5)));
  return mux;
}

std::string InboxMux::Register(
    MessageHandler handler, std::function<void(const absl::Status&)> on_lost) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string inbox = absl::StrCat(prefix_, ".", ++next_id_);
  handlers_.emplace(inbox, std::make_shared<const Inbox>(
                               Inbox{std::move(handler), std::move(on_lost)}));
  return inbox;
}

void InboxMux::Lost(const absl::Status& status) {
  std::vector<std::shared_ptr<const Inbox>> inboxes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, inbox] : handlers_) inboxes.push_back(inbox);
  }
  const absl::Status lost = absl::ResourceExhaustedError(absl::StrCat(
      "messages to this process's inboxes were lost: ", status.message()));
  for (const auto& inbox : inboxes) {
    if (inbox->on_lost) inbox->on_lost(lost);
  }
}

void InboxMux::Unregister(const std::string& inbox) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_.erase(inbox);
}

void InboxMux::Route(natsMsg* msg) {
  std::shared_ptr<const Inbox> handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handlers_.find(std::string(Subject(msg)));
    if (it == handlers_.end()) return;  // unregistered since
    handler = it->second;
  }
  handler->handler(msg);
}

}  // namespace micro_nats::nats
