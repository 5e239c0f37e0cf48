// Copyright 2026 The micro-nats Authors.
//
// paired.h: paired, interleaved comparisons. On this machine a figure moves
// ±30 % between runs, so a stack is never compared with a baseline measured
// at another time: RunPaired alternates the two in short rounds, in one
// process on one nats-server, takes the ratio stack/baseline per round, and
// reports the median ratio with its interquartile range.
//
//   bench::Side raw = [&] { return raw_callers->RunRound(RoundTime()); };
//   bench::Side ours = [&] { return our_callers->RunRound(RoundTime()); };
//   bench::RunPaired(state, raw, ours,
//                    {.baseline = "raw",
//                     .figures = bench::kP50 | bench::kRate,
//                     .keys = {{"call_p50_vs_raw_16B_1", "p50_vs_raw"}}});
//
// A Side runs one round (a few tens of milliseconds of calls, publishes or
// deliveries) and returns what it measured: how many operations, their
// median latency and their rate. Rounds go baseline-stack, stack-baseline,
// baseline-stack, ... (each side first in half of them), after one warm-up
// round of each that is not counted. Register a paired benchmark with
// ->Apply(bench::AsPaired): its one iteration is all the rounds.
//
// Counters (one naming convention; bench/report.py reads it). FIG is p50
// (latency: 2.0 is twice the baseline's) or rate (throughput: 0.5 is half
// the baseline's), BASE is PairedOptions::baseline:
//
//   FIG_vs_BASE              median over rounds of (stack / baseline)
//   FIG_vs_BASE_q1, _q3      its first and third quartiles (the IQR)
//   base_p50_us, stack_p50_us   medians over rounds of each side's p50 (µs)
//   base_per_s, stack_per_s     medians over rounds of each side's rate
//     (each with _q1 and _q3)
//   base_csw_per_op, stack_csw_per_op        context switches (voluntary
//     and involuntary, every thread of this process: getrusage) per op
//   base_allocs_per_op, stack_allocs_per_op  operator new calls per op
//     (alloc_count.h; nats.c's mallocs are not counted)
//   rounds                   rounds counted (warm-up excluded)
//
// and the label "key:NAME=COUNTER ..." names the key figures this benchmark
// gives: report.py writes OUT/key_figures.json as NAME -> COUNTER's value,
// NAME_q1/NAME_q3 -> COUNTER_q1/_q3 and NAME_iqr -> q3 - q1.
//
// Each side's costs include whatever the process's other threads did during
// its rounds (its servers' and connections' threads: that is the point),
// and a round's own start and end (waking caller threads: about two
// switches per caller per round, alike for both sides).

#ifndef MICRO_NATS_BENCH_PAIRED_H_
#define MICRO_NATS_BENCH_PAIRED_H_

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/alloc_count.h"
#include "benchmark/benchmark.h"

namespace micro_nats::bench {

// What one side measured in one round.
struct Round {
  int64_t ops = 0;    // calls, publishes or deliveries made
  double p50_us = 0;  // their median latency, when timed one by one
  double per_s = 0;   // ops per second over the round
};

using Side = std::function<absl::StatusOr<Round>()>;

// The figures to pair.
enum Figure : int { kP50 = 1, kRate = 2 };

struct PairedOptions {
  // Names the baseline in the counters: FIG_vs_<baseline>.
  std::string baseline = "raw";
  int figures = kP50 | kRate;
  // Rounds counted; 0 takes PairedFlags().rounds (--paired_rounds).
  int rounds = 0;
  // Key figures: {NAME, COUNTER}, e.g. {"call_p50_vs_raw_16B_1",
  // "p50_vs_raw"}; put in the label for report.py.
  std::vector<std::pair<std::string, std::string>> keys;
  // Text for the label after the keys (what the benchmark compares).
  std::string label;
};

// How long rounds are, for every paired benchmark of the binary: set by
// nats_bench_main from --paired_rounds and --paired_scale (and small for a
// smoke run, --benchmark_min_time below 0.05).
struct PairedFlags {
  int rounds = 20;
  double scale = 1.0;
  // A smoke run: benchmarks may also shrink their sizes and lengthen their
  // deadlines (sanitizers are slow); what they measure is not looked at.
  bool smoke = false;
};
inline PairedFlags& GetPairedFlags() {
  static PairedFlags flags;
  return flags;
}

// A round's length: `base` times --paired_scale, at least 1 ms.
inline absl::Duration RoundTime(absl::Duration base = absl::Milliseconds(50)) {
  return std::max(absl::Milliseconds(1), base * GetPairedFlags().scale);
}

// The q-quantile of `values` (linear between order statistics); sorts them.
inline double Quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const size_t low = static_cast<size_t>(std::floor(at));
  const size_t high = std::min(values.size() - 1, low + 1);
  return values[low] + (values[high] - values[low]) * (at - std::floor(at));
}

