// Copyright 2026 The micro-nats Authors.
//
// retry.h: which failed calls the client tries again, and how long it waits
// first.
//
// Only failures that say the request was not served by a live node are
// retried, on another node: Unavailable from the client's own side (NATS
// "no responders", a node that vanished mid-call, a socket that ended
// before its answer) or from a server's own refusal, marked as such on the
// wire (kRefusedHeader: stopping). An error the handler returned — even
// Unavailable: the handler ran, and may not be idempotent — a deadline, an
// overloaded server (ResourceExhausted) are the caller's to see.
//
// The waits double from `base`, each drawn from [half, all] of its step
// (jitter, so retries from many callers spread out), and never run past the
// call's deadline.

#ifndef MICRO_NATS_SERVICE_RETRY_H_
#define MICRO_NATS_SERVICE_RETRY_H_

#include <algorithm>
#include <cstdint>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace micro_nats::service {

// Whether a failure of the kinds above (the caller knows which it has) is
// one to retry.
inline bool IsRetryable(const absl::Status& status) {
  return absl::IsUnavailable(status);
}

// The wait before retry number `retry` (1 for the first).
inline absl::Duration Backoff(int retry, absl::Duration base,
                              absl::BitGenRef gen) {
  if (retry < 1 || base <= absl::ZeroDuration()) return absl::ZeroDuration();
  const absl::Duration step = base * (int64_t{1} << std::min(retry - 1, 20));
  return step * absl::Uniform<double>(absl::IntervalClosed, gen, 0.5, 1.0);
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_RETRY_H_
