// Copyright 2026 The micro-nats Authors.

#include "registry/internal/watch_hub.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/status_macros.h"

namespace micro_nats::registry::registry_internal {

class WatchHub::Queue {
 public:
  Queue(size_t buffer, WatchOptions options)
      : buffer_(buffer), options_(std::move(options)) {}

  void Push(const Event& event) {
    if (!options_.service.empty() && event.service.name != options_.service) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    if (events_.size() >= buffer_) {
      ++dropped_;  // told to the reader by Next, never silent
    } else {
      events_.push_back(event);
    }
    cv_.notify_all();
    if (ready_) ready_();
  }

  // Events were lost before they reached the hub.
  void Lost(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    if (lost_.empty()) lost_ = why;
    cv_.notify_all();
    if (ready_) ready_();
  }

  // Under mu_, so that once Stop returns it is never called again.
  void NotifyWhenReady(std::function<void()> ready) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    ready_ = std::move(ready);
    if (dropped_ > 0 || !lost_.empty() || !events_.empty()) ready_();
  }

  absl::StatusOr<Event> Next(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] {
      return stopped_ || dropped_ > 0 || !lost_.empty() || !events_.empty();
    };
    concurrency::WaitUntil(cv_, lock, deadline, ready);
    if (stopped_) return absl::CancelledError("the watcher was stopped");
    if (!lost_.empty() && events_.empty()) {
      return absl::ResourceExhaustedError(
          absl::StrCat(std::exchange(lost_, std::string()),
                       "; re-read the services you follow"));
    }
    if (dropped_ > 0 && events_.empty()) {
      // Report the gap where it happened: after the events before it.
      const size_t dropped = std::exchange(dropped_, 0);
      return absl::ResourceExhaustedError(absl::StrCat(
          "the watcher fell behind: ", dropped, " events were dropped (buffer ",
          buffer_, "); re-read the services you follow"));
    }
    if (events_.empty()) {
      return absl::DeadlineExceededError("no registry event before deadline");
    }
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  void Stop() {
    std::function<void()> ready;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      events_.clear();
      ready = std::move(ready_);
      ready_ = nullptr;
      cv_.notify_all();
    }
    // Destroyed outside the lock: what it holds is the reader's.
  }

 private:
  const size_t buffer_;
  const WatchOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;     // guarded by mu_
  size_t dropped_ = 0;           // guarded by mu_
  std::string lost_;             // guarded by mu_: why events were lost
  bool stopped_ = false;         // guarded by mu_
  std::function<void()> ready_;  // guarded by mu_
};

namespace {

class HubWatcher : public Watcher {
 public:
  explicit HubWatcher(std::shared_ptr<WatchHub::Queue> queue)
      : queue_(std::move(queue)) {}
  ~HubWatcher() override { Stop(); }

  absl::StatusOr<Event> Next(absl::Time deadline) override {
    return queue_->Next(deadline);
  }
  void Stop() override { queue_->Stop(); }
  bool NotifyWhenReady(std::function<void()> ready) override {
    queue_->NotifyWhenReady(std::move(ready));
    return true;
  }

 private:
  std::shared_ptr<WatchHub::Queue> queue_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Watcher>> WatchHub::NewWatcher(
    WatchOptions options) {
  if (!options.service.empty()) {
    MN_RETURN_IF_ERROR(ValidateServiceName(options.service));
  }
  auto queue = std::make_shared<Queue>(buffer_, std::move(options));
  std::lock_guard<std::mutex> lock(mu_);
  // Forget watchers that are gone while we are here.
  std::erase_if(queues_, [](const auto& weak) { return weak.expired(); });
  queues_.push_back(queue);
  return std::make_unique<HubWatcher>(std::move(queue));
}

void WatchHub::Lost(const std::string& why) {
  std::vector<std::shared_ptr<Queue>> queues;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& weak : queues_) {
      if (auto queue = weak.lock()) queues.push_back(std::move(queue));
    }
  }
  for (const auto& queue : queues) queue->Lost(why);
}

void WatchHub::Publish(const Event& event) {
  std::vector<std::shared_ptr<Queue>> queues;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& weak : queues_) {
      if (auto queue = weak.lock()) queues.push_back(std::move(queue));
    }
  }
  for (const auto& queue : queues) queue->Push(event);
}

}  // namespace micro_nats::registry::registry_internal
