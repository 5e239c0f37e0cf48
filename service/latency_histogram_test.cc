// Copyright 2026 The micro-nats Authors.

#include "service/latency_histogram.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace micro_nats::service {
namespace {

TEST(LatencyHistogramTest, BucketsAreContiguousAndLogSpaced) {
  EXPECT_EQ(LatencyHistogram::BucketOf(0), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(1023), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(1024), 1);
  for (int i = 0; i < LatencyHistogram::kBuckets - 1; ++i) {
    const uint64_t upper = LatencyHistogram::UpperBoundNanos(i);
    EXPECT_EQ(LatencyHistogram::BucketOf(upper - 1), i) << i;
    EXPECT_EQ(LatencyHistogram::BucketOf(upper), i + 1) << i;
    if (i > 0) {
      const double ratio =
          static_cast<double>(upper) /
          static_cast<double>(LatencyHistogram::UpperBoundNanos(i - 1));
      EXPECT_GT(ratio, 1.14) << i;
      EXPECT_LE(ratio, 1.25) << i;
    }
  }
  // ~1 µs to ~60 s.
  EXPECT_EQ(LatencyHistogram::UpperBoundNanos(0), 1024u);
  EXPECT_GE(LatencyHistogram::UpperBoundNanos(LatencyHistogram::kBuckets - 2),
            60'000'000'000u);
  EXPECT_EQ(LatencyHistogram::BucketOf(uint64_t{1} << 62),
            LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogramTest, EmptyHasZeroPercentiles) {
  LatencyHistogram histogram;
  const LatencyHistogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.total, 0);
  EXPECT_EQ(snapshot.counts.size(), snapshot.bounds_seconds.size() + 1);
  EXPECT_EQ(snapshot.Percentile(0.5), 0);
  EXPECT_EQ(snapshot.Mean(), 0);
}

TEST(LatencyHistogramTest, PercentilesWithinABucket) {
  LatencyHistogram histogram;
  // 1..1000 µs, uniformly.
  for (int us = 1; us <= 1000; ++us) histogram.Record(absl::Microseconds(us));
  const LatencyHistogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.total, 1000);
  EXPECT_NEAR(snapshot.sum_seconds, 500500e-6, 1e-9);
  EXPECT_NEAR(snapshot.Mean(), 500.5e-6, 1e-9);
  // One bucket is at most 25 % wide; interpolation does better on a
  // uniform spread.
  EXPECT_NEAR(snapshot.Percentile(0.5), 500e-6, 500e-6 * 0.05);
  EXPECT_NEAR(snapshot.Percentile(0.9), 900e-6, 900e-6 * 0.05);
  EXPECT_NEAR(snapshot.Percentile(0.99), 990e-6, 990e-6 * 0.05);
  EXPECT_LE(snapshot.Percentile(1), 1000e-6 * 1.25);
  EXPECT_GE(snapshot.Percentile(0), 0);
  EXPECT_LE(snapshot.Percentile(0), 1.024e-6 * 1.25);
}

TEST(LatencyHistogramTest, OneValueIsFoundInItsBucket) {
  LatencyHistogram histogram;
  histogram.Record(absl::Milliseconds(3));
  const LatencyHistogram::Snapshot snapshot = histogram.snapshot();
  const int bucket = LatencyHistogram::BucketOf(3'000'000);
  EXPECT_EQ(snapshot.counts[bucket], 1);
  const double p50 = snapshot.Percentile(0.5);
  EXPECT_GE(p50, snapshot.bounds_seconds[bucket - 1]);
  EXPECT_LE(p50, snapshot.bounds_seconds[bucket]);
}

TEST(LatencyHistogramTest, OutOfRangeValuesAreCounted) {
  LatencyHistogram histogram;
  histogram.Record(absl::Nanoseconds(-5));
  histogram.Record(absl::InfiniteDuration());
  histogram.Record(absl::Hours(2));
  const LatencyHistogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.total, 3);
  EXPECT_EQ(snapshot.counts.front(), 1);
  EXPECT_EQ(snapshot.counts.back(), 2);
  // The unbounded bucket reports the last bound, not infinity.
  EXPECT_EQ(snapshot.Percentile(0.99), snapshot.bounds_seconds.back());
  EXPECT_GT(snapshot.sum_seconds, 0);
  EXPECT_LT(snapshot.sum_seconds, 1000);
}

TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram histogram;
  constexpr int kThreads = 4;
  constexpr int kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram, t] {
      for (int i = 0; i < kEach; ++i) {
        histogram.Record(absl::Microseconds(1 + (i + t) % 100));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(histogram.snapshot().total, kThreads * kEach);
}

}  // namespace
}  // namespace micro_nats::service
