// Copyright 2026 The micro-nats Authors.
//
// mock_events.h: gmock mocks of Events and Consumer, for unit tests that
// check interactions. For working in-process events use events/memory.
//
//   MockEvents events;
//   EXPECT_CALL(events, Publish("orders.created", _, _))
//       .WillOnce(Return(absl::StatusOr<uint64_t>(7)));

#ifndef MICRO_NATS_EVENTS_MOCK_MOCK_EVENTS_H_
#define MICRO_NATS_EVENTS_MOCK_MOCK_EVENTS_H_

#include <memory>
#include <string>

#include "events/events.h"
#include "gmock/gmock.h"

namespace micro_nats::events {

class MockConsumer : public Consumer {
 public:
  MOCK_METHOD(const std::string&, topic, (), (const, override));
  MOCK_METHOD(const std::string&, group, (), (const, override));
  MOCK_METHOD(absl::Status, Stop, (absl::Time deadline), (override));
  MOCK_METHOD(ConsumerStats, stats, (), (const, override));
};

class MockEvents : public Events {
 public:
  // By default Publish returns sequence 1, 2, 3... (PublishAsync gives it
  // to `done` before returning), FlushPublishes succeeds and Consume a
  // MockConsumer whose Stop succeeds.
  MockEvents();

  MOCK_METHOD(absl::StatusOr<uint64_t>, Publish,
              (absl::string_view topic, const Message& message,
               const PublishOptions& options),
              (override));
  MOCK_METHOD(absl::Status, PublishAsync,
              (absl::string_view topic, const Message& message,
               const PublishOptions& options, PublishDone done),
              (override));
  MOCK_METHOD(absl::Status, FlushPublishes, (absl::Time deadline), (override));
  MOCK_METHOD(absl::StatusOr<std::unique_ptr<Consumer>>, Consume,
              (absl::string_view topic, Handler handler,
               ConsumeOptions options),
              (override));
  MOCK_METHOD(absl::StatusOr<TopicInfo>, Info,
              (absl::string_view topic, absl::string_view group), (override));

 private:
  uint64_t next_sequence_ = 0;
};

}  // namespace micro_nats::events

#endif  // MICRO_NATS_EVENTS_MOCK_MOCK_EVENTS_H_
