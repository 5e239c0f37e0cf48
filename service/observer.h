// Copyright 2026 The micro-nats Authors.
//
// observer.h: what a client and a server tell about each call, stream,
// broker message and durable event — the one hook metrics (//metrics) and
// tracing (//tracing) hang on.
//
// A client or server with no observer (the default) tells nothing and pays
// one null check per call. One with an observer asks it, at the start of
// each call, for an Observation, tells it the attempts, and ends it once:
//
//   client  ClientCall(kUnary, "greeter", "Greeter.Hello", &request.headers)
//             -> Attempt(node, status) per attempt -> End(status)
//   server  ServerCall(kUnary, "greeter", "Greeter.Hello", request.headers)
//             -> handler runs on this thread -> End(status)
//
// The observer may add headers to what goes out (W3C `traceparent`,
// `tracestate`) and read them from what comes in: that is how a trace
// crosses services. A handler that calls another service on the thread it
// was called on continues the server call's trace (the tracer keeps the
// current span per thread while the handler runs).
//
// Everything here is called on the hot path: an observer must not block,
// and is told, never asked to decide.

#ifndef MICRO_NATS_SERVICE_OBSERVER_H_
#define MICRO_NATS_SERVICE_OBSERVER_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "message/message.h"

namespace micro_nats::service {

// What is observed.
enum class CallKind {
  kUnary,    // Call / Handle
  kStream,   // Stream / HandleStream (from the open to the end)
  kMessage,  // broker: Publish / a subscriber's delivery
  kEvent,    // durable events: Emit / a consumer's delivery
};

// Counts that are not calls: what the client and server did on the side.
enum class Counter {
  // client
  kRetry,            // an attempt after a call's first
  kEvicted,          // a node dropped from the cache after failing
  kBudgetExhausted,  // a retry or hedge the retry budget refused
  kOutcomeUnknown,   // a non-idempotent call failed after delivery
  kHedge,            // a hedged attempt sent
  kBreakerOpened,    // a node's circuit breaker opened
  kLookupCacheHit,   // the registry cache answered
  kLookupCacheMiss,  // the registry was asked
  // server
  kRefusedOverload,  // refused: the queue or an endpoint's limit was full
  kExpiredInQueue,   // dropped: its deadline passed while it waited
  // broker and events
  kDropped,       // a message or event dropped (see `reason`)
  kSlowConsumer,  // a slow-consumer report
  // transport and connection
  kSocketOpened,
  kSocketRefused,
  kSocketReaped,
  kReconnect,
};

// One observed call (or handling, publish, delivery). Ended exactly once;
// destroyed after End.
class Observation {
 public:
  virtual ~Observation() = default;
  // Client: one attempt of the call ended on `node_id` with `status` (a
  // call that was retried or hedged has more than one).
  virtual void Attempt(absl::string_view node_id, const absl::Status& status) {}
  // The call ended with `status`: what the caller got (client), or what
  // the handler (or the server's refusal) answered (server).
  virtual void End(const absl::Status& status) = 0;
};

// Observer
//
// Thread-safe; called concurrently from every calling and handling thread.
class Observer {
 public:
  virtual ~Observer() = default;

  // A client starts a call of `kind` to `service`.`endpoint` (for kMessage
  // and kEvent: the topic, `service` empty). `headers` are what will be
  // sent: the observer may add its own (traceparent). Null: not observed.
  virtual std::unique_ptr<Observation> ClientCall(CallKind kind,
                                                  absl::string_view service,
                                                  absl::string_view endpoint,
                                                  Headers* headers) {
    return nullptr;
  }

  // A server starts handling a call of `kind` on this thread (for kMessage
  // and kEvent: a delivery of topic `endpoint`). `endpoint` is one the
  // server has, or "unknown" (names from the network never become labels
  // one per name). `headers` are the request's as received: hostile input.
  // The handler runs on this thread before End.
  virtual std::unique_ptr<Observation> ServerCall(CallKind kind,
                                                  absl::string_view service,
                                                  absl::string_view endpoint,
                                                  const Headers& headers) {
    return nullptr;
  }

  // Something happened `n` times on `service` (empty when none applies);
  // `reason` qualifies drops ("slow-consumer", "too-large"...), else empty.
  virtual void Count(Counter counter, absl::string_view service, int64_t n = 1,
                     absl::string_view reason = {}) {}
};

// Tells each of `observers` (nulls skipped) everything: metrics and tracing
// together. Null when none is left.
std::shared_ptr<Observer> CombineObservers(
    std::vector<std::shared_ptr<Observer>> observers);

// Starts an observation when `observer` is set; ends it on destruction
// with the status last given to set_status (Unknown if never set), so an
// early return cannot leave it open. The hot path's helper: nothing is
// allocated without an observer.
class ObservationScope {
 public:
  ObservationScope() = default;
  explicit ObservationScope(std::unique_ptr<Observation> observation)
      : observation_(std::move(observation)) {}
  ObservationScope(ObservationScope&&) = default;
  ObservationScope& operator=(ObservationScope&&) = default;
  ~ObservationScope() {
    if (observation_ != nullptr) observation_->End(status_);
  }
  explicit operator bool() const { return observation_ != nullptr; }
  void Attempt(absl::string_view node_id, const absl::Status& status) {
    if (observation_ != nullptr) observation_->Attempt(node_id, status);
  }
  void set_status(absl::Status status) { status_ = std::move(status); }

 private:
  std::unique_ptr<Observation> observation_;
  // No message: a status with one allocates, and most scopes are given
  // theirs before they end.
  absl::Status status_{absl::StatusCode::kUnknown, ""};
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_OBSERVER_H_
