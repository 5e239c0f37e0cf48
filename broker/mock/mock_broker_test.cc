// Copyright 2026 The micro-nats Authors.

#include "broker/mock/mock_broker.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::broker {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;

// A consumer under test: publishes one event per order.
absl::Status PlaceOrder(Broker& broker, const std::string& id) {
  return broker.Publish("orders.created",
                        {.headers = {{"Id", id}}, .body = id});
}

TEST(MockBrokerTest, ExpectationsOnPublish) {
  MockBroker broker;
  EXPECT_CALL(broker, Publish(::testing::Eq("orders.created"),
                              Field(&Message::body, "42")))
      .WillOnce(Return(absl::UnavailableError("down")));
  EXPECT_THAT(PlaceOrder(broker, "42"),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(MockBrokerTest, DefaultsSucceed) {
  NiceMock<MockBroker> broker;
  EXPECT_THAT(PlaceOrder(broker, "1"), IsOk());
  auto sub =
      broker.Subscribe("a", [](const Event&) { return absl::OkStatus(); }, {});
  ASSERT_THAT(sub, IsOk());
  EXPECT_THAT((*sub)->Unsubscribe(), IsOk());
  EXPECT_THAT(broker.Drain(absl::Seconds(1)), IsOk());
}

}  // namespace
}  // namespace micro_nats::broker
