// Copyright 2026 The micro-nats Authors.
//
// forwarding.h: the Events and Consumer a backend hands out, forwarding to
// the shared state that does the work (which outlives them while consumers
// or running handlers hold it).

#ifndef MICRO_NATS_EVENTS_INTERNAL_FORWARDING_H_
#define MICRO_NATS_EVENTS_INTERNAL_FORWARDING_H_

#include <memory>
#include <string>
#include <utility>

#include "events/events.h"

namespace micro_nats::events::events_internal {

// Core: Publish, PublishAsync, FlushPublishes, Consume and Info as Events
// has them, and maybe Close(), called
// when the Events is destroyed.
template <typename Core>
class ForwardingEvents : public Events {
 public:
  explicit ForwardingEvents(std::shared_ptr<Core> core)
      : core_(std::move(core)) {}
  ~ForwardingEvents() override {
    if constexpr (requires(Core & core) { core.Close(); }) core_->Close();
  }

  absl::StatusOr<uint64_t> Publish(absl::string_view topic,
                                   const Message& message,
                                   const PublishOptions& options) override {
    return core_->Publish(topic, message, options);
  }
  absl::Status PublishAsync(absl::string_view topic, const Message& message,
                            const PublishOptions& options,
                            PublishDone done) override {
    return core_->PublishAsync(topic, message, options, std::move(done));
  }
  absl::Status FlushPublishes(absl::Time deadline) override {
    return core_->FlushPublishes(deadline);
  }
  absl::StatusOr<std::unique_ptr<Consumer>> Consume(
      absl::string_view topic, Handler handler,
      ConsumeOptions options) override {
    return core_->Consume(topic, std::move(handler), std::move(options));
  }
  absl::StatusOr<TopicInfo> Info(absl::string_view topic,
                                 absl::string_view group) override {
    return core_->Info(topic, group);
  }

 private:
  const std::shared_ptr<Core> core_;
};

// Member: Stop(absl::Time) and Stats() as Consumer has them.
template <typename Member>
class ForwardingConsumer : public Consumer {
 public:
  ForwardingConsumer(std::shared_ptr<Member> member, std::string topic,
                     std::string group)
      : member_(std::move(member)),
        topic_(std::move(topic)),
        group_(std::move(group)) {}
  ~ForwardingConsumer() override {
    Stop(absl::Now() + absl::Seconds(1)).IgnoreError();
  }

  const std::string& topic() const override { return topic_; }
  const std::string& group() const override { return group_; }
  absl::Status Stop(absl::Time deadline) override {
    return member_->Stop(deadline);
  }
  ConsumerStats stats() const override { return member_->Stats(); }

 private:
  const std::shared_ptr<Member> member_;
  const std::string topic_;
  const std::string group_;
};

}  // namespace micro_nats::events::events_internal

#endif  // MICRO_NATS_EVENTS_INTERNAL_FORWARDING_H_
