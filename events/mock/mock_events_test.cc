// Copyright 2026 The micro-nats Authors.

#include "events/mock/mock_events.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::events {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;

// Code under test: records an order durably, de-duplicated by its id.
absl::StatusOr<uint64_t> RecordOrder(Events& events, const std::string& id) {
  return events.Publish("orders.created", {.body = id}, {.dedup_id = id});
}

TEST(MockEventsTest, ExpectationsOnPublish) {
  MockEvents events;
  EXPECT_CALL(events, Publish(::testing::Eq("orders.created"),
                              Field(&Message::body, "42"),
                              Field(&PublishOptions::dedup_id, "42")))
      .WillOnce(Return(absl::UnavailableError("down")));
  EXPECT_THAT(RecordOrder(events, "42"),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(MockEventsTest, DefaultsSucceed) {
  NiceMock<MockEvents> events;
  EXPECT_THAT(RecordOrder(events, "1"), IsOkAndHolds(1));
  EXPECT_THAT(RecordOrder(events, "2"), IsOkAndHolds(2));
  auto consumer =
      events.Consume("orders.*", [](const Event&) { return absl::OkStatus(); },
                     {.group = "billing", .start = Start::All()});
  ASSERT_THAT(consumer, IsOk());
  EXPECT_THAT((*consumer)->Stop(absl::Now()), IsOk());
}

TEST(MockEventsTest, ATestCanDriveTheHandler) {
  NiceMock<MockEvents> events;
  Handler captured;
  EXPECT_CALL(events, Consume(::testing::Eq("orders.*"), _,
                              Field(&ConsumeOptions::group, "billing")))
      .WillOnce(
          [&](absl::string_view, Handler handler,
              ConsumeOptions) -> absl::StatusOr<std::unique_ptr<Consumer>> {
            captured = std::move(handler);
            return std::unique_ptr<Consumer>(
                std::make_unique<NiceMock<MockConsumer>>());
          });
  int billed = 0;
  ASSERT_THAT(events
                  .Consume("orders.*",
                           [&](const Event& e) {
                             billed += e.body == "42" ? 1 : 0;
                             return absl::OkStatus();
                           },
                           {.group = "billing", .start = Start::All()})
                  .status(),
              IsOk());
  ASSERT_TRUE(captured);
  EXPECT_THAT(
      captured({.topic = "orders.created", .sequence = 9, .body = "42"}),
      IsOk());
  EXPECT_EQ(billed, 1);
}

TEST(MockEventsTest, PublishAsyncGivesTheNextSequenceToDoneByDefault) {
  NiceMock<MockEvents> events;
  ASSERT_THAT(events.Publish("orders.created", {.body = "1"}, {}),
              IsOkAndHolds(1));
  absl::StatusOr<uint64_t> got = absl::UnknownError("not called");
  ASSERT_THAT(events.PublishAsync(
                  "orders.created", {.body = "2"}, {},
                  [&](absl::StatusOr<uint64_t> seq) { got = std::move(seq); }),
              IsOk());
  EXPECT_THAT(got, IsOkAndHolds(2));
  EXPECT_THAT(events.FlushPublishes(absl::Now()), IsOk());
}

}  // namespace
}  // namespace micro_nats::events
