// Copyright 2026 The micro-nats Authors.

#include "events/memory/memory_events.h"

#include <atomic>
#include <memory>

#include "events/internal/forwarding.h"
#include "events/testing/conformance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"
#include "testing/fake_clock.h"
#include "testing/sync.h"

namespace micro_nats::events {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;

using ::micro_nats::events::testing::EventsBackend;
using ::micro_nats::events::testing::EventsBackendName;
using ::micro_nats::events::testing::EventsConformanceTest;
using ::micro_nats::events::testing::EventsEnvironment;

// Several "processes" share one in-process instance, as they share one
// JetStream server.
class MemoryEnvironment : public EventsEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Events>> NewEvents(
      EventsOptions options) override {
    // The publish bound is a process's, not the medium's: such an Events
    // gets an instance of its own (it sees no other's events).
    if (options.max_publish_in_flight !=
        EventsOptions{}.max_publish_in_flight) {
      return NewMemoryEvents({.events = std::move(options)});
    }
    if (shared_ == nullptr) {
      MN_ASSIGN_OR_RETURN(auto events,
                          NewMemoryEvents({.events = std::move(options)}));
      shared_ = std::move(events);
    }
    return std::unique_ptr<Events>(
        std::make_unique<events_internal::ForwardingEvents<Events>>(shared_));
  }
  bool shares_streams() const override { return false; }

 private:
  std::shared_ptr<Events> shared_;
};

INSTANTIATE_TEST_SUITE_P(
    Memory, EventsConformanceTest,
    ::testing::Values(EventsBackend{
        "Memory",
        []() -> absl::StatusOr<std::unique_ptr<EventsEnvironment>> {
          return std::make_unique<MemoryEnvironment>();
        }}),
    EventsBackendName);

class FakeClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scheduler_ = std::make_shared<concurrency::Scheduler>(
        concurrency::Scheduler::Options{.clock = clock_.AsFunction()});
    MN_ASSERT_OK_AND_ASSIGN(
        events_, NewMemoryEvents(
                     {.clock = clock_.AsFunction(), .scheduler = scheduler_}));
  }
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    scheduler_->ClockAdvanced();
    ASSERT_TRUE(scheduler_->WaitIdle(absl::Now() + absl::Seconds(10)));
  }

  micro_nats::testing::FakeClock clock_{absl::FromUnixSeconds(1000)};
  std::shared_ptr<concurrency::Scheduler> scheduler_;
  std::unique_ptr<Events> events_;
};

TEST_F(FakeClockTest, RedeliveryWaitsForEachBackoffStepExactly) {
  std::atomic<int> calls{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume("a",
                       [&](const Event& e) {
                         ++calls;
                         EXPECT_EQ(e.timestamp, absl::FromUnixSeconds(1000));
                         return absl::UnavailableError("no");
                       },
                       {.start = Start::All(), .max_deliveries = 4}));
  ASSERT_THAT(events_->Publish("a", {.body = "x"}), IsOkAndHolds(1));
  auto failed = [&](int n) {
    return micro_nats::testing::Eventually(
        [&] { return consumer->stats().failed == n; }, absl::Seconds(10),
        "failures");
  };
  ASSERT_TRUE(failed(1));
  Advance(absl::Milliseconds(999));  // backoff[0] = 1 s
  EXPECT_EQ(consumer->stats().delivered, 1);
  Advance(absl::Milliseconds(1));
  ASSERT_TRUE(failed(2));
  Advance(absl::Milliseconds(4999));  // backoff[1] = 5 s
  EXPECT_EQ(consumer->stats().delivered, 2);
  Advance(absl::Milliseconds(1));
  ASSERT_TRUE(failed(3));
  Advance(absl::Seconds(29));  // backoff[2] = 30 s
  EXPECT_EQ(consumer->stats().delivered, 3);
  Advance(absl::Seconds(1));
  ASSERT_TRUE(failed(4));
  // The 4th failure was the last delivery: dead-lettered, nothing waits.
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().dead_lettered == 1; }, absl::Seconds(10),
      "dead-lettered"));
  Advance(absl::Hours(1));
  EXPECT_EQ(calls.load(), 4);
}

