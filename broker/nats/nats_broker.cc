// Copyright 2026 The micro-nats Authors.

#include "broker/nats/nats_broker.h"

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/internal/dispatch.h"
#include "status/status_macros.h"

namespace micro_nats::broker {
namespace {

// The largest body whose buffer an Event keeps for the next message: a
// subscription that once got a big message does not hold its size.
// 4 KiB bounds what 10,000 subscriptions keep to 40 MiB; a bigger body
// costs an allocation beside a copy of its size anyway.
constexpr size_t kKeptBodyBytes = 4 << 10;

void FillEvent(natsMsg* msg, Event& event) {
  const absl::string_view topic = nats::Subject(msg);
  const absl::string_view body = nats::Body(msg);
  event.topic.assign(topic.data(), topic.size());
  event.message.headers = nats::ReadHeaders(msg);
  event.message.body.assign(body.data(), body.size());
}

void ReleaseLargeBody(Event& event) {
  if (event.message.body.capacity() > kKeptBodyBytes) {
    std::string().swap(event.message.body);
  }
  // Header values are not kept: the map's nodes would be rebuilt anyway.
  event.message.headers.clear();
}

class NatsSubscriber : public Subscriber {
 public:
  NatsSubscriber(std::string topic, std::string queue,
                 std::shared_ptr<nats::Subscription> subscription)
      : topic_(std::move(topic)),
        queue_(std::move(queue)),
        subscription_(std::move(subscription)) {}
  ~NatsSubscriber() override { Unsubscribe().IgnoreError(); }

  const std::string& topic() const override { return topic_; }
  const std::string& queue() const override { return queue_; }
  absl::Status Unsubscribe() override { return subscription_->Unsubscribe(); }
  int64_t dropped() const override { return subscription_->dropped(); }

 private:
  const std::string topic_;
  const std::string queue_;
  // Shared with the broker, which drains it.
  const std::shared_ptr<nats::Subscription> subscription_;
};

class NatsBroker : public Broker {
 public:
  NatsBroker(std::shared_ptr<nats::Connection> connection,
             NatsBrokerOptions options)
      : connection_(std::move(connection)),
        options_(std::move(options)),
        broker_options_(
            std::make_shared<const BrokerOptions>(options_.broker)) {}

  absl::Status Publish(absl::string_view topic,
                       const Message& message) override {
    MN_RETURN_IF_ERROR(CheckOpen());
    // nats.c refuses a body over the server's max_payload itself
    // (InvalidArgument), so the hot path asks the connection nothing more.
    if (message.headers.empty()) {
      // The connection checks the topic (once per thread while it stays
      // the same); only a failure is checked again, to name it a topic.
      absl::Status published =
          connection_->Publish(topic, message.body, options_.delivery);
      if (!published.ok()) {
        MN_RETURN_IF_ERROR(ValidatePublishTopic(topic));
      }
      return published;
    }
    MN_RETURN_IF_ERROR(ValidatePublishTopic(topic));
    MN_RETURN_IF_ERROR(ValidateHeaders(message.headers));
    return connection_->Publish(
        topic, message.body,
        {.headers = message.headers, .delivery = options_.delivery});
  }

  absl::StatusOr<std::unique_ptr<Subscriber>> Subscribe(
      absl::string_view topic, Handler handler,
      SubscribeOptions options) override {
    MN_RETURN_IF_ERROR(CheckOpen());
    MN_RETURN_IF_ERROR(
        broker_internal::ValidateSubscription(topic, options, handler));
    // Callbacks may outlive this broker: they hold their own copy.
    std::shared_ptr<const BrokerOptions> broker_options = broker_options_;
    // One Event per subscription, refilled for each message: its calls
    // never overlap, and the topic's and body's buffers are reused, so a
    // delivery allocates nothing of ours (headers aside).
    auto event = std::make_shared<Event>();
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<nats::Subscription> subscription,
        connection_->Subscribe(
            topic,
            [handler = std::move(handler), broker_options,
             event = std::move(event)](natsMsg* msg) {
              FillEvent(msg, *event);
              broker_internal::Dispatch(handler, *event, *broker_options);
              ReleaseLargeBody(*event);
            },
            {.queue = options.queue,
             .on_error =
                 [broker_options](const absl::Status& status) {
                   broker_internal::ReportError(*broker_options, status);
                 },
             .max_pending_msgs = broker_options->max_pending_messages,
             .run_on = options_.handlers,
             .inline_budget = options_.inline_budget}));
    std::shared_ptr<nats::Subscription> shared = std::move(subscription);
    bool drained = false;
    {
      // Checked again under the lock: a Drain that ran meanwhile has taken
      // the list, and would not drain this subscription.
      std::lock_guard<std::mutex> lock(mu_);
      drained = closed_.load(std::memory_order_relaxed);
      if (!drained) subscriptions_.push_back(shared);
    }
    if (drained) {
      shared->Unsubscribe().IgnoreError();
      return absl::FailedPreconditionError("broker was drained");
    }
    // The server must know of the interest before Subscribe returns, or a
    // publish right after could miss it.
    MN_RETURN_IF_ERROR(connection_->Flush(kSubscribeFlushTimeout));
    return std::make_unique<NatsSubscriber>(std::string(topic), options.queue,
                                            std::move(shared));
  }

  absl::Status Drain(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    auto remaining = [deadline] {
      return std::max(deadline - absl::Now(), absl::Milliseconds(1));
    };
    std::vector<std::weak_ptr<nats::Subscription>> subscriptions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      subscriptions.swap(subscriptions_);
    }
    absl::Status result = connection_->Flush(remaining());
    for (const auto& weak : subscriptions) {
      if (auto sub = weak.lock()) {
        absl::Status s = sub->Drain(remaining());
        if (result.ok() && !s.ok()) result = s;
      }
    }
    return result;
  }

 private:
  static constexpr absl::Duration kSubscribeFlushTimeout = absl::Seconds(5);

  absl::Status CheckOpen() const {
    if (closed_.load(std::memory_order_acquire)) {
      return absl::FailedPreconditionError("broker was drained");
    }
    return absl::OkStatus();
  }

  const std::shared_ptr<nats::Connection> connection_;
  const NatsBrokerOptions options_;
  const std::shared_ptr<const BrokerOptions> broker_options_;
  std::mutex mu_;
  std::atomic<bool> closed_{false};  // set once, under mu_
  std::vector<std::weak_ptr<nats::Subscription>> subscriptions_;  // guarded
};

}  // namespace

absl::StatusOr<std::unique_ptr<Broker>> NewNatsBroker(
    std::shared_ptr<nats::Connection> connection, NatsBrokerOptions options) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError("NewNatsBroker: the connection is null");
  }
  if (options.broker.max_pending_messages < 1) {
    return absl::InvalidArgumentError(
        "NewNatsBroker: max_pending_messages must be at least 1");
  }
  if (options.handlers == nats::HandlerThread::kDeliveryThread) {
    return absl::InvalidArgumentError(
        "NewNatsBroker: handlers must be kAdaptive or kHandlerPool");
  }
  return std::unique_ptr<Broker>(
      std::make_unique<NatsBroker>(std::move(connection), std::move(options)));
}

}  // namespace micro_nats::broker
