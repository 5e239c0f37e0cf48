// Copyright 2026 The micro-nats Authors.
//
// latency.h: per-call latencies of a benchmark, reported as p50/p90/p99
// counters (microseconds) from one merged sample, never averaged
// percentiles.

#ifndef MICRO_NATS_BENCH_LATENCY_H_
#define MICRO_NATS_BENCH_LATENCY_H_

#include <algorithm>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"

namespace micro_nats::bench {

class LatencyRecorder {
 public:
  void Add(absl::Duration d) { samples_.push_back(d); }

  void Report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    for (auto [name, q] : {std::pair{"p50_us", 0.50}, std::pair{"p90_us", 0.90},
                           std::pair{"p99_us", 0.99}}) {
      size_t i = std::min(samples_.size() - 1,
                          static_cast<size_t>(q * samples_.size()));
      state.counters[name] = absl::ToDoubleMicroseconds(samples_[i]);
    }
  }

 private:
  std::vector<absl::Duration> samples_;
};

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_LATENCY_H_
