// Copyright 2026 The micro-nats Authors.
//
// What the metrics observer costs per observed call (one ClientCall or
// ServerCall and its End, warm): the Prometheus backend against no-op
// metrics, and a new (service, method) pair each time (the cold path).
//
//   bazel run -c opt //metrics:observer_bench

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "metrics/observer.h"
#include "metrics/prometheus.h"

namespace micro_nats::metrics {
namespace {

void Observe(benchmark::State& state, std::shared_ptr<Metrics> metrics) {
  static std::shared_ptr<service::Observer> observer;
  if (state.thread_index() == 0) observer = NewMetricsObserver(metrics);
  Headers headers;
  // Several endpoints in turn, as a server with a few has.
  const std::vector<std::string> endpoints = {"Greeter.Hello", "Greeter.Sign",
                                              "Greeter.Repeat", "Greeter.Chat"};
  size_t i = 0;
  for (auto _ : state) {
    std::unique_ptr<service::Observation> observation = observer->ServerCall(
        service::CallKind::kUnary, "greeter", endpoints[i++ % 4], headers);
    observation->End(absl::OkStatus());
  }
}

void BM_ObservedCallPrometheus(benchmark::State& state) {
  static std::shared_ptr<Metrics> metrics = NewPrometheusMetrics();
  Observe(state, metrics);
}
BENCHMARK(BM_ObservedCallPrometheus)->Threads(1)->Threads(2);

void BM_ObservedCallNoop(benchmark::State& state) {
  static std::shared_ptr<Metrics> metrics = NewNoopMetrics();
  Observe(state, metrics);
}
BENCHMARK(BM_ObservedCallNoop)->Threads(1)->Threads(2);

void BM_ObservedCallNewEndpointEachTime(benchmark::State& state) {
  auto observer = NewMetricsObserver(NewPrometheusMetrics());
  Headers headers;
  int i = 0;
  for (auto _ : state) {
    observer
        ->ClientCall(service::CallKind::kUnary, "greeter",
                     absl::StrCat("Made.", i++), &headers)
        ->End(absl::OkStatus());
  }
}
BENCHMARK(BM_ObservedCallNewEndpointEachTime);

}  // namespace
}  // namespace micro_nats::metrics

BENCHMARK_MAIN();
