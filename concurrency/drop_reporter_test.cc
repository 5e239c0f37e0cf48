// Copyright 2026 The micro-nats Authors.

#include "concurrency/drop_reporter.h"

#include <memory>
#include <numeric>

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

}  // namespace
}  // namespace micro_nats::concurrency
