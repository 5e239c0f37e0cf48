// Copyright 2026 The micro-nats Authors.

#include "events/mock/mock_events.h"

namespace micro_nats::events {

using ::testing::_;
using ::testing::Return;

MockEvents::MockEvents() {
  ON_CALL(*this, Publish(_, _, _))
      .WillByDefault([this](absl::string_view, const Message&,
                            const PublishOptions&) -> absl::StatusOr<uint64_t> {
        return ++next_sequence_;
      });
  ON_CALL(*this, PublishAsync(_, _, _, _))
      .WillByDefault([this](absl::string_view, const Message&,
                            const PublishOptions&, PublishDone done) {
        done(++next_sequence_);
        return absl::OkStatus();
      });
  ON_CALL(*this, FlushPublishes(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Consume(_, _, _))
      .WillByDefault([](absl::string_view, Handler, ConsumeOptions)
                         -> absl::StatusOr<std::unique_ptr<Consumer>> {
        auto consumer = std::make_unique<::testing::NiceMock<MockConsumer>>();
        ON_CALL(*consumer, Stop(_)).WillByDefault(Return(absl::OkStatus()));
        return std::unique_ptr<Consumer>(std::move(consumer));
      });
}

}  // namespace micro_nats::events
