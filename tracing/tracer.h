// Copyright 2026 The micro-nats Authors.
//
// tracer.h: W3C trace context (`traceparent`, `tracestate`) and a small
// tracer — spans with a kind, attributes and an ending status — that the
// tracing observer (tracing_observer.h) starts for every call, stream,
// broker message and durable event, so that one request is one trace across
// services.
//
//   auto tracer = tracing::NewJsonLinesTracer("/var/log/greeter.spans");
//   NatsServiceOptions options;
//   options.observer = tracing::NewTracingObserver(*tracer);
//
// Trace context (https://www.w3.org/TR/trace-context-1/)
//
// ParseTraceparent is strict: a header that comes in is hostile, and one
// that breaks the grammar is refused (the observer then starts a new trace
// and counts it; a call never fails for its trace header). ParseTracestate
// keeps what is well formed, within the spec's bounds (32 members, 512
// characters), and drops the rest.
//
// Mapping onto OpenTelemetry C++ (opentelemetry/trace/*.h), for a user who
// has it and wants our spans there: implement Tracer over an
// opentelemetry::trace::Tracer.
//
//   ours                               OpenTelemetry C++
//   Tracer::StartSpan(name, kind,      Tracer::StartSpan(name, attributes,
//     parent, attributes)                StartSpanOptions{.parent =
//     SpanContext,
//                                                         .kind = kind})
//   TraceContext                       SpanContext (TraceId, SpanId,
//                                        TraceFlags, TraceState; IsRemote
//                                        when parsed from a header)
//   SpanKind::kClient ... kInternal    SpanKind::kClient ... kInternal
//   Span::SetAttribute(key, value)     Span::SetAttribute(key, value)
//   Span::AddEvent(name, attributes)   Span::AddEvent(name, attributes)
//   Span::End(status): OK              Span::SetStatus(StatusCode::kOk); End()
//     not OK                           SetStatus(StatusCode::kError,
//                                        status.message()); End()
//   ParseTraceparent / Format...       HttpTraceContext propagator
//
// Spans of a context whose sampled flag is clear are started (their context
// still travels) but not recorded or exported: the caller's sampling wins.

#ifndef MICRO_NATS_TRACING_TRACER_H_
#define MICRO_NATS_TRACING_TRACER_H_

#include <array>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace micro_nats::tracing {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// The headers a trace travels in (lower case, as NATS and HTTP/2 carry
// them; the spec's names are case-insensitive).
inline constexpr absl::string_view kTraceparentHeader = "traceparent";
inline constexpr absl::string_view kTracestateHeader = "tracestate";

// Trace flag bit 0: the caller records this trace.
inline constexpr uint8_t kSampled = 0x01;

// TraceContext
//
// Where a span sits: its trace, its own id, the flags and the vendors'
// tracestate (already cleaned by ParseTracestate).
struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  uint8_t flags = 0;
  std::string tracestate;

  // Both ids non-zero (the spec's rule for a usable context).
  bool valid() const;
  bool sampled() const { return (flags & kSampled) != 0; }
};

// Lower-case hex of an id, as traceparent and the exporters write it.
std::string ToHex(const TraceId& id);
std::string ToHex(const SpanId& id);

// Parses a traceparent header value. Version 00: exactly 55 characters
// "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>", lower-case hex,
// neither id all zeros. Version ff: invalid. A later version: at least 55
// characters, the first 55 read as version 00's fields and, when longer,
// followed by '-' (the spec's rule for versions it does not know yet); its
// flags keep only the sampled bit. InvalidArgument otherwise.
absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view value);

// "00-<trace id>-<span id>-<flags>", 55 characters.
std::string FormatTraceparent(const TraceContext& context);
// The same into `out` (reusing its capacity).
void FormatTraceparent(const TraceContext& context, std::string* out);

// Cleans a tracestate header value: list members "key=value" split on ','
// (optional spaces and tabs around), each checked against the spec's
// grammar; a malformed member, an empty one or a repeated key is dropped,
// members past the 32nd are dropped, and while the whole is longer than
// 512 characters members longer than 128 go first, then the last ones.
// `dropped` (optional) gets how many members were dropped. Never fails.
std::string ParseTracestate(absl::string_view value, int* dropped = nullptr);

