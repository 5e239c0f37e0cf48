// Copyright 2026 The micro-nats Authors.
//
// What the tracing observer costs a call on the calling thread: ClientCall
// (span started, traceparent written into the headers) + Attempt + End,
// and the server's ServerCall (traceparent parsed) + End, with each
// tracer. Allocations per operation on the calling thread are counted
// (operator new, this binary only).
//
//   bazel run -c opt //tracing:tracing_bench

#include <cstdint>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

#include "benchmark/benchmark.h"
#include "service/observer.h"
#include "tracing/tracer.h"
#include "tracing/tracing_observer.h"

// tracing_bench_alloc.cc (its own file, so the compiler does not see
// malloc and free paired with new and delete).
int64_t TracingBenchAllocations();

namespace micro_nats::tracing {
namespace {

using service::CallKind;

// Discards what is written: the exporter's formatting runs on its own
// thread, not the one measured.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

std::shared_ptr<Tracer> MakeTracer(int which) {
  static NullBuffer buffer;
  static std::ostream null_stream(&buffer);
  switch (which) {
    case 0:
      return NewNoopTracer();
    case 1:
      return NewJsonLinesTracer(&null_stream, {.max_queued = 1 << 16});
    case 3:  // the production setting: 1 % of new traces exported
      return NewJsonLinesTracer(&null_stream,
                                {.max_queued = 1 << 16, .sample_ratio = 0.01});
    default:
      return std::make_shared<InMemoryTracer>(0);  // keeps none: drops
  }
}

const char* TracerName(int which) {
  return which == 0   ? "noop"
         : which == 1 ? "jsonlines"
         : which == 3 ? "jsonlines(1%)"
                      : "memory(drop)";
}

void BM_ClientCallEnd(benchmark::State& state) {
  auto observer = NewTracingObserver(MakeTracer(state.range(0)));
  state.SetLabel(TracerName(state.range(0)));
  Headers headers = {{"Content-Type", "application/protobuf"}};
  const int64_t before = TracingBenchAllocations();
  for (auto _ : state) {
    auto call = observer->ClientCall(CallKind::kUnary, "greeter",
                                     "Greeter.Hello", &headers);
    call->Attempt("greeter-3f1c8a", absl::OkStatus());
    call->End(absl::OkStatus());
    benchmark::DoNotOptimize(headers);
    // A new call's headers have none (else the next call continues it).
    headers.erase("traceparent");
  }
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(TracingBenchAllocations() - before) /
      static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ClientCallEnd)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

void BM_ServerCallEnd(benchmark::State& state) {
  auto observer = NewTracingObserver(MakeTracer(state.range(0)));
  state.SetLabel(TracerName(state.range(0)));
  const Headers headers = {
      {"Content-Type", "application/protobuf"},
      {"traceparent",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  const int64_t before = TracingBenchAllocations();
  for (auto _ : state) {
    auto call = observer->ServerCall(CallKind::kUnary, "greeter",
                                     "Greeter.Hello", headers);
    call->End(absl::OkStatus());
  }
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(TracingBenchAllocations() - before) /
      static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ServerCallEnd)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

void BM_ParseTraceparent(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = ParseTraceparent(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseTraceparent);

// The JSON-lines writer's work per span (on its own thread in use): one
// client span as the observer records it, formatted.
void BM_SpanToJson(benchmark::State& state) {
  auto tracer = std::make_shared<InMemoryTracer>();
  auto observer = NewTracingObserver(tracer);
  Headers headers;
  auto call = observer->ClientCall(CallKind::kUnary, "greeter", "Greeter.Hello",
                                   &headers);
  call->Attempt("greeter-3f1c8a", absl::OkStatus());
  call->End(absl::OkStatus());
  const SpanData span = tracer->spans().at(0);
  const int64_t before = TracingBenchAllocations();
  for (auto _ : state) {
    std::string line = SpanToJson(span);
    benchmark::DoNotOptimize(line);
  }
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(TracingBenchAllocations() - before) /
      static_cast<double>(state.iterations()));
}
BENCHMARK(BM_SpanToJson);

}  // namespace
}  // namespace micro_nats::tracing

BENCHMARK_MAIN();
