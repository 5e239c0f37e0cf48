// Copyright 2026 The micro-nats Authors.
//
// retry.h: which failed calls the client tries again, and how long it waits
// first.
//
// Only failures that say the request was not served by a live node are
// retried, on another node, and the node is evicted from the cache. Which
// depends on whether the request may have reached a handler:
//
//   never reached one      NATS "no responders", a node nobody listens at
//   (retried)              (dial or socket acquire failed), a Send that
//                          failed before the request left, a server's own
//                          refusal marked on the wire (kRefusedHeader:
//                          stopping), a registry that could not be asked
//   may have reached one   the socket ended, or a probe found the node
//   (retried only when     gone, after the request was sent
//   the call is idempotent)
//
// Idempotent: CallOptions::idempotent, else ClientOptions::policies'
// "<service>.<endpoint>" or "<endpoint>" entry, else the registry's
// endpoint metadata "idempotent": "true" of the version holding the node (a
// server publishes it from EndpointOptions::idempotent), else not. A call
// that is not comes back Unavailable saying "outcome unknown" (counted:
// ClientStats::outcome_unknown): it may or may not have run, once.
//
// An error the handler returned — even Unavailable: the handler ran — a
// deadline, an overloaded server (ResourceExhausted) are the caller's to
// see. A stream is retried only before the server accepted it (its handler
// runs from then on).
//
// Every retry (and hedge) takes a token of the client's retry budget
// (ClientOptions::retry_budget): with none left the call returns its last
// error, saying so (ClientStats::budget_exhausted), so an overloaded service
// sees at most ~(1 + ratio) times the calls made.
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
