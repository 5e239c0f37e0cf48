// Copyright 2026 The micro-nats Authors.
//
// fake_clock.h: a clock a test moves, for TTL tests that must not sleep.
//
//   FakeClock clock;
//   auto registry = NewMemoryRegistry({.clock = clock.AsFunction()});
//   clock.Advance(absl::Seconds(31));

#ifndef MICRO_NATS_TESTING_FAKE_CLOCK_H_
#define MICRO_NATS_TESTING_FAKE_CLOCK_H_

#include <functional>
#include <mutex>

#include "absl/time/time.h"

namespace micro_nats::testing {

// Thread-safe. Must outlive what AsFunction() was given to.
class FakeClock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}

  absl::Time Now() const {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }

  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

  std::function<absl::Time()> AsFunction() const {
    return [this] { return Now(); };
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace micro_nats::testing

#endif  // MICRO_NATS_TESTING_FAKE_CLOCK_H_
