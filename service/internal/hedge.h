// Copyright 2026 The micro-nats Authors.
//
// hedge.h: what a hedged call (HedgePolicy in client.h) shares between the
// caller and its attempts, and the per-endpoint latency the client keeps
// for after_p95.
//
// A hedged call's attempts run on the client's hedge pool (bounded; never a
// thread per call); the caller waits on the race's condition until an
// attempt answers OK, the next hedge is due, or the deadline. The first OK
// answer wins; the others are abandoned (AttemptCancel closes their
// sockets, which are not kept).

#ifndef MICRO_NATS_SERVICE_INTERNAL_HEDGE_H_
#define MICRO_NATS_SERVICE_INTERNAL_HEDGE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/internal/call_path.h"
#include "service/latency_histogram.h"
#include "service/observer.h"

namespace micro_nats::service::service_internal {

// HedgeRace
//
// Thread-safe: shared by the caller and its attempts' tasks, which may
// outlive the caller's wait (an abandoned attempt ends after it).
class HedgeRace {
 public:
  // Starts attempt number `index` (0 first): its cancel, or null when the
  // race is over already.
  AttemptCancel* Start(int* index);
  // An attempt ended. The first OK result wins; false when the race was
  // over already (its result is dropped).
  bool Finish(int index, absl::StatusOr<Message> result, bool node_failed);

  // Waits until a winner, every started attempt ended, or `until`.
  void Wait(absl::Time until);
  // The caller's view, under the race's lock.
  struct View {
    bool won = false;
    int running = 0;
    int started = 0;
    int winner = -1;
    // The last failure, preferring a handler's (an answer) over a node's.
    absl::Status last_error;
    bool last_node_failed = false;
  };
  View view() const;
  // Ends the race: the winner's answer (or nothing), every other attempt
  // abandoned. The observation is detached: attempts that end later no
  // longer report to it.
  absl::StatusOr<Message> Close();

  // Reports an attempt to the caller's observation while the caller waits.
  void set_observation(ObservationScope* scope);
  void ReportAttempt(absl::string_view node_id, const absl::Status& status);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int running_ = 0;
  std::vector<std::unique_ptr<AttemptCancel>> cancels_;
  int winner_ = -1;
  absl::StatusOr<Message> answer_ = absl::UnknownError("no answer");
  absl::Status last_error_ = absl::UnavailableError("no attempt ended");
  bool last_node_failed_ = true;
  ObservationScope* scope_ = nullptr;
};

// Latencies per endpoint, for HedgePolicy::after_p95: recorded only for
// endpoints hedged that way; the p95 is recomputed at most every 100 ms.
//
// Thread-safe.
class EndpointLatencies {
 public:
  // Answers seen before the p95 counts.
  static constexpr int64_t kMinSamples = 20;
  // Endpoints tracked at most (more are not).
  static constexpr size_t kMaxEndpoints = 1024;

  void Record(absl::string_view key, absl::Duration latency);
  // The p95 of `key`'s answers, or `fallback` before kMinSamples.
  absl::Duration P95(absl::string_view key, absl::Duration fallback);

 private:
  struct Entry {
    LatencyHistogram histogram;
    std::atomic<int64_t> samples{0};
    std::atomic<int64_t> p95_nanos{-1};
    std::atomic<int64_t> computed_at_nanos{0};
  };
  Entry* Find(absl::string_view key, bool create);

  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_HEDGE_H_
