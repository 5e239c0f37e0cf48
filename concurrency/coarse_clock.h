// Copyright 2026 The micro-nats Authors.
//
// coarse_clock.h: clocks for stamps and budgets that need milliseconds, not
// nanoseconds. Under a hypervisor's clock source a precise read costs
// 40-85 ns (absl::Now more than clock_gettime) and the hot paths take
// several per message; a coarse read (the kernel's last tick) costs ~5 ns.
// Its resolution is the tick (1-4 ms): use it only where an error of a
// tick or two does not matter (idle stamps checked against timeouts of
// seconds, budgets of at least two ticks: CoarseClockServes).
//
//   last_used_ns_.store(absl::ToUnixNanos(concurrency::CoarseNow()));

#ifndef MICRO_NATS_CONCURRENCY_COARSE_CLOCK_H_
#define MICRO_NATS_CONCURRENCY_COARSE_CLOCK_H_

#include <time.h>

#include <cstdint>

#include "absl/time/time.h"

namespace micro_nats::concurrency {

// The wall clock as of the last tick: absl::Now()'s base, so a stamp taken
// with it compares with a cutoff taken with absl::Now() (up to a tick
// early).
inline absl::Time CoarseNow() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return absl::TimeFromTimespec(now);
}

// A monotonic clock as of the last tick, in nanoseconds.
inline int64_t CoarseMonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// Whether the coarse clocks measure `budget` well enough: at least two
// ticks.
inline bool CoarseClockServes(absl::Duration budget) {
  timespec tick{};
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &tick) != 0) return false;
  return budget >= 2 * absl::DurationFromTimespec(tick);
}

}  // namespace micro_nats::concurrency

#endif  // MICRO_NATS_CONCURRENCY_COARSE_CLOCK_H_
