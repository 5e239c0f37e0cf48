// Copyright 2026 The micro-nats Authors.

#include "concurrency/drop_reporter.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "concurrency/wait.h"
#include "gtest/gtest.h"
#include "testing/sync.h"

namespace micro_nats::concurrency {
namespace {

using ::micro_nats::testing::Collector;

constexpr absl::Duration kWait = absl::Seconds(10);

TEST(DropReporterTest, TheFirstDropIsReportedWithoutTheConsumer) {
  auto pool = std::make_shared<ThreadPool>(1);
  Collector<int64_t> reports;
  auto drops = DropReporter::Create(pool, [&](int64_t n) { reports.Add(n); });
  drops->Dropped();  // the consumer is stuck: nobody calls Delivered
  ASSERT_TRUE(reports.WaitForCount(1, kWait));
  EXPECT_EQ(reports.Snapshot()[0], 1);
}

TEST(DropReporterTest, ReportsAddUpToEveryDrop) {
  auto pool = std::make_shared<ThreadPool>(1);
  Collector<int64_t> reports;
  auto drops = DropReporter::Create(pool, [&](int64_t n) { reports.Add(n); });
  for (int i = 0; i < 250; ++i) drops->Dropped();
  drops->Delivered(/*backlog_empty=*/false);
  drops->Delivered(/*backlog_empty=*/true);  // the rest, now
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto all = reports.Snapshot();
        return std::accumulate(all.begin(), all.end(), int64_t{0}) == 250;
      },
      kWait, "250 drops reported"));
  EXPECT_EQ(drops->total(), 250);
  // A new episode is reported again.
  drops->Dropped();
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto all = reports.Snapshot();
        return std::accumulate(all.begin(), all.end(), int64_t{0}) == 251;
      },
      kWait, "the next episode reported"));
}

TEST(DropReporterTest, NothingDroppedNothingReported) {
  auto pool = std::make_shared<ThreadPool>(1);
  Collector<int64_t> reports;
  auto drops = DropReporter::Create(pool, [&](int64_t n) { reports.Add(n); });
  for (int i = 0; i < 10; ++i) drops->Delivered(i % 2 == 0);
  EXPECT_EQ(drops->total(), 0);
  EXPECT_EQ(reports.size(), 0u);
}

// Close reports the rest on the closing thread and waits for a report
// whose count was taken before it: the counts add up even when Close comes
// between a report taking its count and telling it.
TEST(DropReporterTest, CloseWaitsForARunningReportAndReportsTheRest) {
  auto pool = std::make_shared<ThreadPool>(1);
  std::mutex mu;
  std::condition_variable cv;
  bool running = false;           // guarded by mu: the pool's report
  bool running_returned = false;  // guarded by mu
  bool closer_reported = false;   // guarded by mu
  std::thread::id closer;         // guarded by mu
  Collector<int64_t> reports;
  auto drops = DropReporter::Create(pool, [&](int64_t n) {
    std::unique_lock<std::mutex> lock(mu);
    if (std::this_thread::get_id() == closer) {
      // Close's own report: the running one may now return.
      closer_reported = true;
      cv.notify_all();
      lock.unlock();
      reports.Add(n);
      return;
    }
    running = true;
    cv.notify_all();
    WaitFor(cv, lock, kWait, [&] { return closer_reported; });
    running_returned = true;
    lock.unlock();
    reports.Add(n);
  });
  drops->Dropped();  // the pool's report takes this one and blocks
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(WaitFor(cv, lock, kWait, [&] { return running; }));
    closer = std::this_thread::get_id();
  }
  drops->Dropped();  // unreported: Close tells it
  drops->Dropped();
  EXPECT_TRUE(drops->Close(absl::Now() + kWait));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(running_returned) << "Close returned before the running one";
  }
  const std::vector<int64_t> got = reports.Snapshot();
  EXPECT_EQ(std::accumulate(got.begin(), got.end(), int64_t{0}), 3);
  EXPECT_EQ(drops->total(), 3);
}

// Past its deadline Close returns false while a report still runs; none
// starts after Close, and later drops are only counted.
TEST(DropReporterTest, CloseEndsReportsAndHonoursItsDeadline) {
  auto pool = std::make_shared<ThreadPool>(1);
  std::mutex mu;
  std::condition_variable cv;
  bool running = false;  // guarded by mu
  bool release = false;  // guarded by mu
  Collector<int64_t> reports;
  auto drops = DropReporter::Create(pool, [&](int64_t n) {
    std::unique_lock<std::mutex> lock(mu);
    running = true;
    cv.notify_all();
    WaitFor(cv, lock, 4 * kWait, [&] { return release; });
    lock.unlock();
    reports.Add(n);
  });
  drops->Dropped();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(WaitFor(cv, lock, kWait, [&] { return running; }));
  }
  EXPECT_FALSE(drops->Close(absl::Now() + absl::Milliseconds(50)));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(reports.WaitForCount(1, kWait));
  drops->Dropped();
  drops->Delivered(/*backlog_empty=*/true);
  EXPECT_TRUE(drops->Close(absl::Now() + kWait));  // none runs any more
  EXPECT_EQ(drops->total(), 2);
  EXPECT_EQ(reports.Snapshot(), std::vector<int64_t>{1});
}

}  // namespace
}  // namespace micro_nats::concurrency