TEST_F(FakeClockTest, TheLastDeliveryIsNotHandedOutAgainWhileItIsDeadLettered) {
  // No backoff: the event is due again at once. Its dead letter is
  // published into the same stream, which pumps this group: the event must
  // still be held then, or a 4th delivery of 3 would start.
  std::atomic<int> calls{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume(
          "a",
          [&](const Event&) {
            ++calls;
            return absl::UnavailableError("no");
          },
          {.start = Start::All(), .max_deliveries = 3, .backoff = {}}));
  ASSERT_THAT(events_->Publish("a", {.body = "x"}), IsOkAndHolds(1));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().dead_lettered == 1; }, absl::Seconds(10),
      "dead-lettered"));
  Advance(absl::Hours(1));
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(consumer->stats().delivered, 3);
}

TEST_F(FakeClockTest, StartAtTimeAndRetentionByAgeFollowTheClock) {
  ASSERT_THAT(events_->Publish("a", {.body = "1"}), IsOkAndHolds(1));
  Advance(absl::Seconds(10));
  ASSERT_THAT(events_->Publish("a", {.body = "2"}), IsOkAndHolds(2));
  micro_nats::testing::Collector<uint64_t> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume("a",
                       [&](const Event& e) {
                         got.Add(e.sequence);
                         return absl::OkStatus();
                       },
                       {.start = Start::AtTime(absl::FromUnixSeconds(1005))}));
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(10)));
  EXPECT_THAT(got.Snapshot(), ::testing::ElementsAre(2));

  MN_ASSERT_OK_AND_ASSIGN(
      auto aged,
      NewMemoryEvents({.events = {.streams = {{.name = "S",
                                               .subjects = {"s.>"},
                                               .max_age = absl::Seconds(5)}}},
                       .clock = clock_.AsFunction(),
                       .scheduler = scheduler_}));
  ASSERT_THAT(aged->Publish("s.x", {.body = "old"}), IsOkAndHolds(1));
  Advance(absl::Seconds(6));
  ASSERT_THAT(aged->Publish("s.x", {.body = "new"}), IsOkAndHolds(2));
  micro_nats::testing::Collector<uint64_t> kept;
  MN_ASSERT_OK_AND_ASSIGN(auto all, aged->Consume("s.>",
                                                  [&](const Event& e) {
                                                    kept.Add(e.sequence);
                                                    return absl::OkStatus();
                                                  },
                                                  {.start = Start::All()}));
  ASSERT_TRUE(kept.WaitForCount(1, absl::Seconds(10)));
  EXPECT_THAT(kept.Snapshot(), ::testing::ElementsAre(2));
}

TEST_F(FakeClockTest, TheDedupWindowEndsOnTheClock) {
  ASSERT_THAT(events_->Publish("a", {}, {.dedup_id = "x"}), IsOkAndHolds(1));
  Advance(absl::Minutes(2) - absl::Seconds(1));
  ASSERT_THAT(events_->Publish("a", {}, {.dedup_id = "x"}), IsOkAndHolds(1));
  Advance(absl::Seconds(1));
  ASSERT_THAT(events_->Publish("a", {}, {.dedup_id = "x"}), IsOkAndHolds(2));
}

TEST(MemoryEventsTest, ManyConsumersStartNoThreads) {
  MN_ASSERT_OK_AND_ASSIGN(auto events, NewMemoryEvents());
  const int before = micro_nats::testing::ThreadCount();
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < 200; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(
        auto c, events->Consume(absl::StrCat("t", i),
                                [](const Event&) { return absl::OkStatus(); },
                                {.start = Start::New()}));
    consumers.push_back(std::move(c));
  }
  EXPECT_LE(micro_nats::testing::ThreadCount(), before + 1);
}

}  // namespace
}  // namespace micro_nats::events
