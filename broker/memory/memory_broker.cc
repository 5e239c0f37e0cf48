// Copyright 2026 The micro-nats Authors.

#include "broker/memory/memory_broker.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/internal/dispatch.h"
#include "concurrency/drop_reporter.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "status/status_macros.h"

namespace micro_nats::broker {
namespace {

// One subscription: its handler calls, in order, on the broker's pool.
struct SubState : std::enable_shared_from_this<SubState> {
  std::string pattern;
  std::string queue;
  Handler handler;
  BrokerOptions options;
  std::shared_ptr<concurrency::SerialQueue> calls;

  std::shared_ptr<concurrency::DropReporter> drops;

  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;      // guarded by mu: events scheduled, not delivered
  bool stopped = false;    // guarded by mu
  bool busy = false;       // guarded by mu: a handler call is running
  std::thread::id runner;  // guarded by mu: the thread running it

  // Called by publishers under the bus lock: no callback runs here.
  void Enqueue(const Event& event) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) return;
      if (pending >= static_cast<size_t>(options.max_pending_messages)) {
        drops->Dropped();  // told from a pool thread, with the count
        return;
      }
      ++pending;
    }
    absl::Status scheduled = calls->Schedule(
        [self = shared_from_this(), event] { self->Deliver(event); });
    if (!scheduled.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu);
        --pending;
        cv.notify_all();
      }
      drops->Dropped();
    }
  }

  void Deliver(const Event& event) {
    bool backlog_empty = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      backlog_empty = --pending == 0;
      cv.notify_all();
      if (stopped) return;
      busy = true;
      runner = std::this_thread::get_id();
    }
    drops->Delivered(backlog_empty);
    broker_internal::Dispatch(handler, event, options);
    std::lock_guard<std::mutex> lock(mu);
    busy = false;
    runner = std::thread::id();
    cv.notify_all();
  }

  // Waits until nothing is pending or running, or `deadline`.
  bool WaitIdle(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu);
    return concurrency::WaitUntil(cv, lock, deadline, [this] {
      return stopped || (pending == 0 && !busy);
    });
  }

  // Ends delivery; unless called from the handler itself or with
  // `wait_for_handler` false, returns once no handler call is running.
  void Stop(bool wait_for_handler = true) {
    std::unique_lock<std::mutex> lock(mu);
    stopped = true;
    cv.notify_all();
    if (!wait_for_handler || (busy && runner == std::this_thread::get_id())) {
      return;
    }
    cv.wait(lock, [this] { return !busy; });
  }
};

}  // namespace

class MemoryBus {
 public:
  void Add(const std::shared_ptr<SubState>& sub) {
    std::lock_guard<std::mutex> lock(mu_);
    subs_.push_back(sub);
  }

