// Copyright 2026 The micro-nats Authors.

#include "tracing/tracing_observer.h"

#include <string>
#include <utility>

#include "absl/types/span.h"
#include "service/errors.h"

namespace micro_nats::tracing {
namespace {

using service::CallKind;

// This thread's chain of current contexts, innermost first.
thread_local ContextScope::Link* current_link = nullptr;

bool IsMessaging(CallKind kind) {
  return kind == CallKind::kMessage || kind == CallKind::kEvent;
}

// The span's name per OpenTelemetry's conventions, in a per-thread buffer
// (the tracer copies it): "greeter/Greeter.Hello" for RPC ($service/$method),
// "publish orders" / "process orders" for messaging.
absl::string_view SpanName(CallKind kind, bool client,
                           absl::string_view service,
                           absl::string_view endpoint) {
  thread_local std::string name;
  name.clear();
  if (IsMessaging(kind)) {
    name.append(client ? "publish " : "process ");
    name.append(endpoint.data(), endpoint.size());
  } else {
    name.append(service.data(), service.size());
    name.push_back('/');
    name.append(endpoint.data(), endpoint.size());
  }
  return name;
}

// NATS subjects are short; a longer topic header is cut to this.
constexpr size_t kMaxTopicAttribute = 256;

// The header `name`, or its Go-canonical spelling ("Traceparent": what
// go-micro's metadata and Go's http.Header send; empty: none), or null.
const std::string* FindHeader(const Headers& headers, absl::string_view name,
                              absl::string_view canonical) {
  for (absl::string_view n : {name, canonical}) {
    if (n.empty()) continue;
    auto it = headers.find(std::string(n));
    if (it != headers.end()) return &it->second;
  }
  return nullptr;
}

// An RPC span (OpenTelemetry's RPC conventions), client or server.
std::unique_ptr<Span> StartRpcSpan(Tracer& tracer, absl::string_view name,
                                   SpanKind kind, const TraceContext* parent,
                                   absl::string_view service,
                                   absl::string_view endpoint) {
  const Attribute attributes[] = {
      {"rpc.system", "micro-nats"},
      {"rpc.service", service},
      {"rpc.method", endpoint},
  };
  return tracer.StartSpan(name, kind, parent, attributes);
}

// One span per call, ended with the call's status. A failed attempt that
// another followed (a retry, a hedge) is an event; the last one's failure
// is the span's status already.
class SpanObservation : public service::Observation {
 public:
  explicit SpanObservation(std::unique_ptr<Span> span)
      : span_(std::move(span)) {}

  // Called once per attempt, one at a time (a hedged call's from more than
  // one thread, in turn).
  void Attempt(absl::string_view node_id, const absl::Status& status) override {
    span_->SetAttribute("micro.node.id", node_id);
    FlushFailedAttempt();
    if (!status.ok()) {
      failed_node_.assign(node_id.data(), node_id.size());
      failed_ = status;
    }
  }

  void End(const absl::Status& status) override {
    if (!failed_.ok() && failed_ != status) FlushFailedAttempt();
    if (!status.ok()) {
      span_->SetAttribute("error.type",
                          absl::StatusCodeToString(status.code()));
      span_->SetAttribute("micro.code",
                          int64_t{service::HttpCodeFor(status.code())});
    }
    span_->End(status);
  }

 private:
  void FlushFailedAttempt() {
    if (failed_.ok()) return;
    const std::string code = absl::StatusCodeToString(failed_.code());
    const Attribute attributes[] = {
        {"micro.node.id", failed_node_},
        {"error.type", code},
        {"exception.message", failed_.message()},
    };
    span_->AddEvent("attempt failed", attributes);
    failed_ = absl::OkStatus();
  }

  std::string failed_node_;
  absl::Status failed_;  // the last attempt's, when it failed

 protected:
  const std::unique_ptr<Span> span_;
};

// A server span: this thread's current context from start to End.
class ServerObservation final : public SpanObservation {
 public:
  explicit ServerObservation(std::unique_ptr<Span> span)
      : SpanObservation(std::move(span)) {
    link_.context = &span_->context();
    ContextScope::Push(&link_);
  }
  ~ServerObservation() override {
    if (linked_) ContextScope::Pop(&link_);
  }

  void End(const absl::Status& status) override {
    if (linked_) {
      ContextScope::Pop(&link_);
      linked_ = false;
    }
    SpanObservation::End(status);
  }

