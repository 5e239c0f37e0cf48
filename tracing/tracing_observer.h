// Copyright 2026 The micro-nats Authors.
//
// tracing_observer.h: a service::Observer that turns every observed call,
// stream, broker message and durable event into a span, and carries the
// trace in W3C `traceparent` / `tracestate` headers.
//
//   auto tracer = std::make_shared<tracing::InMemoryTracer>();
//   NatsServiceOptions options;
//   options.observer = tracing::NewTracingObserver(tracer);
//
// Client side (ClientCall): a span of kind client (kUnary, kStream) or
// producer (kMessage, kEvent), the child of this thread's current span if
// there is one (a handler calling another service), else the root of a new
// trace; its context is written into the outgoing headers.
// Server side (ServerCall): the incoming traceparent is parsed (hostile: a
// malformed one starts a new trace and is counted, never fails the call);
// a span of kind server (consumer for kMessage, kEvent) is started as its
// child and is this thread's current span until End, which restores the
// one before (handlers nest).
//
// Names and attributes follow OpenTelemetry's semantic conventions:
//   RPC        "greeter/Greeter.Hello"; rpc.system = "micro-nats",
//              rpc.service, rpc.method
//   messaging  "publish <topic>" / "process <topic>"; messaging.system =
//              "nats", messaging.destination.name, messaging.operation.type
//   error      span status error with the message; error.type = the code
//              ("DEADLINE_EXCEEDED"), micro.code = go-micro's HTTP-like code
//   attempts   micro.node.id = the node the last attempt went to; each
//              failed attempt is an event "attempt failed".
//
// End must be called on the thread ServerCall was (service/observer.h's
// rule for servers).

#ifndef MICRO_NATS_TRACING_TRACING_OBSERVER_H_
#define MICRO_NATS_TRACING_TRACING_OBSERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "service/observer.h"
#include "tracing/tracer.h"

namespace micro_nats::tracing {

// This thread's current span's context (a server span whose handler runs
// here), or null.
const TraceContext* CurrentContext();

// Makes `context` this thread's current one until destroyed (then the one
// before): for code that starts a trace of its own and wants the calls it
// makes inside to join it. `context` must outlive the scope.
// Scopes on one thread nest; one that ends out of order is unlinked where
// it is, so the others stay right.
class ContextScope {
 public:
  explicit ContextScope(const TraceContext* context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

  // A link in this thread's chain of current contexts.
  struct Link {
    const TraceContext* context = nullptr;
    Link* previous = nullptr;
  };
  // Makes `link->context` current on this thread / takes it out of this
  // thread's chain (the observer's server spans use these directly).
  static void Push(Link* link);
  static void Pop(Link* link);

 private:
  Link link_;
};

// What came in that the observer refused or trimmed.
struct TracingStats {
  int64_t bad_traceparent = 0;     // malformed: a new trace was started
  int64_t tracestate_dropped = 0;  // tracestate members dropped
};

// TracingObserver
class TracingObserver : public service::Observer {
 public:
  explicit TracingObserver(std::shared_ptr<Tracer> tracer);

  std::unique_ptr<service::Observation> ClientCall(service::CallKind kind,
                                                   absl::string_view service,
                                                   absl::string_view endpoint,
                                                   Headers* headers) override;
  std::unique_ptr<service::Observation> ServerCall(
      service::CallKind kind, absl::string_view service,
      absl::string_view endpoint, const Headers& headers) override;

  TracingStats stats() const;

 private:
  const std::shared_ptr<Tracer> tracer_;
  std::atomic<int64_t> bad_traceparent_{0};
  std::atomic<int64_t> tracestate_dropped_{0};
};

// A TracingObserver on `tracer` (null: a no-op tracer).
std::shared_ptr<service::Observer> NewTracingObserver(
    std::shared_ptr<Tracer> tracer);

}  // namespace micro_nats::tracing

#endif  // MICRO_NATS_TRACING_TRACING_OBSERVER_H_
