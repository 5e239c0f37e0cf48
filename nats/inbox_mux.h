// Copyright 2026 The micro-nats Authors.
//
// inbox_mux.h: many reply inboxes on one subscription.
//
// A transport socket or a registry lookup needs its own reply subject. A
// subscription each would cost a server round trip and, in nats.c, a
// delivery thread each; instead one wildcard subscription `<prefix>.*` per
// Connection receives for all of them and hands each message to the
// handler of its inbox.
//
// The mux routes on a thread of its own (Connection::SubscribeOnOwnThread),
// never on nats.c's shared delivery pool: a handler running on that pool (an
// inline broker handler, say) that waits for a reply routed here holds
// only its own thread, not the one routing the reply.
//
//   MN_ASSIGN_OR_RETURN(auto mux, InboxMux::Create(connection));
//   std::string inbox = mux->Register([](natsMsg* msg) { ... });
//   connection->Publish("service.query", "...", {.reply = inbox});
//   ...
//   mux->Unregister(inbox);

#ifndef MICRO_NATS_NATS_INBOX_MUX_H_
#define MICRO_NATS_NATS_INBOX_MUX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "nats/connection.h"

namespace micro_nats::nats {

// InboxMux
//
// Thread-safe.
class InboxMux : public std::enable_shared_from_this<InboxMux> {
 public:
  // The Connection's mux, shared by everyone who asks while one holds it
  // (one routing thread per Connection, not per caller); the first call
  // subscribes and waits until the server has the subscription.
  static absl::StatusOr<std::shared_ptr<InboxMux>> Create(
      std::shared_ptr<Connection> connection);

  // A new inbox subject; its messages go to `handler`, on the mux's delivery
  // thread, in order. A handler may run once more shortly after Unregister
  // returns: let it hold what it needs by value. When NATS drops messages
  // for the mux, which inbox lost them is unknown: every registered
  // `on_lost` is told (ResourceExhausted).
  std::string Register(
      MessageHandler handler,
      std::function<void(const absl::Status&)> on_lost = nullptr);
  void Unregister(const std::string& inbox);

  Connection& connection() { return *connection_; }

  ~InboxMux();

 private:
  explicit InboxMux(std::shared_ptr<Connection> connection);
  // Subscribes `prefix_.*`.
  absl::Status Subscribe();
  void Route(natsMsg* msg);
  void Lost(const absl::Status& status);

  struct Inbox {
    MessageHandler handler;
    std::function<void(const absl::Status&)> on_lost;
  };

  const std::shared_ptr<Connection> connection_;
  const std::string prefix_;
  std::mutex mu_;
  uint64_t next_id_ = 0;  // guarded by mu_
  // Shared so that routing a message copies a pointer, not the handler.
  // Looked up by the message's subject as it is (std::less<>: no copy).
  std::map<std::string, std::shared_ptr<const Inbox>, std::less<>>
      handlers_;  // guarded by mu_
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_INBOX_MUX_H_
