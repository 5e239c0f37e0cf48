// Copyright 2026 The micro-nats Authors.

#include "broker/mock/mock_broker.h"

namespace micro_nats::broker {

using ::testing::_;
using ::testing::Return;

MockBroker::MockBroker() {
  ON_CALL(*this, Publish(_, _)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Drain(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Subscribe(_, _, _))
      .WillByDefault([](absl::string_view, Handler, SubscribeOptions)
                         -> absl::StatusOr<std::unique_ptr<Subscriber>> {
        auto sub = std::make_unique<::testing::NiceMock<MockSubscriber>>();
        ON_CALL(*sub, Unsubscribe()).WillByDefault(Return(absl::OkStatus()));
        return std::unique_ptr<Subscriber>(std::move(sub));
      });
}

}  // namespace micro_nats::broker
