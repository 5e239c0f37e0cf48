// Copyright 2026 The micro-nats Authors.

#include "service/latency_histogram.h"

#include <algorithm>

namespace micro_nats::service {

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds_seconds.reserve(kBuckets - 1);
  for (int i = 0; i < kBuckets - 1; ++i) {
    snapshot.bounds_seconds.push_back(static_cast<double>(UpperBoundNanos(i)) *
                                      1e-9);
  }
  snapshot.counts.reserve(kBuckets);
  for (const std::atomic<int64_t>& count : counts_) {
    const int64_t n = count.load(std::memory_order_relaxed);
    snapshot.counts.push_back(n);
    snapshot.total += n;
  }
  snapshot.sum_seconds =
      static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9;
  return snapshot;
}

double LatencyHistogram::Snapshot::Percentile(double q) const {
  if (total <= 0 || counts.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the value wanted, 1-based: q = 0 is the first value.
  const double rank = std::max(1.0, q * static_cast<double>(total));
  double below = 0;  // values in the buckets before i
  for (size_t i = 0; i < counts.size(); ++i) {
    const double in = static_cast<double>(std::max<int64_t>(counts[i], 0));
    if (in > 0 && below + in >= rank) {
      if (i >= bounds_seconds.size()) {
        return bounds_seconds.empty() ? 0 : bounds_seconds.back();
      }
      const double lower = i == 0 ? 0 : bounds_seconds[i - 1];
      const double upper = bounds_seconds[i];
      return lower + (upper - lower) * ((rank - below) / in);
    }
    below += in;
  }
  return bounds_seconds.empty() ? 0 : bounds_seconds.back();
}

}  // namespace micro_nats::service
