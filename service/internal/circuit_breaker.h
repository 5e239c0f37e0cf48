// Copyright 2026 The micro-nats Authors.
//
// circuit_breaker.h: the client's breaker per node (CircuitBreakerOptions in
// client.h).
//
//   closed ── failures in a row, or a failure share of a window's calls ──>
//   open (calls leave the node out) ── cool-down passed ──> half-open
//   (half_open_calls trial calls) ── they succeed ──> closed
//                                 └─ one fails ──> open, longer cool-down
//
// The cool-down doubles from cool_down to max_cool_down while the node
// keeps failing its trials, each drawn within ±25 % (jitter, so breakers of
// many clients do not probe at once).
//
// Only nodes that failed lately are tracked: while none is, every check is
// one atomic load and no lock, so healthy nodes cost nothing. A closed
// node's state is dropped once its window passes without a failure; nodes
// the registry no longer lists are dropped (Retain), and at most
// kMaxTracked are kept.

#ifndef MICRO_NATS_SERVICE_INTERNAL_CIRCUIT_BREAKER_H_
#define MICRO_NATS_SERVICE_INTERNAL_CIRCUIT_BREAKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "registry/registry.h"
#include "service/client.h"

namespace micro_nats::service::service_internal {

// How an attempt ended, for the breaker.
enum class BreakerOutcome {
  kSuccess,
  kFailure,
  // Neither (a hedge abandoned by the client): only frees a trial slot.
  kNeutral,
};

// Whether an attempt's result counts as the node's failure: it failed the
// attempt (node_failed), a handler's Internal, Unavailable or Unknown, or
// no answer in time when the attempt was `allowed` at least `min_deadline`
// (CircuitBreakerOptions::min_deadline; a server's "expired in queue"
// answer is a DeadlineExceeded too, judged the same). A ResourceExhausted
// refusal (a server's or an endpoint's max_concurrency) is not: the server
// sheds that load itself at little cost, and the selector's in-flight count
// steers away from a busy node; a breaker would turn a service at its
// healthy limit into "all breakers open" for every caller of the client.
bool IsBreakerFailure(const absl::Status& status, bool node_failed,
                      absl::Duration allowed, absl::Duration min_deadline);

// CircuitBreakers
//
// Thread-safe.
class CircuitBreakers {
 public:
  static constexpr size_t kMaxTracked = 4096;

  // `now` null: absl::Now.
  explicit CircuitBreakers(CircuitBreakerOptions options,
                           std::function<absl::Time()> now = nullptr);

  // Whether any node is tracked: false, nothing below needs the lock.
  bool Tracking() const {
    return tracked_.load(std::memory_order_acquire) != 0;
  }

  // Adds to `*exclude` the nodes of `service` a call must leave out now:
  // open ones, and half-open ones whose trials are all taken.
  void Exclude(absl::string_view service, std::set<std::string>* exclude);

  // The call's path, one lock and no allocation: drops the state of
  // `service`'s nodes that `versions` no longer lists (as Retain) and takes
  // out of `*nodes` those a call must leave out now (as Exclude).
  void Filter(absl::string_view service,
              const std::vector<registry::Service>& versions,
              std::vector<const registry::Node*>* nodes);

  // Before an attempt on `node_id`: false when it must not go there (it
  // opened meanwhile, or its trials were taken); true takes a trial of a
  // half-open node, which Record gives back.
  bool Admit(absl::string_view service, absl::string_view node_id);

  // After an admitted attempt. True when this opened the breaker.
  bool Record(absl::string_view service, absl::string_view node_id,
              BreakerOutcome outcome);

  // Drops the state of `service`'s nodes not in `live` (sorted ids).
  void Retain(absl::string_view service, const std::vector<std::string>& live);

  std::vector<NodeHealth> Health() const;

 private:
  struct State {
    NodeHealth::Breaker breaker = NodeHealth::Breaker::kClosed;
    int64_t consecutive = 0;
    int64_t window_calls = 0;
    int64_t window_failures = 0;
    absl::Time window_start;
    absl::Time last_failure;
    absl::Time open_until;
    int reopened = 0;  // trials failed in a row: the cool-down's doubling
    int trials = 0;    // half-open trials in flight
    int trial_successes = 0;
  };
  // This thread's buffer, holding the key: no allocation once warm.
  static const std::string& Key(absl::string_view service,
                                absl::string_view node_id);
  // Half-open once the cool-down passed.
  void Advance(State& state, absl::Time now);
  void Open(State& state, absl::Time now);
  void Erase(absl::flat_hash_map<std::string, State>::iterator it);

  const CircuitBreakerOptions options_;
  const std::function<absl::Time()> now_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, State> states_;  // guarded by mu_
  absl::BitGen gen_;                                // guarded by mu_
  std::atomic<size_t> tracked_{0};                  // states_.size()
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_CIRCUIT_BREAKER_H_