struct Spread {
  double median = 0;
  double q1 = 0;
  double q3 = 0;
};

inline Spread SpreadOf(std::vector<double> values) {
  return {Quantile(values, 0.5), Quantile(values, 0.25),
          Quantile(values, 0.75)};
}

struct PairedResult {
  Spread p50_ratio;   // stack / baseline per round
  Spread rate_ratio;  // stack / baseline per round
  Spread base_p50_us, stack_p50_us, base_per_s, stack_per_s;
  double base_csw_per_op = 0, stack_csw_per_op = 0;
  double base_allocs_per_op = 0, stack_allocs_per_op = 0;
  int rounds = 0;
};

// The loop of a one-caller side: calls `op` (returning absl::Status) until
// `duration` has passed, each timed, and returns the round (p50 of the
// calls, their rate). Samples go to a buffer reserved up front, so the
// round allocates nothing of its own (past `capacity` calls the rest are
// counted but not timed).
class TimedLoop {
 public:
  explicit TimedLoop(size_t capacity = 1 << 17) { samples_.reserve(capacity); }

  template <typename Op>
  absl::StatusOr<Round> Run(absl::Duration duration, Op op) {
    samples_.clear();
    int64_t calls = 0;
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + duration;
    absl::Time now = start;
    while (now < deadline || calls == 0) {
      const absl::Time before = now;
      absl::Status status = op();
      now = absl::Now();
      if (!status.ok()) return status;
      ++calls;
      if (samples_.size() < samples_.capacity()) {
        samples_.push_back(now - before);
      }
    }
    Round round;
    round.ops = calls;
    round.per_s =
        static_cast<double>(calls) / absl::ToDoubleSeconds(now - start);
    auto middle = samples_.begin() + samples_.size() / 2;
    std::nth_element(samples_.begin(), middle, samples_.end());
    round.p50_us = absl::ToDoubleMicroseconds(*middle);
    return round;
  }

  // The last round's call latencies (in no order), for percentiles beyond
  // the p50.
  const std::vector<absl::Duration>& samples() const { return samples_; }

 private:
  std::vector<absl::Duration> samples_;
};

// The loop of a throughput side whose ops are too short to time one by one
// (publishes): calls `op` until `duration` has passed, looking at the clock
// every 64 ops; the round's rate (no p50).
template <typename Op>
absl::StatusOr<Round> RunForRate(absl::Duration duration, Op op) {
  int64_t ops = 0;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + duration;
  absl::Time now = start;
  while (now < deadline) {
    for (int i = 0; i < 64; ++i) {
      absl::Status status = op();
      if (!status.ok()) return status;
    }
    ops += 64;
    now = absl::Now();
  }
  Round round;
  round.ops = ops;
  round.per_s = static_cast<double>(ops) / absl::ToDoubleSeconds(now - start);
  return round;
}

namespace internal {

inline int64_t ContextSwitches() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_nvcsw) +
         static_cast<int64_t>(usage.ru_nivcsw);
}

// One side's rounds and what they cost.
struct SideTally {
  std::vector<double> p50_us, per_s;
  int64_t ops = 0, switches = 0, allocations = 0;

  absl::StatusOr<Round> Run(const Side& side, bool count) {
    const int64_t switches_before = ContextSwitches();
    const int64_t allocations_before = AllocationCount();
    absl::StatusOr<Round> round = side();
    const int64_t switched = ContextSwitches() - switches_before;
    const int64_t allocated = AllocationCount() - allocations_before;
    if (!round.ok()) return round.status();
    if (round->ops <= 0) {
      return absl::InternalError("a round made no calls");
    }
    if (count) {
      ops += round->ops;
      switches += switched;
      allocations += allocated;
    }
    return round;
  }
};

inline void SetSpread(benchmark::State& state, const std::string& name,
                      const Spread& spread) {
  state.counters[name] = spread.median;
  state.counters[name + "_q1"] = spread.q1;
  state.counters[name + "_q3"] = spread.q3;
}

}  // namespace internal