// A new random id, never all zeros (thread-local generator: no lock).
TraceId NewTraceId();
SpanId NewSpanId();

// SpanKind (OpenTelemetry's, same meaning).
enum class SpanKind { kInternal, kServer, kClient, kProducer, kConsumer };

// "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER".
absl::string_view SpanKindName(SpanKind kind);

// An attribute as given: views, copied by the span that keeps it.
using AttributeValue = std::variant<absl::string_view, int64_t, double, bool>;
struct Attribute {
  Attribute(absl::string_view key, absl::string_view value)
      : key(key), value(value) {}
  Attribute(absl::string_view key, const char* value)
      : key(key), value(absl::string_view(value)) {}
  Attribute(absl::string_view key, const std::string& value)
      : key(key), value(absl::string_view(value)) {}
  Attribute(absl::string_view key, int64_t value) : key(key), value(value) {}
  Attribute(absl::string_view key, int value)
      : key(key), value(int64_t{value}) {}
  Attribute(absl::string_view key, double value) : key(key), value(value) {}
  Attribute(absl::string_view key, bool value) : key(key), value(value) {}

  absl::string_view key;
  AttributeValue value;
};

// An attribute as kept.
using OwnedAttributeValue = std::variant<std::string, int64_t, double, bool>;
using OwnedAttributes =
    std::vector<std::pair<std::string, OwnedAttributeValue>>;

// Span
//
// One operation. Not thread-safe: used by the thread that started it (the
// observer's Observation), ended once; destroyed after End. A span destroyed
// without End is not recorded.
class Span {
 public:
  virtual ~Span() = default;
  // Its context: what goes in traceparent for its children.
  virtual const TraceContext& context() const = 0;
  // Sets (or replaces) an attribute.
  virtual void SetAttribute(absl::string_view key, AttributeValue value) {}
  // A timestamped event within the span (a failed attempt).
  virtual void AddEvent(absl::string_view name,
                        absl::Span<const Attribute> attributes = {}) {}
  // Ends it: OK, or error with the status' code and message.
  virtual void End(const absl::Status& status) = 0;
};

// Tracer
//
// Thread-safe; StartSpan is called on every observed call. A span may
// outlive its tracer (a ClientStream kept after its Service is gone): the
// tracers here have their spans share what they record into, and a span
// ended after its tracer was destroyed is counted as dropped.
class Tracer {
 public:
  virtual ~Tracer() = default;
  // Starts a span named `name` of `kind`: a child of `parent` (same trace,
  // same flags and tracestate) when it is given and valid, else the root of
  // a new trace, sampled by the tracer's ratio (a parent's flags win:
  // parent-based sampling). Never null.
  virtual std::unique_ptr<Span> StartSpan(
      absl::string_view name, SpanKind kind, const TraceContext* parent,
      absl::Span<const Attribute> attributes = {}) = 0;
};

// A tracer that records nothing: its spans carry ids, so context still
// propagates.
std::shared_ptr<Tracer> NewNoopTracer();

// A finished span, as the recorder keeps it and the exporter writes it.
struct SpanEvent {
  std::string name;
  absl::Time time;
  OwnedAttributes attributes;
};
struct SpanData {
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  TraceContext context;
  SpanId parent_span_id{};  // all zeros: a root
  OwnedAttributes attributes;
  std::vector<SpanEvent> events;
  absl::Status status;
  absl::Time start;
  absl::Time end;

  bool has_parent() const;
  // The attribute's value, or null.
  const OwnedAttributeValue* attribute(absl::string_view key) const;
};

// InMemoryTracer
//
// Keeps every finished, sampled span (up to `max_spans`; past it, counted as
// dropped), for tests.
class InMemoryTracer : public Tracer {
 public:
  // `sample_ratio`: the share of new traces recorded (see JsonLinesOptions).
  explicit InMemoryTracer(size_t max_spans = 100000, double sample_ratio = 1.0);
  ~InMemoryTracer() override;

