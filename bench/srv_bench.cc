// Copyright 2026 The micro-nats Authors.
//
// srv_bench: discovery through the NATS Service API (registry/srv) of
// K = 10 instances, with the idle-gap rule against the fixed 300 ms wait
// `nats micro ls` uses, next to a raw nats.c `$SRV.INFO` request (the first
// answer) on the same server in the same run.
//
//   bazel run -c opt //bench:srv_bench -- --benchmark_min_time=2
//
// Ten micro-nats greeter instances, each on its own connection (as ten
// processes would be), answer `$SRV.INFO.greeter`; the looking-up registry
// is on another. complete_pct is the share of lookups that found all ten.

#include <nats/nats.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/latency.h"
#include "bench/lookups.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "registry/srv/srv_registry.h"
#include "service/nats/nats_service.h"

namespace micro_nats {
namespace {

constexpr int kInstances = 10;

// The K greeter instances, started once and kept for the process's life;
// returns how many there are. (The static is read, so the instances stay
// reachable for LeakSanitizer.)
size_t StartInstances() {
  static auto* instances = [] {
    auto* list = new std::vector<std::unique_ptr<service::Service>>;
    for (int i = 0; i < kInstances; ++i) {
      auto greeter = service::NewNatsService(
          {.servers = {bench::ServerUrl()},
           .identity = {.name = "greeter", .version = "1.0.0"}});
      if (!greeter.ok() ||
          !(*greeter)
               ->server()
               .Handle("Greeter.Hello",
                       [](service::Context&, const service::Message&,
                          service::Message*) { return absl::OkStatus(); })
               .ok() ||
          !(*greeter)->Start().ok()) {
        std::fprintf(stderr, "bench: greeter %d failed\n", i);
        std::abort();
      }
      list->push_back(std::move(greeter).value());
    }
    return list;
  }();
  return instances->size();
}

void BM_RawNatsSrvInfoFirstAnswer(benchmark::State& state) {
  StartInstances();
  bench::RunRawFirstAnswers(state, "$SRV.INFO.greeter", "", "srv_info/p50");
}
BENCHMARK(BM_RawNatsSrvInfoFirstAnswer)->UseRealTime();

// idle_gap_ms 0: wait the whole 300 ms, as `nats micro ls` does.
void BM_SrvRegistryGetService(benchmark::State& state) {
  const size_t instances = StartInstances();
  auto registry = registry::NewSrvRegistry(
      bench::Connect(), {.timeout = absl::Milliseconds(300),
                         .idle_gap = absl::Milliseconds(state.range(0))});
  if (!registry.ok()) {
    state.SkipWithError("registry failed");
    return;
  }
  bench::MeasureLookups(state, **registry, "greeter", instances,
                        "srv_info/p50");
}
BENCHMARK(BM_SrvRegistryGetService)
    ->ArgName("idle_gap_ms")
    ->Arg(0)
    ->Arg(2)
    ->Arg(10)
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
