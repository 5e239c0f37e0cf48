// Copyright 2026 The micro-nats Authors.
//
// latency_histogram.h: a fixed, log-spaced latency histogram an endpoint
// records every call into, for the percentiles in $SRV.STATS (ADR-32's
// endpoint `data`) and `micro stats`.
//
// Buckets are fixed (4 per power of two, from 1.024 µs to 68.7 s, plus one
// below and one above), so Record is a bit scan and two relaxed atomic adds:
// no lock, no allocation, safe from any number of threads. The resolution
// is one bucket (at most 25 % of the value); Percentile interpolates
// linearly inside the bucket.

#ifndef MICRO_NATS_SERVICE_LATENCY_HISTOGRAM_H_
#define MICRO_NATS_SERVICE_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace micro_nats::service {

class LatencyHistogram {
 public:
  // Bucket i < kBuckets - 1 holds values below UpperBoundNanos(i) (and not
  // below the bucket before it's); the last holds everything larger.
  static constexpr int kSubBuckets = 4;    // per power of two
  static constexpr int kMinExponent = 10;  // 2^10 ns = 1.024 µs
  static constexpr int kMaxExponent = 35;  // up to 2^36 ns = 68.7 s
  static constexpr int kBuckets =
      1 + (kMaxExponent - kMinExponent + 1) * kSubBuckets + 1;
  static constexpr int64_t kMaxNanos = int64_t{1} << (kMaxExponent + 1);

  // What was recorded, copied out. `counts[i]` is the number of values in
  // bucket i (not cumulative): values below bounds_seconds[i] and not below
  // bounds_seconds[i - 1]; counts has one more entry than bounds, the
  // values from the last bound up (Prometheus' +Inf).
  struct Snapshot {
    std::vector<double> bounds_seconds;
    std::vector<int64_t> counts;
    int64_t total = 0;       // the sum of counts
    double sum_seconds = 0;  // of every value recorded

    // The q-quantile (0 <= q <= 1) in seconds, interpolated within its
    // bucket; 0 with nothing recorded. A value in the last (unbounded)
    // bucket is reported as the last bound.
    double Percentile(double q) const;
    // The mean in seconds; 0 with nothing recorded.
    double Mean() const { return total > 0 ? sum_seconds / total : 0; }
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Thread-safe, lock-free, allocation-free. Negative durations count as 0.
  void Record(absl::Duration latency) {
    int64_t nanos = absl::ToInt64Nanoseconds(latency);
    if (nanos < 0) nanos = 0;
    // Past the last bound a value only counts; capped, so the sum of an
    // infinite duration cannot wrap.
    if (nanos > kMaxNanos) nanos = kMaxNanos;
    counts_[BucketOf(static_cast<uint64_t>(nanos))].fetch_add(
        1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  }

  // A copy of the counts. Concurrent Records may or may not be in it; its
  // total is the sum of the counts it copied.
  Snapshot snapshot() const;

  // The bucket a value of `nanos` goes to.
  static int BucketOf(uint64_t nanos) {
    if (nanos < (uint64_t{1} << kMinExponent)) return 0;
    const int exponent = std::bit_width(nanos) - 1;  // >= kMinExponent
    if (exponent > kMaxExponent) return kBuckets - 1;
    // The two bits below the leading one pick the quarter of the octave.
    const int sub = static_cast<int>((nanos >> (exponent - 2)) & 3);
    return 1 + (exponent - kMinExponent) * kSubBuckets + sub;
  }
  // The (exclusive) upper bound of bucket i < kBuckets - 1, in ns.
  static constexpr uint64_t UpperBoundNanos(int i) {
    if (i == 0) return uint64_t{1} << kMinExponent;
    const int exponent = (i - 1) / kSubBuckets + kMinExponent;
    const int sub = (i - 1) % kSubBuckets;
    return static_cast<uint64_t>(kSubBuckets + sub + 1) << (exponent - 2);
  }

 private:
  std::array<std::atomic<int64_t>, kBuckets> counts_{};
  std::atomic<int64_t> sum_nanos_{0};
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_LATENCY_HISTOGRAM_H_
