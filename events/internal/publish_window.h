// Copyright 2026 The micro-nats Authors.
//
// publish_window.h: the bound on a backend's asynchronous publishes
// (EventsOptions::max_publish_in_flight) and the hand-off of their results
// to the handler pool. A slot is taken before an event is sent and given
// back once its `done` has returned, so events sent and results waiting for
// a thread together stay within the bound.

#ifndef MICRO_NATS_EVENTS_INTERNAL_PUBLISH_WINDOW_H_
#define MICRO_NATS_EVENTS_INTERNAL_PUBLISH_WINDOW_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "concurrency/thread_pool.h"
#include "events/events.h"

namespace micro_nats::events::events_internal {

// Thread-safe.
class PublishWindow : public std::enable_shared_from_this<PublishWindow> {
 public:
  explicit PublishWindow(int max_in_flight) : max_(max_in_flight) {}

  // Takes a slot, waiting for one until `deadline` (DeadlineExceeded).
  absl::Status Acquire(absl::Time deadline);
  // Gives back a slot whose event was not sent.
  void Release();
  // Calls done(result) on `pool` (inline when the pool refuses it), then
  // gives back the slot. Never blocks.
  void Finish(concurrency::ThreadPool& pool, PublishDone done,
              absl::StatusOr<uint64_t> result);
  // Calls done(result) here, then gives back the slot.
  void FinishHere(PublishDone done, absl::StatusOr<uint64_t> result) {
    done(std::move(result));
    Release();
  }
  // Waits until no slot is taken: DeadlineExceeded naming how many are.
  absl::Status Flush(absl::Time deadline);

 private:
  template <typename Ready>
  bool WaitUntil(std::unique_lock<std::mutex>& lock, absl::Time deadline,
                 Ready ready);

  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;  // guarded by mu_
};

}  // namespace micro_nats::events::events_internal

#endif  // MICRO_NATS_EVENTS_INTERNAL_PUBLISH_WINDOW_H_
