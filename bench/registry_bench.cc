// Copyright 2026 The micro-nats Authors.
//
// registry_bench: NATS registry GetService latency with the idle-gap rule
// against go-micro's fixed wait, next to a raw nats.c request to the query
// subject (the first answer) on the same server in the same run.
//
//   bazel run -c opt //bench:registry_bench -- --benchmark_min_time=1
//
// Three registrar processes (connections) each register one node of
// "greeter"; the looking-up registry is on a fourth connection.
// p50_vs_raw is a lookup's p50 over the raw first answer's (a lookup waits
// for more than the first answer, so it is well above 1 by design).
// complete_pct is the share of lookups that found all three nodes: a short
// idle gap is fast but may end before the slowest registrar answers.

#include <nats/nats.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"
#include "registry/nats/nats_registry.h"

namespace micro_nats {
namespace {

// Three registrar "processes", each with one node of greeter; made once.
size_t StartRegistrars() {
  static auto* registrars = [] {
    auto* list = new std::vector<std::unique_ptr<registry::Registry>>;
    for (int i = 0; i < 3; ++i) {
      auto registry = registry::NewNatsRegistry(bench::Connect());
      const std::string id = "greeter-" + std::to_string(i);
      if (!registry.ok() ||
          !(*registry)
               ->Register({.name = "greeter",
                           .version = "1.0.0",
                           .nodes = {{.id = id, .address = "_INBOX." + id}}})
               .ok()) {
        std::fprintf(stderr, "bench: registrar %d failed\n", i);
        std::abort();
      }
      list->push_back(std::move(registry).value());
    }
    return list;
  }();
  return registrars->size();
}

// Baseline: one raw request on the query subject, answered by the first
// registrar.
void BM_RawNatsFirstAnswer(benchmark::State& state) {
  StartRegistrars();
  natsConnection* nc = bench::RawConnect();
  if (nc == nullptr) {
    state.SkipWithError("connect failed");
    return;
  }
  const bench::Percentiles raw =
      bench::RunRawRequests(state, nc, "micro.nats.query",
                            R"({"Action":"get","Service":{"name":"greeter"}})");
  bench::RecordBaseline("query/p50", raw.p50_us);
  natsConnection_Destroy(nc);
}
BENCHMARK(BM_RawNatsFirstAnswer)->UseRealTime();

// idle_gap_ms 0 is go-micro's rule: wait the whole 100 ms timeout.
void BM_NatsRegistryGetService(benchmark::State& state) {
  const absl::Duration idle_gap = absl::Milliseconds(state.range(0));
  const size_t nodes = StartRegistrars();
  auto registry = registry::NewNatsRegistry(
      bench::Connect(),
      {.timeout = absl::Milliseconds(100), .idle_gap = idle_gap});
  if (!registry.ok()) {
    state.SkipWithError("registry failed");
    return;
  }
  bench::LatencyRecorder latency;
  int64_t complete = 0;
  for (auto _ : state) {
    absl::Time start = absl::Now();
    auto found = (*registry)->GetService("greeter");
    latency.Add(absl::Now() - start);
    if (!found.ok()) {
      state.SkipWithError("lookup failed");
      break;
    }
    // A short idle gap can end a lookup before a slow registrar answers:
    // that is the trade-off measured here, so it is counted, not an error.
    if (found->at(0).nodes.size() == nodes) ++complete;
  }
  const bench::Percentiles ours = latency.Report(state);
  bench::ReportVsBaseline(state, "p50_vs_raw", ours.p50_us, "query/p50");
  state.counters["complete_pct"] =
      100.0 * static_cast<double>(complete) /
      static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}
BENCHMARK(BM_NatsRegistryGetService)
    ->ArgName("idle_gap_ms")
    ->Arg(0)
    ->Arg(2)
    ->Arg(10)
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