 private:
  ContextScope::Link link_;
  bool linked_ = true;
};

}  // namespace

const TraceContext* CurrentContext() {
  return current_link == nullptr ? nullptr : current_link->context;
}

void ContextScope::Push(Link* link) {
  link->previous = current_link;
  current_link = link;
}

void ContextScope::Pop(Link* link) {
  if (current_link == link) {
    current_link = link->previous;
    return;
  }
  // Ended out of order: unlink it where it is.
  for (Link* l = current_link; l != nullptr; l = l->previous) {
    if (l->previous == link) {
      l->previous = link->previous;
      return;
    }
  }
}

ContextScope::ContextScope(const TraceContext* context) {
  link_.context = context;
  Push(&link_);
}

ContextScope::~ContextScope() { Pop(&link_); }

TracingObserver::TracingObserver(std::shared_ptr<Tracer> tracer)
    : tracer_(tracer != nullptr ? std::move(tracer) : NewNoopTracer()) {}

std::unique_ptr<service::Observation> TracingObserver::ClientCall(
    CallKind kind, absl::string_view service, absl::string_view endpoint,
    Headers* headers) {
  const TraceContext* parent = CurrentContext();
  TraceContext given;
  if (parent == nullptr && headers != nullptr) {
    // No span here, but the caller set a traceparent (a gateway passing
    // one on): continue it. The caller's own headers, so not counted.
    if (const std::string* value =
            FindHeader(*headers, kTraceparentHeader, "Traceparent")) {
      if (auto parsed = ParseTraceparent(*value); parsed.ok()) {
        given = *std::move(parsed);
        if (const std::string* state =
                FindHeader(*headers, kTracestateHeader, "Tracestate")) {
          given.tracestate = ParseTracestate(*state);
        }
        parent = &given;
      }
    }
  }
  std::unique_ptr<Span> span;
  const absl::string_view name = SpanName(kind, true, service, endpoint);
  if (IsMessaging(kind)) {
    const Attribute attributes[] = {
        {"messaging.system", "nats"},
        {"messaging.destination.name", endpoint},
        {"messaging.operation.type", "send"},
        {"messaging.operation.name", "publish"},
    };
    span = tracer_->StartSpan(name, SpanKind::kProducer, parent, attributes);
  } else {
    span = StartRpcSpan(*tracer_, name, SpanKind::kClient, parent, service,
                        endpoint);
  }
  if (headers != nullptr) {
    const TraceContext& context = span->context();
    FormatTraceparent(context, &(*headers)[std::string(kTraceparentHeader)]);
    headers->erase("Traceparent");
    if (!context.tracestate.empty()) {
      (*headers)[std::string(kTracestateHeader)] = context.tracestate;
      headers->erase("Tracestate");
    } else {
      headers->erase(std::string(kTracestateHeader));
    }
  }
  return std::make_unique<SpanObservation>(std::move(span));
}

std::unique_ptr<service::Observation> TracingObserver::ServerCall(
    CallKind kind, absl::string_view service, absl::string_view endpoint,
    const Headers& headers) {
  TraceContext remote;
  const TraceContext* parent = nullptr;
  if (const std::string* value =
          FindHeader(headers, kTraceparentHeader, "Traceparent")) {
    if (auto parsed = ParseTraceparent(*value); parsed.ok()) {
      remote = *std::move(parsed);
      parent = &remote;
      // tracestate means nothing without a valid traceparent.
      if (const std::string* state =
              FindHeader(headers, kTracestateHeader, "Tracestate")) {
        int dropped = 0;
        remote.tracestate = ParseTracestate(*state, &dropped);
        if (dropped > 0) {
          tracestate_dropped_.fetch_add(dropped, std::memory_order_relaxed);
        }
      }
    } else {
      bad_traceparent_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::unique_ptr<Span> span;
  const absl::string_view name = SpanName(kind, false, service, endpoint);
  if (IsMessaging(kind)) {
    // `endpoint` is what was subscribed to, maybe a pattern ("orders.>"):
    // the span's name, and the template. The topic itself is the one the
    // publisher put in go-micro's Micro-Topic header (hostile: capped; a
    // JSON exporter replaces bad UTF-8).
    absl::string_view topic = endpoint;
    if (const std::string* given = FindHeader(headers, "Micro-Topic", "")) {
      topic = absl::string_view(*given).substr(0, kMaxTopicAttribute);
    }
    const bool pattern =
        endpoint.find_first_of("*>") != absl::string_view::npos;
    const Attribute attributes[] = {
        {"messaging.system", "nats"},
        {"messaging.destination.name", topic},
        {"messaging.operation.type", "process"},
        {"messaging.operation.name", "process"},
        {"messaging.destination.template", endpoint},
    };
    span = tracer_->StartSpan(name, SpanKind::kConsumer, parent,
                              absl::MakeConstSpan(attributes, pattern ? 5 : 4));
  } else {
    span = StartRpcSpan(*tracer_, name, SpanKind::kServer, parent, service,
                        endpoint);
  }
  return std::make_unique<ServerObservation>(std::move(span));
}

TracingStats TracingObserver::stats() const {
  TracingStats stats;
  stats.bad_traceparent = bad_traceparent_.load(std::memory_order_relaxed);
  stats.tracestate_dropped =
      tracestate_dropped_.load(std::memory_order_relaxed);
  return stats;
}

std::shared_ptr<service::Observer> NewTracingObserver(
    std::shared_ptr<Tracer> tracer) {
  return std::make_shared<TracingObserver>(std::move(tracer));
}

}  // namespace micro_nats::tracing
