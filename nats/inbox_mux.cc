// Copyright 2026 The micro-nats Authors.

#include "nats/inbox_mux.h"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"

namespace micro_nats::nats {

namespace {

// Each Connection's mux while someone holds it. Keyed by address: a mux
// holds its Connection, so the key names no other one while the entry is
// live; an expired entry is replaced or erased.
struct Entry {
  // Held by the one caller that subscribes for this Connection (bounded by
  // the flush's timeout), so callers of other Connections never wait on it.
  std::mutex subscribing;
  std::weak_ptr<InboxMux> mux;  // guarded by Muxes::mu
};

struct Muxes {
  std::mutex mu;
  std::map<const Connection*, std::shared_ptr<Entry>> by_connection;
};

Muxes& AllMuxes() {
  static auto* muxes = new Muxes();  // never destroyed: used at exit
  return *muxes;
}

}  // namespace

InboxMux::InboxMux(std::shared_ptr<Connection> connection)
    : connection_(std::move(connection)), prefix_(connection_->Inbox()) {}

InboxMux::~InboxMux() {
  Muxes& muxes = AllMuxes();
  std::lock_guard<std::mutex> lock(muxes.mu);
  auto it = muxes.by_connection.find(connection_.get());
  // Unless a new mux for the Connection took the entry already.
  if (it != muxes.by_connection.end() && it->second->mux.expired()) {
    muxes.by_connection.erase(it);
  }
}

absl::StatusOr<std::shared_ptr<InboxMux>> InboxMux::Create(
    std::shared_ptr<Connection> connection) {
  Muxes& muxes = AllMuxes();
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(muxes.mu);
    std::shared_ptr<Entry>& slot = muxes.by_connection[connection.get()];
    if (slot == nullptr) slot = std::make_shared<Entry>();
    entry = slot;
    if (std::shared_ptr<InboxMux> mux = entry->mux.lock()) return mux;
  }
  // Only callers of this Connection wait while its first one subscribes;
  // they then share its mux. The global lock is never held across the
  // subscription's flush (a server that is down would stall every
  // Connection's callers and mux destructors for its timeout).
  std::lock_guard<std::mutex> subscribing(entry->subscribing);
  {
    std::lock_guard<std::mutex> lock(muxes.mu);
    if (std::shared_ptr<InboxMux> mux = entry->mux.lock()) return mux;
  }
  std::shared_ptr<InboxMux> mux(new InboxMux(std::move(connection)));
  // One that failed is destroyed on return, outside the global lock (its
  // destructor takes it).
  MN_RETURN_IF_ERROR(mux->Subscribe());
  std::lock_guard<std::mutex> lock(muxes.mu);
  entry->mux = mux;
  return mux;
}

absl::Status InboxMux::Subscribe() {
  std::weak_ptr<InboxMux> weak = weak_from_this();
  MN_ASSIGN_OR_RETURN(
      subscription_,
      connection_->SubscribeOnOwnThread(
          prefix_ + ".*",
          [weak](natsMsg* msg) {
            if (auto self = weak.lock()) self->Route(msg);
          },
          // A thread no handler shares: the handlers that wait for these
          // replies may run on the delivery pool. Inbox handlers only hand
          // a message over; they never block.
          [weak](const absl::Status& status) {
            if (auto self = weak.lock()) self->Lost(status);
          }));
  return connection_->Flush(absl::Seconds(5));
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
    auto it = handlers_.find(Subject(msg));
    if (it == handlers_.end()) return;  // unregistered since
    handler = it->second;
  }
  handler->handler(msg);
}

}  // namespace micro_nats::nats
