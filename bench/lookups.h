// Copyright 2026 The micro-nats Authors.
//
// lookups.h: the one body of every discovery benchmark — cold lookups of a
// service, timed, and how many found every node.

#ifndef MICRO_NATS_BENCH_LOOKUPS_H_
#define MICRO_NATS_BENCH_LOOKUPS_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "registry/registry.h"

namespace micro_nats::bench {

// Runs the benchmark's iterations as lookups of `name` straight on
// `registry` (no cache) and reports latency percentiles, p50 against the
// baseline recorded under `baseline_key`, complete_pct (the share that
// found all `nodes` nodes: a rule that ends early may miss some, or hear
// none at all (NotFound), which is what is measured, not an error) and
// known_pct (the share the registry knew to be complete, Registry::Find).
inline void MeasureLookups(benchmark::State& state,
                           registry::Registry& registry,
                           const std::string& name, size_t nodes,
                           const std::string& baseline_key) {
  LatencyRecorder latency;
  int64_t complete = 0;
  int64_t known = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    auto found = registry.Find(name);
    latency.Add(absl::Now() - start);
    // A lookup whose window closed before any answer (a short idle gap on
    // a slow machine, a sanitizer build) found nothing: an incomplete
    // lookup, counted below, not a failure of the benchmark.
    if (absl::IsNotFound(found.status())) continue;
    if (!found.ok()) {
      state.SkipWithError(
          absl::StrCat("lookup failed: ", found.status().ToString()).c_str());
      break;
    }
    size_t seen = 0;
    for (const auto& version : found->services) seen += version.nodes.size();
    if (seen == nodes) ++complete;
    if (found->complete) ++known;
  }
  const Percentiles ours = latency.Report(state);
  ReportVsBaseline(state, "p50_vs_raw", ours.p50_us, baseline_key);
  const double n =
      static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  state.counters["complete_pct"] = 100.0 * static_cast<double>(complete) / n;
  state.counters["known_pct"] = 100.0 * static_cast<double>(known) / n;
}

// Registers `services_of(r)` on each of `registrars` now, and again every
// 10 s for the process's life, as servers re-register (a census forgets
// nodes not heard of for 90 s). Aborts when a registration fails: the
// benchmarks would measure nothing. `registrars` must outlive the process's
// benchmarks (the re-registering thread is detached).
inline void RegisterAndKeepRegistered(
    const std::vector<std::unique_ptr<registry::Registry>>* registrars,
    std::function<std::vector<registry::Service>(int registrar)> services_of) {
  auto register_all = [registrars, services_of] {
    for (size_t r = 0; r < registrars->size(); ++r) {
      for (const registry::Service& service : services_of(r)) {
        if (!(*registrars)[r]->Register(service).ok()) std::abort();
      }
    }
  };
  register_all();
  std::thread([register_all] {
    while (true) {
      absl::SleepFor(absl::Seconds(10));
      register_all();
    }
  }).detach();
}

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_LOOKUPS_H_