  void Remove(const SubState* sub) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = subs_.begin(); it != subs_.end(); ++it) {
      if (it->get() == sub) {
        subs_.erase(it);
        return;
      }
    }
  }

  void Publish(const Event& event) {
    std::lock_guard<std::mutex> lock(mu_);
    // Queue groups are keyed by pattern and queue name, as in NATS.
    std::map<std::string, std::vector<SubState*>> groups;
    for (const auto& sub : subs_) {
      if (!TopicMatches(sub->pattern, event.topic)) continue;
      if (sub->queue.empty()) {
        sub->Enqueue(event);
      } else {
        groups[absl::StrCat(sub->pattern, " ", sub->queue)].push_back(
            sub.get());
      }
    }
    for (auto& [key, members] : groups) {
      uint64_t& next = round_robin_[key];
      members[next++ % members.size()]->Enqueue(event);
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<SubState>> subs_;  // guarded by mu_
  std::map<std::string, uint64_t> round_robin_;  // guarded by mu_
};

std::shared_ptr<MemoryBus> NewMemoryBus() {
  return std::make_shared<MemoryBus>();
}

namespace {

class MemorySubscriber : public Subscriber {
 public:
  MemorySubscriber(std::shared_ptr<MemoryBus> bus,
                   std::shared_ptr<SubState> state)
      : bus_(std::move(bus)), state_(std::move(state)) {}
  ~MemorySubscriber() override { Unsubscribe().IgnoreError(); }

  const std::string& topic() const override { return state_->pattern; }
  const std::string& queue() const override { return state_->queue; }

  absl::Status Unsubscribe() override {
    bus_->Remove(state_.get());
    state_->Stop();
    return absl::OkStatus();
  }
  int64_t dropped() const override { return state_->drops->total(); }

 private:
  std::shared_ptr<MemoryBus> bus_;
  std::shared_ptr<SubState> state_;
};

class MemoryBroker : public Broker {
 public:
  MemoryBroker(BrokerOptions options, std::shared_ptr<MemoryBus> bus)
      : options_(std::move(options)), bus_(std::move(bus)) {}

  absl::Status Publish(absl::string_view topic,
                       const Message& message) override {
    MN_RETURN_IF_ERROR(CheckOpen());
    MN_RETURN_IF_ERROR(ValidatePublishTopic(topic));
    MN_RETURN_IF_ERROR(ValidateHeaders(message.headers));
    if (message.body.size() > kMemoryMaxBodyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("message body of ", message.body.size(),
                       " bytes is over the limit of ", kMemoryMaxBodyBytes));
    }
    // Delivered as NATS would deliver it (blank headers absent, values
    // trimmed).
    bus_->Publish(
        Event{std::string(topic),
              HeadersChangeOnTheWire(message.headers)
                  ? Message{WireHeaders(message.headers), message.body}
                  : message});
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Subscriber>> Subscribe(
      absl::string_view topic, Handler handler,
      SubscribeOptions options) override {
    MN_RETURN_IF_ERROR(CheckOpen());
    MN_RETURN_IF_ERROR(
        broker_internal::ValidateSubscription(topic, options, handler));
    auto state = std::make_shared<SubState>();
    state->pattern = std::string(topic);
    state->queue = options.queue;
    state->handler = std::move(handler);
    state->options = options_;
    state->calls = concurrency::SerialQueue::Create(pool_);
    state->drops = concurrency::DropReporter::Create(
        pool_, [pattern = state->pattern, options = options_](int64_t n) {
          broker_internal::ReportError(
              options, absl::ResourceExhaustedError(absl::StrCat(
                           "slow subscriber on '", pattern, "': dropped ", n,
                           " message(s) (more than ",
                           options.max_pending_messages, " were waiting)")));
        });
    bus_->Add(state);
    {
      std::lock_guard<std::mutex> lock(mu_);
      subs_.push_back(state);
    }
    return std::make_unique<MemorySubscriber>(bus_, std::move(state));
  }

  absl::Status Drain(absl::Duration timeout) override {
    const absl::Time deadline = concurrency::DeadlineIn(timeout);
    std::vector<std::weak_ptr<SubState>> subs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      subs.swap(subs_);
    }
    bool all_idle = true;
    for (const auto& weak : subs) {
      if (auto sub = weak.lock()) {
        const bool idle = sub->WaitIdle(deadline);
        all_idle = all_idle && idle;
        bus_->Remove(sub.get());
        sub->Stop(/*wait_for_handler=*/idle);
      }
    }
    if (!all_idle) {
      return absl::DeadlineExceededError(
          absl::StrCat("drain: messages were still pending after ",
                       absl::FormatDuration(timeout), "; they were dropped"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status CheckOpen() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("broker was drained");
    return absl::OkStatus();
  }

  const BrokerOptions options_;
  const std::shared_ptr<MemoryBus> bus_;
  // Runs every handler of this broker; subscriptions hold it too.
  const std::shared_ptr<concurrency::ThreadPool> pool_ =
      std::make_shared<concurrency::ThreadPool>(kMemoryBrokerHandlerThreads);
  std::mutex mu_;
  bool closed_ = false;                        // guarded by mu_
  std::vector<std::weak_ptr<SubState>> subs_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Broker> NewMemoryBroker(BrokerOptions options,
                                        std::shared_ptr<MemoryBus> bus) {
  if (bus == nullptr) bus = NewMemoryBus();
  return std::make_unique<MemoryBroker>(std::move(options), std::move(bus));
}

}  // namespace micro_nats::broker
