// Copyright 2026 The micro-nats Authors.
//
// subscription.h: a subscription on a nats::Connection (Connection::Subscribe)
// and where its handler runs.
//
// Messages come off the wire on nats.c's shared delivery pool; a handler
// that may block runs on its Connection's bounded handler pool instead, one
// call at a time and in order (HandlerThread). Include nats/connection.h to
// subscribe.

#ifndef MICRO_NATS_NATS_SUBSCRIPTION_H_
#define MICRO_NATS_NATS_SUBSCRIPTION_H_

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace micro_nats::nats {

class Connection;

// Called for each message of a subscription, one call at a time, in order.
// The message belongs to the Subscription and is freed when the handler
// returns.
using MessageHandler = std::function<void(natsMsg* msg)>;

// Where a subscription's handler runs.
enum class HandlerThread {
  // On the Connection's handler pool (ConnectionOptions::handler_threads).
  // The handler may block, e.g. call another service and wait for its
  // answer, which arrives on another subscription: that one is still served.
  kHandlerPool,
  // On nats.c's shared delivery thread: no hand-off, the lowest latency.
  // Only for handlers that never block (route a message to a queue): a
  // blocked one stalls every subscription that shares its thread, and a
  // wait there for another message of the process can deadlock.
  kDeliveryThread,
  // On the handler pool, as kHandlerPool, until 32 calls in a row
  // returned within SubscribeOptions::inline_budget without waiting in our
  // code (nats::WillBlock: a nested call's answer); then on nats.c's shared
  // delivery thread, as kDeliveryThread, until a call waits or works long.
  // A call that waited sends it to the handler pool for good; one over its
  // budget (perhaps only preempted on a busy machine) sends it back to
  // prove itself again, with twice as many calls each time. One call at a
  // time and in order throughout. So a handler that never blocks pays no
  // hand-off, a handler that calls services on every message shows it
  // while it holds no delivery thread, and one that blocks only now and
  // then delays the subscriptions sharing its delivery thread once, for
  // that one call (one that works long now and then: a few times). Its
  // wait there is for nothing routed on that thread: replies come on
  // threads of their own (Request's, nats.c's; InboxMux's, its own). A
  // callee in this process subscribed on the same delivery thread answers
  // only after that call (a 1-thread pool: after its deadline).
  kAdaptive,
};

struct SubscribeOptions {
  // Non-empty: join this NATS queue group.
  std::string queue;
  // Asynchronous errors of this subscription: messages dropped because the
  // handler fell behind (ResourceExhausted, with how many), and the
  // server's refusal of the subscription (PermissionDenied: the user may
  // not subscribe there). Unset: the connection's on_async_error, else
  // the process error sink (status/error_sink.h) as "nats". None starts
  // once Unsubscribe or Drain has returned. It may be called on the thread
  // calling Unsubscribe or Drain, before that returns (the drops not yet
  // reported): hold no lock there that on_error takes. One running on
  // another thread is waited for: by Unsubscribe for 2 s at most (then
  // the process sink is told, and it returns), by Drain to its deadline.
  // From on_error, Unsubscribe and Drain return at once while another
  // thread closes the subscription (that one waits for this report).
  std::function<void(const absl::Status&)> on_error;
  // Messages this subscription may hold unhandled before new ones are
  // dropped and reported; 0 keeps the connection's
  // max_pending_msgs_per_subscription.
  int max_pending_msgs = 0;
  HandlerThread run_on = HandlerThread::kHandlerPool;
  // kAdaptive: the longest call (wall time) that keeps the subscription on
  // the delivery thread. Generous: on a busy machine a call may be
  // preempted for milliseconds without blocking. A budget of at least two
  // ticks of the kernel's coarse clock (a tick is 1-4 ms) is measured with
  // that clock: a read costs a tenth of a precise one, twice a message.
  absl::Duration inline_budget = absl::Milliseconds(10);
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
  // running call finishes; no later one starts); likewise no error report
  // (on_error): drops not yet reported are reported before it returns, on
  // this thread (hold no lock on_error takes), and one running elsewhere
  // is waited for, 2 s at most (past that it is told to the process error
  // sink and not waited for). From on_error while another thread
  // unsubscribes, it returns at once.
  absl::Status Unsubscribe();

  // Handles what is already queued, then stops; returns by `timeout`
  // (DeadlineExceeded when work was left, or an on_error call was still
  // running; a handler call still running then is waited for by
  // Unsubscribe or the destructor). Error reports end as for Unsubscribe,
  // waited for to the deadline.
  absl::Status Drain(absl::Duration timeout);

  // Messages dropped so far because the handler fell behind.
  int64_t dropped() const;

  // kAdaptive: whether calls run on the delivery thread now (for tests and
  // diagnostics; it may change right after).
  bool RunsOnDeliveryThread() const;

 private:
  friend class Connection;
  struct State;
  class ErrorGate;

  // Connection::Subscribe once it has checked `subject` and the queue name:
  // subscribes on `connection`'s main nats.c connection.
  static absl::StatusOr<std::unique_ptr<Subscription>> Create(
      std::shared_ptr<Connection> connection, absl::string_view subject,
      MessageHandler handler, SubscribeOptions options,
      bool own_thread = false);

  Subscription(std::shared_ptr<Connection> connection, std::string subject,
               std::shared_ptr<State> state);
  absl::Status Close(bool drain, absl::Duration timeout);

  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                        void* closure);
  // Runs the handler on `msg`, unless the subscription closed.
  static void Deliver(State& state, natsMsg* msg);
  // kAdaptive's Deliver: true when the call waited in our code or ran over
  // its budget (the subscription then stays on the handler pool).
  static bool DeliverAdaptive(State& state, natsMsg* msg);
  static void OnComplete(void* closure);

  std::shared_ptr<Connection> connection_;
  std::string subject_;
  std::shared_ptr<State> state_;
};

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_SUBSCRIPTION_H_
