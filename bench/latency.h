// Copyright 2026 The micro-nats Authors.
//
// latency.h: per-call latencies of a benchmark, reported as p50/p90/p99/
// p99.9 counters (microseconds) from one merged sample, never averaged
// percentiles: a multi-threaded benchmark merges every thread's samples
// into one recorder before it reports.

#ifndef MICRO_NATS_BENCH_LATENCY_H_
#define MICRO_NATS_BENCH_LATENCY_H_

#include <algorithm>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"

namespace micro_nats::bench {

struct Percentiles {
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double p999_us = 0;
};

class LatencyRecorder {
 public:
  void Add(absl::Duration d) { samples_.push_back(d); }
  void Merge(const LatencyRecorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(),
                    other.samples_.end());
  }
  size_t size() const { return samples_.size(); }

  // Sets the p50_us, p90_us, p99_us and p999_us counters, and returns
  // them.
  Percentiles Report(benchmark::State& state) {
    Percentiles result;
    if (samples_.empty()) return result;
    std::sort(samples_.begin(), samples_.end());
    for (auto [name, q, out] :
         {std::tuple{"p50_us", 0.50, &result.p50_us},
          std::tuple{"p90_us", 0.90, &result.p90_us},
          std::tuple{"p99_us", 0.99, &result.p99_us},
          std::tuple{"p999_us", 0.999, &result.p999_us}}) {
      size_t i = std::min(samples_.size() - 1,
                          static_cast<size_t>(q * samples_.size()));
      *out = absl::ToDoubleMicroseconds(samples_[i]);
      state.counters[name] = *out;
    }
    return result;
  }

 private:
  std::vector<absl::Duration> samples_;
};

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_LATENCY_H_
