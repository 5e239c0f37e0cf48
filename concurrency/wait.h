// Copyright 2026 The micro-nats Authors.
//
// wait.h: the one way micro-nats waits on a condition variable until a
// deadline.
//
// std::condition_variable::wait_until overflows on a time point at the end
// of time, and wait_for(absl::InfiniteDuration()) returns at once, so every
// wait in the repository goes through these helpers, which treat
// absl::InfiniteFuture() as "for ever" and a past deadline as "check once".
//
//   std::unique_lock<std::mutex> lock(mu_);
//   if (!concurrency::WaitUntil(cv_, lock, deadline, [&] { return done_; })) {
//     return absl::DeadlineExceededError("...");
//   }

#ifndef MICRO_NATS_CONCURRENCY_WAIT_H_
#define MICRO_NATS_CONCURRENCY_WAIT_H_

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace micro_nats::concurrency {

// The deadline `timeout` from now: InfiniteDuration gives InfiniteFuture, a
// negative timeout a deadline in the past.
inline absl::Time DeadlineIn(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return absl::Now() + timeout;
}

// What is left until `deadline`: InfiniteDuration for InfiniteFuture, zero
// once it passed.
inline absl::Duration Remaining(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return absl::InfiniteDuration();
  return std::max(deadline - absl::Now(), absl::ZeroDuration());
}

// Waits on `cv` (with `lock` held) until `ready()` or `deadline`; returns
// ready(). Works with any lock type std::condition_variable_any accepts when
// `Cv` is that type.
template <typename Cv, typename Lock, typename Pred>
bool WaitUntil(Cv& cv, Lock& lock, absl::Time deadline, Pred ready) {
  if (deadline == absl::InfiniteFuture()) {
    cv.wait(lock, ready);
    return true;
  }
  while (!ready()) {
    const absl::Time now = absl::Now();
    if (now >= deadline) return ready();
    // A bounded step: absl::ToChronoTime of a far deadline may not fit the
    // clock's representation.
    const absl::Duration step = std::min(deadline - now, absl::Hours(1));
    cv.wait_for(lock, absl::ToChronoNanoseconds(step));
  }
  return true;
}

template <typename Cv, typename Lock, typename Pred>
bool WaitFor(Cv& cv, Lock& lock, absl::Duration timeout, Pred ready) {
  return WaitUntil(cv, lock, DeadlineIn(timeout), ready);
}

// Milliseconds for a C API that takes a positive int64 timeout (nats.c):
// at least 1, and a day at most for an infinite or huge one.
inline int64_t ApiTimeoutMillis(absl::Duration timeout) {
  if (timeout >= absl::Hours(24)) return 24 * 3600 * 1000;
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
}

}  // namespace micro_nats::concurrency

#endif  // MICRO_NATS_CONCURRENCY_WAIT_H_
