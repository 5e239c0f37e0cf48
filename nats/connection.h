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
// Threads: messages come off the wire on nats.c's shared delivery pool (a
// couple of threads for the whole process, whatever the number of
// subscriptions), and handlers that may block run on a bounded handler pool
// per Connection; see ConnectionOptions::delivery_threads/handler_threads.
//
//   MN_ASSIGN_OR_RETURN(
//       std::shared_ptr<Connection> conn,
//       Connection::Connect({.servers = {"nats://127.0.0.1:4222"}}));
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
#include "concurrency/thread_pool.h"
#include "nats/message.h"
#include "nats/subscription.h"

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

  // Threads that take messages off the wire and hand them to subscriptions:
  // nats.c's global delivery pool, shared by every subscription of every
  // Connection in the process (it grows to the largest size any Connection
  // asks for and never shrinks). Each subscription stays on one of them, so
  // its messages keep their order. Only handlers that never block run on
  // them (SubscribeOptions::run_on).
  int delivery_threads = 2;
  // Threads that run handlers that may block (HandlerThread::kHandlerPool),
  // shared by this Connection's subscriptions; each subscription's calls run
  // one at a time, in order. Started as needed.
  int handler_threads = 4;

  // Delivery::kBatched publishes wait in nats.c's buffer for its flusher,
  // which sends ~1 ms after a burst begins. When publishing pauses this
  // long, what is buffered is sent at once instead (with a PING, by a
  // thread of the batching connection's own), so the tail of a burst does
  // not wait out the millisecond. Zero: leave it to nats.c.
  absl::Duration batched_idle_flush = absl::Microseconds(50);

  // How often to ask the server for a PONG, and how many may go unanswered
  // before the connection counts as lost (and reconnects). A server that
  // vanished without closing TCP is noticed after about
  // ping_interval * (max_pings_out + 1).
  absl::Duration ping_interval = absl::Seconds(2);
  int max_pings_out = 2;

  // Prefix of this connection's reply inboxes and inbox-muxed subjects
  // (Inbox(), nats.c's own requests): "<inbox_prefix>.<nuid>". Give each
  // NATS user its own (e.g. "_INBOX.orders") and allow it to subscribe only
  // there, so no user reads the answers meant for another (SECURITY.md).
  std::string inbox_prefix = "_INBOX";

  // Called from nats.c's callback thread.
  std::function<void()> on_disconnected;
  std::function<void()> on_reconnected;
  // Asynchronous errors not tied to one subscription (and a subscription's
  // when its own on_error is unset). Unset: the process error sink
  // (status/error_sink.h) as "nats".
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
  // The same without reply or headers: bulk publishing's path, with no
  // allocation, lock or wake-up beyond nats.c's own (a subject is checked
  // once per thread while it stays the same).
  absl::Status Publish(absl::string_view subject, absl::string_view body,
                       Delivery delivery);
  // The same with a reply subject (empty for none) and headers, both only
  // read: the request and answer path, which has them at hand and need not
  // copy them into a PublishOptions.
  absl::Status Publish(absl::string_view subject, absl::string_view body,
                       absl::string_view reply, const Headers& headers,
                       Delivery delivery = Delivery::kImmediate);
  // Publishes a prepared message (see BuildMessage); InvalidArgument when
  // its subjects or headers break the rules BuildMessage enforces.
  absl::Status PublishMsg(natsMsg* msg,
                          Delivery delivery = Delivery::kImmediate);

  // A request on the main connection, with `headers`, and its answer.
  // DeadlineExceeded when none came by `deadline` (at once for a past one;
  // an infinite one waits a day at most); Unavailable when nobody
  // subscribes to `subject` (no responders) or NATS cannot be reached.
  absl::StatusOr<NatsMsgPtr> Request(absl::string_view subject,
                                     absl::string_view body,
                                     const Headers& headers,
                                     absl::Time deadline);

  // Subscribes on the main connection. The handler runs where
  // `options.run_on` says, one message at a time, in order. Its error
  // reports (SubscribeOptions::on_error, else on_async_error) end when
  // Subscription::Unsubscribe or Drain returns; the last may run on the
  // thread calling them, before they return (hold no lock on_error takes),
  // and one running elsewhere is waited for within a bound (Unsubscribe:
  // 2 s; Drain: its deadline).
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(
      absl::string_view subject, MessageHandler handler,
      SubscribeOptions options = {});

  // Sends everything buffered (both connections) and waits for the server
  // to acknowledge it.
  absl::Status Flush(absl::Duration timeout);

  // Largest payload the server accepts, in bytes, as it said when the
  // connection was last made (no lock: read on every send).
  int64_t max_payload() const;
  bool IsConnected() const;
  // The URL of the server the main connection is on, or "" when none.
  std::string ConnectedUrl() const;
  // A new unique inbox subject ("_INBOX.<nuid>").
  static std::string NewInbox();
  // A new unique inbox subject under this connection's
  // ConnectionOptions::inbox_prefix ("<prefix>.<nuid>").
  std::string Inbox() const;

  // Calls `listener` (on nats.c's thread; it must not block) each time the
  // connection is back after an outage, besides
  // ConnectionOptions::on_reconnected: what subscribers missed meanwhile
  // is lost, and a block that cares (the registry's watch) says so.
  // Returns a handle for RemoveReconnectListener.
  uint64_t AddReconnectListener(std::function<void()> listener);
  void RemoveReconnectListener(uint64_t handle);

  const ConnectionOptions& options() const { return options_; }

  // For a subscription made on get() directly (a transport listener's
  // synchronous one): nats.c's asynchronous errors for it (a slow
  // consumer's drops, with how many) go to `on_error`, else
  // on_async_error, as a Subscribe'd one's do; unrouted ones can only be
  // reported as "not routed". Call RemoveErrorRoute before freeing it.
  void AddErrorRoute(natsSubscription* sub, std::string subject,
                     std::function<void(const absl::Status&)> on_error);
  void RemoveErrorRoute(natsSubscription* sub);

 private:
  friend class Subscription;
  // Routes replies on a thread no handler shares (SubscribeOnOwnThread).
  friend class InboxMux;

  explicit Connection(ConnectionOptions options);
  // Subscribes with a delivery thread of the subscription's own, which no
  // other subscription's handler shares (as nats.c routes its own
  // requests' replies): for routing replies that handlers on the delivery
  // pool or the handler pool may wait for. The handler must not block. A
  // thread each, so only for micro-nats' own: the InboxMux, one per
  // Connection; never per request or per user subscription. Needs nats.c
  // 3.x (nats.c's internal subscribe); FailedPrecondition otherwise.
  absl::StatusOr<std::unique_ptr<Subscription>> SubscribeOnOwnThread(
      absl::string_view subject, MessageHandler handler,
      std::function<void(const absl::Status&)> on_error);
  absl::StatusOr<natsConnection*> Open(bool send_asap);
  absl::StatusOr<natsConnection*> Batching();
  // The nats.c connection that publishes with `delivery`.
  absl::StatusOr<natsConnection*> ConnectionFor(Delivery delivery);
  // `subject` checked as a concrete subject, NUL-terminated, valid until
  // this thread's next call; null with `*invalid` set when it is not one.
  static const char* CheckedSubject(absl::string_view subject,
                                    absl::Status* invalid);
  // After a publish with `delivery`: a batched one tells the tail flusher
  // (TailFlushLoop) that a burst is on, unless it was told since it last
  // looked. Once per look, not per publish.
  void Published(Delivery delivery) {
    if (delivery == Delivery::kBatched &&
        tail_state_.load(std::memory_order_relaxed) != kTailPublished) {
      ArmTailFlush();
    }
  }
  void ArmTailFlush();
  void TailFlushLoop(natsConnection* nc);
  // PublishMsg for a message BuildMessage already checked.
  absl::Status PublishBuilt(natsMsg* msg, Delivery delivery);
  void RouteError(natsConnection* nc, natsSubscription* sub, natsStatus err);
  // Every live Subscription has an error route (its on_error may be
  // empty): nats.c reports asynchronous errors with a subscription pointer
  // it does not keep alive, so only one still routed may be looked at.

  static void OnError(natsConnection*, natsSubscription* sub, natsStatus err,
                      void* closure);
  static void OnDisconnected(natsConnection*, void* closure);
  static void OnReconnected(natsConnection*, void* closure);
  static void OnClosed(natsConnection*, void* closure);

  const ConnectionOptions options_;
  natsConnection* main_ = nullptr;
  // Runs kHandlerPool handlers; shared with their subscriptions' queues.
  const std::shared_ptr<concurrency::ThreadPool> handler_pool_;

  mutable std::mutex mu_;
  std::condition_variable closed_cv_;
  // Set once, under mu_; read without it on every batched publish.
  std::atomic<natsConnection*> batching_{nullptr};
  int open_connections_ = 0;  // guarded by mu_; closed-CB counts down
  struct ErrorRoute {
    std::string subject;
    std::function<void(const absl::Status&)> on_error;
  };
  std::map<natsSubscription*, ErrorRoute> error_routes_;  // guarded by mu_
  uint64_t next_listener_ = 0;                            // guarded by mu_
  std::map<uint64_t, std::shared_ptr<const std::function<void()>>>
      reconnect_listeners_;  // guarded by mu_

  // The batching connection's tail flusher (TailFlushLoop). Idle: it
  // sleeps, and the first batched publish wakes it. Watching: it looks
  // every so often whether publishes came since (kTailPublished, set by
  // them without a wake-up) and flushes once a look finds none.
  enum TailState : int { kTailIdle, kTailWatching, kTailPublished };
  std::atomic<int> tail_state_{kTailIdle};
  // max_payload(): set on connect and on each reconnect.
  std::atomic<int64_t> max_payload_{0};
  std::mutex tail_mu_;
  std::condition_variable tail_cv_;
  bool tail_stop_ = false;    // guarded by tail_mu_
  std::thread tail_flusher_;  // started with the batching connection
};

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_CONNECTION_H_
