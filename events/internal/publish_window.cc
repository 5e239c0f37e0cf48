// Copyright 2026 The micro-nats Authors.

#include "events/internal/publish_window.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace micro_nats::events::events_internal {

template <typename Ready>
bool PublishWindow::WaitUntil(std::unique_lock<std::mutex>& lock,
                              absl::Time deadline, Ready ready) {
  // InfiniteFuture as a chrono time would overflow in the wait.
  if (deadline == absl::InfiniteFuture()) {
    cv_.wait(lock, ready);
    return true;
  }
  return cv_.wait_until(lock, absl::ToChronoTime(deadline), ready);
}

absl::Status PublishWindow::Acquire(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!WaitUntil(lock, deadline, [&] { return in_flight_ < max_; })) {
    return absl::DeadlineExceededError(
        absl::StrCat("no room for the event by the deadline: ", in_flight_,
                     " asynchronous publishes are unacknowledged "
                     "(EventsOptions::max_publish_in_flight)"));
  }
  ++in_flight_;
  return absl::OkStatus();
}

void PublishWindow::Release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
  }
  cv_.notify_all();
}

void PublishWindow::Finish(concurrency::ThreadPool& pool, PublishDone done,
                           absl::StatusOr<uint64_t> result) {
  // The task holds the window, not the pool: a pool owned by what it runs
  // would be destroyed on its own thread.
  auto task = [self = shared_from_this(), done = std::move(done),
               result = std::move(result)]() mutable {
    done(std::move(result));
    self->Release();
  };
  auto shared = std::make_shared<decltype(task)>(std::move(task));
  if (!pool.Schedule([shared] { (*shared)(); }).ok()) (*shared)();
}

absl::Status PublishWindow::Flush(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!WaitUntil(lock, deadline, [&] { return in_flight_ == 0; })) {
    return absl::DeadlineExceededError(absl::StrCat(
        in_flight_, " asynchronous publishes still unacknowledged"));
  }
  return absl::OkStatus();
}

}  // namespace micro_nats::events::events_internal