// Runs the rounds and sets the counters and label above; an error from
// either side stops it and is reported with SkipWithError (and returned).
inline absl::StatusOr<PairedResult> RunPaired(benchmark::State& state,
                                              const Side& baseline,
                                              const Side& stack,
                                              const PairedOptions& options) {
  const int rounds =
      options.rounds > 0 ? options.rounds : GetPairedFlags().rounds;
  internal::SideTally base, ours;
  std::vector<double> p50_ratios, rate_ratios;
  absl::Status failed;
  for (auto _ : state) {
    // Round -1 warms both sides up and is not counted.
    for (int i = -1; i < rounds && failed.ok(); ++i) {
      const bool count = i >= 0;
      const bool base_first = i % 2 == 0;
      absl::StatusOr<Round> b, s;
      if (base_first) {
        b = base.Run(baseline, count);
        if (b.ok()) s = ours.Run(stack, count);
      } else {
        s = ours.Run(stack, count);
        if (s.ok()) b = base.Run(baseline, count);
      }
      if (!b.ok() || !s.ok()) {
        failed = !b.ok() ? b.status() : s.status();
        break;
      }
      if (!count) continue;
      base.p50_us.push_back(b->p50_us);
      ours.p50_us.push_back(s->p50_us);
      base.per_s.push_back(b->per_s);
      ours.per_s.push_back(s->per_s);
      if ((options.figures & kP50) && b->p50_us > 0) {
        p50_ratios.push_back(s->p50_us / b->p50_us);
      }
      if ((options.figures & kRate) && b->per_s > 0) {
        rate_ratios.push_back(s->per_s / b->per_s);
      }
    }
  }
  if (!failed.ok()) {
    state.SkipWithError(failed.ToString().c_str());
    return failed;
  }
  PairedResult result;
  result.rounds = static_cast<int>(base.p50_us.size());
  result.p50_ratio = SpreadOf(p50_ratios);
  result.rate_ratio = SpreadOf(rate_ratios);
  result.base_p50_us = SpreadOf(base.p50_us);
  result.stack_p50_us = SpreadOf(ours.p50_us);
  result.base_per_s = SpreadOf(base.per_s);
  result.stack_per_s = SpreadOf(ours.per_s);
  auto per_op = [](int64_t n, int64_t ops) {
    return ops > 0 ? static_cast<double>(n) / static_cast<double>(ops) : 0.0;
  };
  result.base_csw_per_op = per_op(base.switches, base.ops);
  result.stack_csw_per_op = per_op(ours.switches, ours.ops);
  result.base_allocs_per_op = per_op(base.allocations, base.ops);
  result.stack_allocs_per_op = per_op(ours.allocations, ours.ops);

  const std::string vs = "_vs_" + options.baseline;
  if (options.figures & kP50) {
    internal::SetSpread(state, "p50" + vs, result.p50_ratio);
    internal::SetSpread(state, "base_p50_us", result.base_p50_us);
    internal::SetSpread(state, "stack_p50_us", result.stack_p50_us);
  }
  if (options.figures & kRate) {
    internal::SetSpread(state, "rate" + vs, result.rate_ratio);
  }
  // Rates are always shown: with the p50s they say what a round was.
  internal::SetSpread(state, "base_per_s", result.base_per_s);
  internal::SetSpread(state, "stack_per_s", result.stack_per_s);
  state.counters["base_csw_per_op"] = result.base_csw_per_op;
  state.counters["stack_csw_per_op"] = result.stack_csw_per_op;
  state.counters["base_allocs_per_op"] = result.base_allocs_per_op;
  state.counters["stack_allocs_per_op"] = result.stack_allocs_per_op;
  state.counters["rounds"] = result.rounds;
  std::string label;
  for (const auto& [name, counter] : options.keys) {
    absl::StrAppend(&label, label.empty() ? "" : " ", "key:", name, "=",
                    counter);
  }
  if (!options.label.empty()) {
    absl::StrAppend(&label, label.empty() ? "" : " ", options.label);
  }
  if (!label.empty()) state.SetLabel(label);
  state.SetItemsProcessed(base.ops + ours.ops);
  return result;
}

// Registers a benchmark as paired: one iteration (all its rounds), timed
// by the wall clock, in milliseconds.
//
//   BENCHMARK(BM_PairedPublish)->Arg(16)->Apply(bench::AsPaired);
inline void AsPaired(benchmark::internal::Benchmark* benchmark) {
  benchmark->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_PAIRED_H_