  std::unique_ptr<Span> StartSpan(
      absl::string_view name, SpanKind kind, const TraceContext* parent,
      absl::Span<const Attribute> attributes = {}) override;

  // The finished spans, in the order they ended.
  std::vector<SpanData> spans() const;
  // Waits until at least `count` spans have ended, or `timeout` passes.
  bool WaitForSpans(size_t count, absl::Duration timeout) const;
  int64_t dropped() const;
  void Clear();

  // Called by its spans.
  void Finish(SpanData data);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// JsonLinesTracer
//
// Writes each finished, sampled span as one JSON object on a line:
//
//   {"name":"greeter/Greeter.Hello","kind":"SERVER",
//    "traceId":"4bf9...","spanId":"00f0...","parentSpanId":"1a2b...",
//    "startTimeUnixNano":...,"endTimeUnixNano":...,
//    "attributes":{"rpc.system":"micro-nats",...},
//    "status":{"code":"ERROR","message":"..."},"events":[...]}
//
// (OTLP/JSON's field names, attributes as one object). Ending a span queues
// it, within a short lock and no I/O; one writer thread formats and writes
// the queue. Past `max_queued` waiting spans, more are dropped and counted.
struct JsonLinesOptions {
  size_t max_queued = 8192;  // at least 1 (0 is taken as 1)
  // How often the writer wakes to write what is queued (it wakes sooner
  // when half the queue is full). At least 1 ms (less is taken as 1 ms).
  absl::Duration flush_interval = absl::Milliseconds(200);
  // How long the destructor waits for the writer to write what is queued.
  // Past it (a stalled pipe or file) the writer is left to finish on its
  // own, owning what it writes to, and the spans it has not written are
  // counted as dropped: the destructor returns by this deadline.
  absl::Duration close_timeout = absl::Seconds(2);
  // The share of new traces (roots) recorded, decided from the trace id so
  // every service decides alike; a trace that comes in keeps the caller's
  // sampled flag. Unsampled spans still carry their context (flags 00) and
  // cost no export. 1: all; 0: none.
  double sample_ratio = 1.0;
};

class JsonLinesTracer : public Tracer {
 public:
  ~JsonLinesTracer() override;  // writes what is queued, then stops

  std::unique_ptr<Span> StartSpan(
      absl::string_view name, SpanKind kind, const TraceContext* parent,
      absl::Span<const Attribute> attributes = {}) override;

  // Waits until every span ended before the call is written and flushed.
  absl::Status Flush(absl::Duration timeout);
  int64_t written() const;
  int64_t dropped() const;

  // Called by its spans.
  void Finish(SpanData data);

  struct State;

 private:
  friend absl::StatusOr<std::shared_ptr<JsonLinesTracer>> NewJsonLinesTracer(
      const std::string&, JsonLinesOptions);
  friend std::shared_ptr<JsonLinesTracer> NewJsonLinesTracer(std::ostream*,
                                                             JsonLinesOptions);
  explicit JsonLinesTracer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Appends to the file at `path` (created if absent).
absl::StatusOr<std::shared_ptr<JsonLinesTracer>> NewJsonLinesTracer(
    const std::string& path, JsonLinesOptions options = {});
// Writes to `out`, which must outlive the tracer (and, when close_timeout
// passes while a write into it is stuck, that write).
std::shared_ptr<JsonLinesTracer> NewJsonLinesTracer(
    std::ostream* out, JsonLinesOptions options = {});

// One span as the JSON-lines exporter writes it (no newline).
std::string SpanToJson(const SpanData& span);

// Whether a new trace with this id is recorded at `ratio` (its last 8 bytes
// against ratio x 2^64, as OpenTelemetry's TraceIdRatioBased sampler).
bool SampledByRatio(const TraceId& trace_id, double ratio);

}  // namespace micro_nats::tracing

#endif  // MICRO_NATS_TRACING_TRACER_H_
