// Copyright 2026 The micro-nats Authors.
//
// connection.h: the NATS connection a process shares between its registry,
// transport and broker.
//
// One `Connection` per process (or per NATS account), shared by
// std::shared_ptr: never a connection per call or per socket. Reconnection
// and resubscription are nats.c's own.
//
// Latency and throughput want different nats.c settings. Measured here with
// nats.c 3.4.1 on loopback, a buffered publish waits for nats.c's flusher
// (~1 ms per request/reply), while "send asap" sends at once (~170 µs round
// trip) but bulk publishing drops ~30x. So a Connection holds two nats.c
// connections:
//   - the main one, send-asap: subscriptions, requests, replies and
//     `Delivery::kImmediate` publishes;
//   - a batching one, connected on first use, for `Delivery::kBatched`
//     publishes (bulk broker traffic).
// Messages from one publisher keep their order within one Delivery mode;
// mixing modes gives no order between the two.
//
//   MN_ASSIGN_OR_RETURN(std::shared_ptr<Connection> conn,
//                       Connection::Connect({.servers =
//                       {"nats://127.0.0.1:4222"}}));
//   MN_RETURN_IF_ERROR(conn->Publish("greetings", "hello"));

#ifndef MICRO_NATS_NATS_CONNECTION_H_
#define MICRO_NATS_NATS_CONNECTION_H_

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "nats/message.h"

namespace micro_nats::nats {

struct TlsOptions {
  std::string ca_file;    // PEM trusted CA certificates
  std::string cert_file;  // PEM client certificate chain (mutual TLS)
  std::string key_file;   // PEM client private key
  bool skip_server_verification = false;  // tests only
};

struct ConnectionOptions {
  // Server URLs ("nats://host:port"); several for a cluster.
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  // Connection name shown by the server's monitoring.
  std::string name = "micro-nats";
  std::string user;
  std::string password;
  std::string token;
  absl::optional<TlsOptions> tls;

  absl::Duration connect_timeout = absl::Seconds(2);
  bool allow_reconnect = true;
  // -1: keep trying for ever.
  int max_reconnect_attempts = -1;
  absl::Duration reconnect_wait = absl::Milliseconds(100);
  // Bytes buffered while reconnecting; publishes beyond fail.
  int reconnect_buffer_bytes = 8 << 20;
  // Messages a subscription may queue before nats.c drops them and reports
  // a slow consumer.
  int max_pending_msgs_per_subscription = 65536;

  // Called from nats.c's callback thread.
  std::function<void()> on_disconnected;
  std::function<void()> on_reconnected;
  // Asynchronous errors not tied to one subscription.
  std::function<void(const absl::Status&)> on_async_error;
};

enum class Delivery {
  kImmediate,  // send at once: requests, replies, latency-sensitive events
  kBatched,    // buffer and let nats.c's flusher send: bulk publishing
};

struct PublishOptions {
  std::string reply;  // reply subject; empty for none
  Headers headers;
  Delivery delivery = Delivery::kImmediate;
};

// Called for each message, on the subscription's delivery thread. The
// message belongs to the Subscription and is freed when the handler returns.
using MessageHandler = std::function<void(natsMsg* msg)>;

struct SubscribeOptions {
  // Non-empty: join this NATS queue group.
  std::string queue;
  // Asynchronous errors of this subscription (slow consumer).
  std::function<void(const absl::Status&)> on_error;
  // Messages this subscription may queue before nats.c drops new ones and
  // reports a slow consumer; 0 keeps the connection's
  // max_pending_msgs_per_subscription.
  int max_pending_msgs = 0;
};

class Subscription;

// Connection
//
// Thread-safe.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Connects to one of `options.servers`. Unavailable, naming the servers,
  // when none answers.
  static absl::StatusOr<std::shared_ptr<Connection>> Connect(
      ConnectionOptions options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // The main (send-asap) nats.c connection, for APIs this class does not
  // wrap. Owned by this object.
  natsConnection* get() const { return main_; }

  absl::Status Publish(absl::string_view subject, absl::string_view body,
                       const PublishOptions& options = {});
  // Publishes a prepared message (see BuildMessage).
  absl::Status PublishMsg(natsMsg* msg,
                          Delivery delivery = Delivery::kImmediate);

  // Subscribes on the main connection. The handler runs on a delivery thread
  // of this subscription; messages arrive in order.
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(
      absl::string_view subject, MessageHandler handler,
      SubscribeOptions options = {});

  // Sends everything buffered (both connections) and waits for the server
  // to acknowledge it.
  absl::Status Flush(absl::Duration timeout);

  // Largest payload the server accepts, in bytes.
  int64_t max_payload() const;
  bool IsConnected() const;
  // The URL of the server the main connection is on, or "" when none.
  std::string ConnectedUrl() const;
  // A new unique inbox subject ("_INBOX.<nuid>").
  static std::string NewInbox();

  const ConnectionOptions& options() const { return options_; }

 private:
  friend class Subscription;

  explicit Connection(ConnectionOptions options);
  absl::StatusOr<natsConnection*> Open(bool send_asap);
  absl::StatusOr<natsConnection*> Batching();
  // The nats.c connection that publishes with `delivery`.
  absl::StatusOr<natsConnection*> ConnectionFor(Delivery delivery);
  void RouteError(natsSubscription* sub, natsStatus err);
  void AddErrorRoute(natsSubscription* sub,
                     std::function<void(const absl::Status&)> on_error);
  void RemoveErrorRoute(natsSubscription* sub);

  static void OnError(natsConnection*, natsSubscription* sub, natsStatus err,
                      void* closure);
  static void OnDisconnected(natsConnection*, void* closure);
  static void OnReconnected(natsConnection*, void* closure);
  static void OnClosed(natsConnection*, void* closure);

  const ConnectionOptions options_;
  natsConnection* main_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable closed_cv_;
  // Set once, under mu_; read without it on every batched publish.
  std::atomic<natsConnection*> batching_{nullptr};
  int open_connections_ = 0;  // guarded by mu_; closed-CB counts down
  std::map<natsSubscription*, std::function<void(const absl::Status&)>>
      error_routes_;  // guarded by mu_
};

// Subscription
//
// An active subscription; the destructor unsubscribes.
class Subscription {
 public:
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  const std::string& subject() const { return subject_; }

  // Stops delivery. When it returns no handler call is running or will
  // start, except when called from this subscription's own handler (the
  // running call finishes; no later one starts).
  absl::Status Unsubscribe();

  // Processes what is already queued, then stops; returns by `deadline`.
  absl::Status Drain(absl::Duration timeout);

  // Messages nats.c dropped because the handler fell behind.
  int64_t dropped() const;

 private:
  friend class Connection;
  struct State;

  Subscription(std::shared_ptr<Connection> connection, std::string subject,
               std::shared_ptr<State> state);
  absl::Status Close(bool drain, absl::Duration timeout);

  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                        void* closure);
  static void OnComplete(void* closure);

  std::shared_ptr<Connection> connection_;
  std::string subject_;
  std::shared_ptr<State> state_;
};

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_CONNECTION_H_
