// Copyright 2026 The micro-nats Authors.
//
// sync.h: waiting on conditions with deadlines, for tests.
//
// Tests never sleep to synchronise: they wait until a condition holds or a
// deadline passes, and fail with a message when it passes.
//
//   Collector<std::string> got;
//   ... handler: got.Add(std::string(body)); ...
//   ASSERT_TRUE(got.WaitForCount(3, absl::Seconds(5)));

#ifndef MICRO_NATS_TESTING_SYNC_H_
#define MICRO_NATS_TESTING_SYNC_H_

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "concurrency/wait.h"
#include "gtest/gtest.h"

namespace micro_nats::testing {

// Polls `condition` until it holds or `timeout` passes. For state that no
// one signals (a connection's status); prefer Collector where one can.
inline ::testing::AssertionResult Eventually(
    const std::function<bool()>& condition, absl::Duration timeout,
    absl::string_view what = "condition") {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) {
      return ::testing::AssertionFailure() << what << " did not hold within "
                                           << absl::FormatDuration(timeout);
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return ::testing::AssertionSuccess();
}

// Threads in this process now (Linux: /proc/self/status), or -1 when it
// cannot tell. For tests that bound how many threads something starts.
inline int ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// Collector
//
// Thread-safe list that handlers append to and tests wait on.
template <typename T>
class Collector {
 public:
  void Add(T value) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(value));
    cv_.notify_all();
  }

  // Waits until at least `count` items arrived.
  ::testing::AssertionResult WaitForCount(size_t count,
                                          absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (concurrency::WaitFor(cv_, lock, timeout,
                             [&] { return items_.size() >= count; })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "got " << items_.size() << " of " << count << " items within "
           << absl::FormatDuration(timeout);
  }

  std::vector<T> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

}  // namespace micro_nats::testing

#endif  // MICRO_NATS_TESTING_SYNC_H_
