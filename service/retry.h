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
// server publishes it from EndpointOptions::idempotent), else not. The
// registry's mark is trusted as the service's own word: the cache keeps the
// first answer of a version for all its nodes, so a registrant of the same
// name and version could mark an endpoint for every node of it. A call
// that is not idempotent comes back Unavailable saying "outcome unknown"
// (counted: ClientStats::outcome_unknown): it may or may not have run, once.
// A call that is idempotent may also be sent once more on a fresh socket to
// the same node when a kept socket turned out ended (not counted as a
// retry, no budget token).
//
// An error the handler returned — even Unavailable: the handler ran — a
// deadline, an overloaded server (ResourceExhausted) are the caller's to
// see. A stream's open follows the same rule: the server starts its handler
// as it accepts, so an open that failed after it left (the accept lost) is
// sent again only to an idempotent endpoint; once accepted, a stream is
// never re-opened by the client.
//
// Every retry (and hedge) takes a token of the client's retry budget
// (ClientOptions::retry_budget): with none left the call returns its last
// error, saying so (ClientStats::budget_exhausted). The budget also refills
// by a floor (min_per_second) whatever the call rate, so a service sees at
// most about (1 + ratio) x calls + min_per_second per second from each
// client: the ~1.1x bound holds for a client making well over
// min_per_second / ratio calls per second (100/s at the defaults); below,
// the floor lets each call be retried up to its retry limit.
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
