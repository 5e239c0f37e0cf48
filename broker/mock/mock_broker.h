// Copyright 2026 The micro-nats Authors.
//
// mock_broker.h: gmock mocks of Broker and Subscriber, for consumers' unit
// tests that check interactions. For a working in-process broker use
// broker/memory instead.
//
//   MockBroker broker;
//   EXPECT_CALL(broker, Publish("orders.created", _))
//       .WillOnce(Return(absl::OkStatus()));

#ifndef MICRO_NATS_BROKER_MOCK_MOCK_BROKER_H_
#define MICRO_NATS_BROKER_MOCK_MOCK_BROKER_H_

#include <memory>
#include <string>

#include "broker/broker.h"
#include "gmock/gmock.h"

namespace micro_nats::broker {

class MockSubscriber : public Subscriber {
 public:
  MOCK_METHOD(const std::string&, topic, (), (const, override));
  MOCK_METHOD(const std::string&, queue, (), (const, override));
  MOCK_METHOD(absl::Status, Unsubscribe, (), (override));
  MOCK_METHOD(int64_t, dropped, (), (const, override));
};

class MockBroker : public Broker {
 public:
  // By default every call succeeds; Subscribe returns a MockSubscriber.
  MockBroker();

  MOCK_METHOD(absl::Status, Publish,
              (absl::string_view topic, const Message& message), (override));
  MOCK_METHOD(absl::StatusOr<std::unique_ptr<Subscriber>>, Subscribe,
              (absl::string_view topic, Handler handler,
               SubscribeOptions options),
              (override));
  MOCK_METHOD(absl::Status, Drain, (absl::Duration timeout), (override));
};

}  // namespace micro_nats::broker

#endif  // MICRO_NATS_BROKER_MOCK_MOCK_BROKER_H_
