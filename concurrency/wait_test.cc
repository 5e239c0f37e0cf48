// Copyright 2026 The micro-nats Authors.

#include "concurrency/wait.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"

namespace micro_nats::concurrency {
namespace {

TEST(WaitTest, InfiniteDeadlineWaitsUntilReady) {
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::thread setter([&] {
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(
      WaitUntil(cv, lock, absl::InfiniteFuture(), [&] { return ready; }));
  lock.unlock();
  setter.join();
}

TEST(WaitTest, InfiniteTimeoutIsNotAnImmediateTimeout) {
  // wait_for(InfiniteDuration) overflowed into "already expired" before.
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::thread setter([&] {
    absl::SleepFor(absl::Milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(
      WaitFor(cv, lock, absl::InfiniteDuration(), [&] { return ready; }));
  lock.unlock();
  setter.join();
}

TEST(WaitTest, PastDeadlineChecksOnce) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_FALSE(WaitUntil(cv, lock, absl::InfinitePast(), [] { return false; }));
  EXPECT_TRUE(WaitUntil(cv, lock, absl::InfinitePast(), [] { return true; }));
  EXPECT_FALSE(WaitFor(cv, lock, -absl::Seconds(1), [] { return false; }));
}

TEST(WaitTest, FiniteDeadlineTimesOut) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(WaitFor(cv, lock, absl::Milliseconds(30), [] { return false; }));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
}

TEST(WaitTest, DeadlineHelpers) {
  EXPECT_EQ(DeadlineIn(absl::InfiniteDuration()), absl::InfiniteFuture());
  EXPECT_EQ(Remaining(absl::InfiniteFuture()), absl::InfiniteDuration());
  EXPECT_EQ(Remaining(absl::InfinitePast()), absl::ZeroDuration());
  EXPECT_EQ(ApiTimeoutMillis(absl::InfiniteDuration()), 24 * 3600 * 1000);
  EXPECT_EQ(ApiTimeoutMillis(absl::ZeroDuration()), 1);
  EXPECT_EQ(ApiTimeoutMillis(absl::Milliseconds(250)), 250);
}

}  // namespace
}  // namespace micro_nats::concurrency
