// Copyright 2026 The micro-nats Authors.
//
// conformance.h: the contract every Events backend passes.
//
// A parameterised gtest suite. A backend's test instantiates it with an
// EventsBackend that makes an environment (e.g. a nats-server with
// JetStream on a temporary store) in which each NewEvents() call returns an
// Events as another process would have it:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, EventsConformanceTest,
//                            ::testing::Values(MemoryEventsBackend()),
//                            EventsBackendName);
//
// Where backends differ by nature (persistence across restarts), the
// environment says so and the cases that need it run only where it holds.

#ifndef MICRO_NATS_EVENTS_TESTING_CONFORMANCE_H_
#define MICRO_NATS_EVENTS_TESTING_CONFORMANCE_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "events/events.h"
#include "events/testing/gate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::events::testing {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;

class EventsEnvironment {
 public:
  virtual ~EventsEnvironment() = default;
  // An Events with `options.streams` (created or checked), as a separate
  // process would have it: on JetStream, on its own connection.
  virtual absl::StatusOr<std::unique_ptr<Events>> NewEvents(
      EventsOptions options) = 0;

  // Capabilities.
  //
  // Whether what was stored and acknowledged outlives Restart().
  virtual bool persists_across_restarts() const { return false; }
  // Restarts the medium (a server crash and start); Events made before
  // stay usable once it is back.
  virtual absl::Status Restart() {
    return absl::UnimplementedError("no restart");
  }
  // Whether two NewEvents share streams (and so check each other's stream
  // settings).
  virtual bool shares_streams() const { return true; }
};

struct EventsBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<EventsEnvironment>>()> make;
};

inline std::string EventsBackendName(
    const ::testing::TestParamInfo<EventsBackend>& info) {
  return info.param.name;
}

// The streams every case uses.
inline std::vector<StreamConfig> ConformanceStreams() {
  return {{.name = "EV", .subjects = {"ev.>"}},
          {.name = "DEAD", .subjects = {"dead.>"}}};
}

// What a handler saw.
struct Seen {
  std::string topic;
  uint64_t sequence = 0;
  absl::Time timestamp;
  int delivery_count = 0;
  Headers headers;
  std::string body;
  absl::Time at;  // when the handler ran
};

inline Seen SeenOf(const Event& e) {
  return {e.topic,   e.sequence, e.timestamp, e.delivery_count,
          e.headers, e.body,     absl::Now()};
}

class EventsConformanceTest : public ::testing::TestWithParam<EventsBackend> {
 protected:
  static constexpr absl::Duration kWait = absl::Seconds(10);

  void SetUp() override {
    auto env = GetParam().make();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(env).value();
    events_ = NewEvents();
    ASSERT_NE(events_, nullptr);
  }

  std::unique_ptr<Events> NewEvents() {
    auto events = env_->NewEvents({.streams = ConformanceStreams()});
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? std::move(events).value() : nullptr;
  }

  uint64_t MustPublish(absl::string_view topic, std::string body,
                       Headers headers = {}) {
    auto seq = events_->Publish(
        topic, {.headers = std::move(headers), .body = std::move(body)});
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.ok() ? *seq : 0;
  }

  // A consumer that records what it sees and returns OK.
  std::unique_ptr<Consumer> Record(absl::string_view topic,
                                   micro_nats::testing::Collector<Seen>& got,
                                   ConsumeOptions options) {
    auto consumer = events_->Consume(
        topic,
        [&got](const Event& e) {
          got.Add(SeenOf(e));
          return absl::OkStatus();
        },
        std::move(options));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? std::move(consumer).value() : nullptr;
  }

  static std::vector<uint64_t> Sequences(const std::vector<Seen>& seen) {
    std::vector<uint64_t> out;
    for (const Seen& s : seen) out.push_back(s.sequence);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<EventsEnvironment> env_;
  std::unique_ptr<Events> events_;
};

TEST_P(EventsConformanceTest, PublishReturnsTheStoredSequence) {
  EXPECT_THAT(events_->Publish("ev.a", {.body = "1"}), IsOkAndHolds(1));
  EXPECT_THAT(events_->Publish("ev.b", {.body = "2"}), IsOkAndHolds(2));
  EXPECT_THAT(events_->Publish("ev.a", {.body = "3"}), IsOkAndHolds(3));
}

TEST_P(EventsConformanceTest, PublishRefusesWhatCannotBeStored) {
  EXPECT_THAT(events_->Publish("nowhere.x", {.body = "1"}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(events_->Publish("ev.*", {.body = "1"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(events_->Publish("ev.a", {.headers = {{"Bad", "a\r\nX: y"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(events_->Publish("ev.a", {.headers = {{"Bad Name", "v"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(EventsConformanceTest, ADedupIdStoresOnce) {
  MN_ASSERT_OK_AND_ASSIGN(
      uint64_t first,
      events_->Publish("ev.a", {.body = "x"}, {.dedup_id = "order-1"}));
  EXPECT_THAT(events_->Publish("ev.a", {.body = "x"}, {.dedup_id = "order-1"}),
              IsOkAndHolds(first));
  EXPECT_THAT(events_->Publish("ev.a", {.body = "y"}, {.dedup_id = "order-2"}),
              IsOkAndHolds(first + 1));
}

TEST_P(EventsConformanceTest, ConsumeAllDeliversHistoryWithItsMetadata) {
  const absl::Time before = absl::Now() - absl::Seconds(1);
  MustPublish("ev.a", "one", {{"K", "v"}});
  MustPublish("ev.b", "two");
  const absl::Time after = absl::Now() + absl::Seconds(1);
  micro_nats::testing::Collector<Seen> got;
  auto consumer = Record("ev.*", got, {.start = Start::All()});
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  std::vector<Seen> seen = got.Snapshot();
  std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) {
    return a.sequence < b.sequence;
  });
  EXPECT_EQ(seen[0].topic, "ev.a");
  EXPECT_EQ(seen[0].sequence, 1u);
  EXPECT_EQ(seen[0].body, "one");
  EXPECT_EQ(seen[0].delivery_count, 1);
  EXPECT_THAT(seen[0].headers, ::testing::Contains(::testing::Pair("K", "v")));
  EXPECT_GE(seen[0].timestamp, before);
  EXPECT_LE(seen[0].timestamp, after);
  EXPECT_EQ(seen[1].topic, "ev.b");
  EXPECT_EQ(seen[1].sequence, 2u);
  EXPECT_EQ(seen[1].body, "two");
  EXPECT_LE(seen[0].timestamp, seen[1].timestamp);
}

TEST_P(EventsConformanceTest, ConsumeFiltersByTopic) {
  MustPublish("ev.a", "1");
  MustPublish("ev.b", "2");
  MustPublish("ev.a", "3");
  micro_nats::testing::Collector<Seen> got;
  auto consumer = Record("ev.a", got, {.start = Start::All()});
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  MustPublish("ev.a", "4");
  ASSERT_TRUE(got.WaitForCount(3, kWait));
  EXPECT_THAT(Sequences(got.Snapshot()), ::testing::ElementsAre(1, 3, 4));
}

TEST_P(EventsConformanceTest, StartNewSkipsHistory) {
  MustPublish("ev.a", "old");
  micro_nats::testing::Collector<Seen> got;
  auto consumer = Record("ev.a", got, {.start = Start::New()});
  MustPublish("ev.a", "new");
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  MustPublish("ev.a", "newer");
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  EXPECT_THAT(Sequences(got.Snapshot()), ::testing::ElementsAre(2, 3));
}

TEST_P(EventsConformanceTest, StartAtASequenceOrATime) {
  for (int i = 1; i <= 4; ++i) MustPublish("ev.a", absl::StrCat(i));
  micro_nats::testing::Collector<Seen> all;
  auto first = Record("ev.a", all, {.start = Start::All()});
  ASSERT_TRUE(all.WaitForCount(4, kWait));
  absl::Time third;
  for (const Seen& s : all.Snapshot()) {
    if (s.sequence == 3) third = s.timestamp;
  }
  micro_nats::testing::Collector<Seen> from_seq;
  auto second = Record("ev.a", from_seq, {.start = Start::AtSequence(2)});
  ASSERT_TRUE(from_seq.WaitForCount(3, kWait));
  micro_nats::testing::Collector<Seen> from_time;
  auto by_time = Record("ev.a", from_time, {.start = Start::AtTime(third)});
  ASSERT_TRUE(from_time.WaitForCount(2, kWait));
  MustPublish("ev.a", "5");
  ASSERT_TRUE(from_seq.WaitForCount(4, kWait));
  ASSERT_TRUE(from_time.WaitForCount(3, kWait));
  EXPECT_THAT(Sequences(from_seq.Snapshot()),
              ::testing::ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(Sequences(from_time.Snapshot()), ::testing::ElementsAre(3, 4, 5));
}

TEST_P(EventsConformanceTest,
       ANewGroupOrAnEphemeralConsumerMustSayWhereToStart) {
  auto ok = [](const Event&) { return absl::OkStatus(); };
  EXPECT_THAT(events_->Consume("ev.a", ok, {.group = "g"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("start")));
  EXPECT_THAT(events_->Consume("ev.a", ok, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("start")));
  EXPECT_THAT(events_->Consume("ev.a", ok,
                               {.group = "bad.name", .start = Start::All()}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(events_->Consume("nowhere.a", ok, {.start = Start::All()}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(EventsConformanceTest,
       AGroupResumesWhereItLeftOffAndNeverSilentlyElsewhere) {
  for (int i = 1; i <= 3; ++i) MustPublish("ev.a", absl::StrCat(i));
  {
    micro_nats::testing::Collector<Seen> got;
    auto consumer = Record("ev.a", got, {.group = "g", .start = Start::All()});
    ASSERT_TRUE(got.WaitForCount(3, kWait));
    // Acknowledged once the handlers returned: Stop waits for them.
    ASSERT_THAT(consumer->Stop(absl::Now() + kWait), IsOk());
    EXPECT_EQ(consumer->stats().acked, 3);
  }
  MustPublish("ev.a", "4");
  MustPublish("ev.a", "5");
  auto ok = [](const Event&) { return absl::OkStatus(); };
  EXPECT_THAT(
      events_->Consume("ev.a", ok, {.group = "g", .start = Start::New()}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               ::testing::AllOf(::testing::HasSubstr("start"),
                                ::testing::HasSubstr("all"))));
  EXPECT_THAT(
      events_->Consume("ev.b", ok, {.group = "g", .start = Start::All()}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               ::testing::HasSubstr("topic")));
  EXPECT_THAT(
      events_->Consume(
          "ev.a", ok,
          {.group = "g", .start = Start::All(), .ack_wait = absl::Seconds(7)}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               ::testing::HasSubstr("ack_wait")));
  micro_nats::testing::Collector<Seen> got;
  // No start: resume; the start it was made with: resume too.
  auto consumer = Record("ev.a", got, {.group = "g"});
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  MustPublish("ev.a", "6");
  ASSERT_TRUE(got.WaitForCount(3, kWait));
  EXPECT_THAT(Sequences(got.Snapshot()), ::testing::ElementsAre(4, 5, 6));
}

TEST_P(EventsConformanceTest, MembersOfAGroupShareTheEvents) {
  micro_nats::testing::Collector<Seen> a;
  micro_nats::testing::Collector<Seen> b;
  auto first = Record("ev.>", a, {.group = "workers", .start = Start::All()});
  std::unique_ptr<Events> other = NewEvents();
  ASSERT_NE(other, nullptr);
  auto second_or = other->Consume("ev.>",
                                  [&b](const Event& e) {
                                    b.Add(SeenOf(e));
                                    return absl::OkStatus();
                                  },
                                  {.group = "workers"});
  ASSERT_THAT(second_or.status(), IsOk());
  constexpr int kCount = 40;
  for (int i = 0; i < kCount; ++i) MustPublish("ev.w", absl::StrCat(i));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return a.size() + b.size() >= kCount; }, kWait, "all handled"));
  std::vector<Seen> all = a.Snapshot();
  for (const Seen& s : b.Snapshot()) all.push_back(s);
  std::vector<uint64_t> seqs = Sequences(all);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(std::set<uint64_t>(seqs.begin(), seqs.end()).size(),
            static_cast<size_t>(kCount));
}

TEST_P(EventsConformanceTest, AFailedHandlerGetsTheEventAgainAfterTheBackoff) {
  micro_nats::testing::Collector<Seen> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events_->Consume("ev.a",
                                      [&got](const Event& e) -> absl::Status {
                                        got.Add(SeenOf(e));
                                        if (e.delivery_count == 1)
                                          return absl::UnavailableError("busy");
                                        if (e.delivery_count == 2)
                                          throw std::runtime_error("boom");
                                        return absl::OkStatus();
                                      },
                                      {.start = Start::All(),
                                       .backoff = {absl::Milliseconds(100),
                                                   absl::Milliseconds(200)}}));
  MustPublish("ev.a", "x");
  ASSERT_TRUE(got.WaitForCount(3, kWait));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().acked == 1; }, kWait, "acked"));
  std::vector<Seen> seen = got.Snapshot();
  EXPECT_EQ(seen[0].delivery_count, 1);
  EXPECT_EQ(seen[1].delivery_count, 2);
  EXPECT_EQ(seen[2].delivery_count, 3);
  EXPECT_EQ(seen[2].sequence, seen[0].sequence);
  // The backoff is a lower bound on the gap (the 1st failure waits 100 ms,
  // the 2nd 200 ms); some slack for clock granularity.
  EXPECT_GE(seen[1].at - seen[0].at, absl::Milliseconds(90));
  EXPECT_GE(seen[2].at - seen[1].at, absl::Milliseconds(180));
  ConsumerStats stats = consumer->stats();
  EXPECT_EQ(stats.delivered, 3);
  EXPECT_EQ(stats.failed, 2);
  EXPECT_EQ(stats.dead_lettered, 0);
}

TEST_P(EventsConformanceTest, AfterMaxDeliveriesTheEventIsDeadLetteredOnce) {
  std::atomic<int> calls{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume("ev.a",
                       [&calls](const Event&) {
                         ++calls;
                         return absl::InternalError("cannot\r\nparse");
                       },
                       {.start = Start::All(),
                        .max_deliveries = 3,
                        .backoff = {absl::Milliseconds(10)}}));
  micro_nats::testing::Collector<Seen> dead;
  auto dead_consumer = Record("dead.>", dead, {.start = Start::All()});
  const uint64_t seq = MustPublish("ev.a", "poison", {{"K", "v"}});
  ASSERT_TRUE(dead.WaitForCount(1, kWait));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().dead_lettered == 1; }, kWait, "counted"));
  const Seen d = dead.Snapshot()[0];
  EXPECT_EQ(d.topic, "dead.ev.a");
  EXPECT_EQ(d.body, "poison");
  EXPECT_EQ(d.headers.at("K"), "v");
  EXPECT_EQ(d.headers.at(std::string(kDeliveryCountHeader)), "3");
  EXPECT_EQ(d.headers.at(std::string(kOriginalTopicHeader)), "ev.a");
  EXPECT_EQ(d.headers.at(std::string(kOriginalSequenceHeader)),
            absl::StrCat(seq));
  EXPECT_THAT(d.headers.at(std::string(kDeadReasonHeader)),
              ::testing::HasSubstr("INTERNAL: cannot  parse"));
  // Acknowledged there: not delivered again, not dead-lettered twice.
  MustPublish("ev.a", "marker");
  ASSERT_TRUE(micro_nats::testing::Eventually([&] { return calls.load() >= 4; },
                                              kWait, "the marker"));
  ASSERT_THAT(consumer->Stop(absl::Now() + kWait), IsOk());
  EXPECT_EQ(dead.size(), 1u);
  ConsumerStats stats = consumer->stats();
  EXPECT_EQ(stats.dead_lettered, 1);
  EXPECT_EQ(stats.acked, 0);
}

TEST_P(EventsConformanceTest, InfoShowsTheStreamAGroupAndItsDeadLetters) {
  EXPECT_THAT(events_->Info("nostream.x"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(events_->Info("ev.i", "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  Gate gate;
  std::atomic<bool> a_held{false};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume("ev.i",
                       [&](const Event& e) -> absl::Status {
                         if (e.body == "poison") {
                           return absl::InternalError("poison");
                         }
                         // "a" fails once, then is held: in flight and
                         // redelivered.
                         if (e.body == "a" && e.delivery_count == 1) {
                           return absl::UnavailableError("once");
                         }
                         if (e.body == "a") a_held = true;
                         gate.Wait();
                         return absl::OkStatus();
                       },
                       {.group = "info",
                        .start = Start::All(),
                        .max_deliveries = 2,
                        .backoff = {absl::Milliseconds(10)},
                        .max_in_flight = 1}));
  const uint64_t poison = MustPublish("ev.i", "poison");
  const uint64_t a = MustPublish("ev.i", "a");
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return a_held.load() && consumer->stats().dead_lettered == 1; },
      kWait, "poison dead-lettered, a held"));
  // Not delivered while "a" holds the only place in flight.
  MustPublish("ev.i", "b");
  const uint64_t last = MustPublish("ev.i", "c");
  MN_ASSERT_OK_AND_ASSIGN(TopicInfo info, events_->Info("ev.i", "info"));
  EXPECT_EQ(info.stream, "EV");
  EXPECT_LE(info.first_sequence, poison);
  EXPECT_EQ(info.last_sequence, last);
  EXPECT_GE(info.messages, 4);
  EXPECT_GT(info.bytes, 0);
  EXPECT_EQ(info.dead_lettered, 1);
  ASSERT_TRUE(info.group.has_value());
  EXPECT_EQ(info.group->name, "info");
  EXPECT_EQ(info.group->pending, 2);  // b and c
  EXPECT_EQ(info.group->in_flight, 1);
  EXPECT_EQ(info.group->redelivered, 1);
  EXPECT_EQ(info.group->ack_floor, poison);
  EXPECT_LT(poison, a);
  gate.Open();
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] {
        auto now = events_->Info("ev.i", "info");
        return now.ok() && now->group->pending == 0 &&
               now->group->in_flight == 0 && now->group->ack_floor == last;
      },
      kWait, "all acknowledged"));
  // Without a group: the stream alone.
  MN_ASSERT_OK_AND_ASSIGN(info, events_->Info("ev.i"));
  EXPECT_FALSE(info.group.has_value());
  EXPECT_EQ(info.last_sequence, last);
}

TEST_P(EventsConformanceTest, APoisonEventDoesNotStopThoseAfterIt) {
  micro_nats::testing::Collector<Seen> good;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events_->Consume("ev.a",
                                      [&good](const Event& e) -> absl::Status {
                                        if (e.body == "poison")
                                          return absl::InternalError("poison");
                                        good.Add(SeenOf(e));
                                        return absl::OkStatus();
                                      },
                                      {.group = "p",
                                       .start = Start::All(),
                                       .max_deliveries = 2,
                                       .backoff = {absl::Milliseconds(10)},
                                       .max_in_flight = 1}));
  MustPublish("ev.a", "poison");
  for (int i = 0; i < 5; ++i) MustPublish("ev.a", absl::StrCat(i));
  ASSERT_TRUE(good.WaitForCount(5, kWait));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().dead_lettered == 1; }, kWait,
      "the poison dead-lettered"));
}

TEST_P(EventsConformanceTest, EventsInFlightStayWithinTheBound) {
  Gate gate;
  std::atomic<int> running{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume("ev.a",
                       [&](const Event&) {
                         ++running;
                         gate.Wait();
                         return absl::OkStatus();
                       },
                       {.start = Start::All(), .max_in_flight = 2}));
  for (int i = 0; i < 10; ++i) MustPublish("ev.a", absl::StrCat(i));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return running.load() == 2; }, kWait, "two running"));
  EXPECT_EQ(consumer->stats().in_flight, 2);
  gate.Open();
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().acked == 10; }, kWait, "all acked"));
  EXPECT_EQ(consumer->stats().max_in_flight_seen, 2);
}

TEST_P(EventsConformanceTest, AHandlerLongerThanAckWaitKeepsItsEvent) {
  std::atomic<int> calls{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events_->Consume("ev.a",
                                      [&calls](const Event&) {
                                        ++calls;
                                        // Work longer than ack_wait (a stand-in
                                        // for a slow handler, not
                                        // synchronisation).
                                        absl::SleepFor(absl::Milliseconds(900));
                                        return absl::OkStatus();
                                      },
                                      {.group = "slow",
                                       .start = Start::All(),
                                       .ack_wait = absl::Milliseconds(300)}));
  MustPublish("ev.a", "x");
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().acked == 1; }, kWait, "acked"));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(consumer->stats().delivered, 1);
}

TEST_P(EventsConformanceTest, StopWaitsForRunningHandlersAndEndsDelivery) {
  std::atomic<int> calls{0};
  std::atomic<bool> returned{false};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events_->Consume(
          "ev.a",
          [&](const Event&) {
            ++calls;
            absl::SleepFor(absl::Milliseconds(200));
            returned = true;
            return absl::OkStatus();
          },
          {.group = "s", .start = Start::All(), .max_in_flight = 1}));
  MustPublish("ev.a", "1");
  ASSERT_TRUE(micro_nats::testing::Eventually([&] { return calls.load() == 1; },
                                              kWait, "a call"));
  ASSERT_THAT(consumer->Stop(absl::Now() + kWait), IsOk());
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(consumer->stats().acked, 1);
  MustPublish("ev.a", "2");
  EXPECT_THAT(consumer->Stop(absl::Now() + kWait), IsOk());  // idempotent
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(EventsConformanceTest, AStreamWithOtherSettingsIsAnErrorNamingThem) {
  if (!env_->shares_streams()) GTEST_SKIP() << "streams are per instance";
  std::vector<StreamConfig> streams = ConformanceStreams();
  streams[0].max_messages = 1000;
  EXPECT_THAT(env_->NewEvents({.streams = streams}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(::testing::HasSubstr("EV"),
                                        ::testing::HasSubstr("max_messages"))));
  EXPECT_THAT(env_->NewEvents({.streams = ConformanceStreams()}), IsOk());
}

TEST_P(EventsConformanceTest, StoredEventsAndGroupsOutliveARestart) {
  if (!env_->persists_across_restarts()) {
    GTEST_SKIP() << "this backend does not persist";
  }
  for (int i = 1; i <= 3; ++i) MustPublish("ev.a", absl::StrCat(i));
  {
    micro_nats::testing::Collector<Seen> got;
    auto consumer = Record(
        "ev.a", got, {.group = "g", .start = Start::All(), .max_in_flight = 1});
    ASSERT_TRUE(got.WaitForCount(3, kWait));
    ASSERT_THAT(consumer->Stop(absl::Now() + kWait), IsOk());
  }
  MustPublish("ev.a", "4");
  ASSERT_THAT(env_->Restart(), IsOk());
  micro_nats::testing::Collector<Seen> got;
  std::unique_ptr<Consumer> consumer;
  // The server reloads its streams after it accepts clients.
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] {
        auto c = events_->Consume("ev.a",
                                  [&got](const Event& e) {
                                    got.Add(SeenOf(e));
                                    return absl::OkStatus();
                                  },
                                  {.group = "g"});
        if (c.ok()) consumer = std::move(c).value();
        return consumer != nullptr;
      },
      kWait, "the group back"));
  EXPECT_THAT(events_->Publish("ev.a", {.body = "5"}), IsOkAndHolds(5));
  // At least once: the events not acknowledged before the crash come (a
  // crash may also lose the record of recent acks, whose events then come
  // again), and nothing else.
  auto has = [&](uint64_t seq) {
    std::vector<uint64_t> seqs = Sequences(got.Snapshot());
    return std::find(seqs.begin(), seqs.end(), seq) != seqs.end();
  };
  ASSERT_TRUE(micro_nats::testing::Eventually([&] { return has(4) && has(5); },
                                              kWait, "events 4 and 5"));
  for (uint64_t seq : Sequences(got.Snapshot())) {
    EXPECT_GE(seq, 1u);
    EXPECT_LE(seq, 5u);
  }
}

// What PublishAsync's `done` calls gave, by call.
class AsyncResults {
 public:
  explicit AsyncResults(int n) : results_(n), calls_(n, 0) {}
  PublishDone For(int i) {
    return [this, i](absl::StatusOr<uint64_t> sequence) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[i] = std::move(sequence);
      ++calls_[i];
    };
  }
  std::vector<absl::StatusOr<uint64_t>> results() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  std::vector<int> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<absl::StatusOr<uint64_t>> results_;
  std::vector<int> calls_;
};

TEST_P(EventsConformanceTest, PublishAsyncStoresInCallOrderAndCallsDoneOnce) {
  constexpr int kCount = 50;
  AsyncResults got(kCount);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_THAT(events_->PublishAsync("ev.a", {.body = absl::StrCat(i)}, {},
                                      got.For(i)),
                IsOk());
  }
  ASSERT_THAT(events_->FlushPublishes(absl::Now() + kWait), IsOk());
  EXPECT_THAT(got.calls(), ::testing::Each(1));
  std::vector<absl::StatusOr<uint64_t>> results = got.results();
  for (int i = 0; i < kCount; ++i) {
    EXPECT_THAT(results[i], IsOkAndHolds(static_cast<uint64_t>(i + 1)))
        << "publish " << i;
  }
  // Stored as sent: a consumer of all sees the bodies in that order.
  micro_nats::testing::Collector<Seen> seen;
  auto consumer =
      Record("ev.a", seen, {.start = Start::All(), .max_in_flight = 1});
  ASSERT_TRUE(seen.WaitForCount(kCount, kWait));
  std::vector<Seen> events = seen.Snapshot();
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(events[i].body, absl::StrCat(i));
}

TEST_P(EventsConformanceTest, PublishAsyncWaitsForRoomUntilItsDeadline) {
  auto events = env_->NewEvents(
      {.streams = ConformanceStreams(), .max_publish_in_flight = 2});
  ASSERT_TRUE(events.ok()) << events.status();
  // After the events: opened (by its destructor) before they are destroyed.
  Gate gate;
  AsyncResults got(4);
  auto held = [&](int i) {
    PublishDone record = got.For(i);
    return [&gate, record](absl::StatusOr<uint64_t> sequence) {
      gate.Wait();  // its slot stays taken meanwhile
      record(std::move(sequence));
    };
  };
  ASSERT_THAT((*events)->PublishAsync("ev.a", {.body = "0"}, {}, held(0)),
              IsOk());
  ASSERT_THAT((*events)->PublishAsync("ev.a", {.body = "1"}, {}, held(1)),
              IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT((*events)->PublishAsync(
                  "ev.a", {.body = "2"},
                  {.deadline = start + absl::Milliseconds(200)}, got.For(2)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
  EXPECT_THAT((*events)->FlushPublishes(absl::Now() + absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  gate.Open();
  ASSERT_THAT((*events)->FlushPublishes(absl::Now() + kWait), IsOk());
  // The refused one was never sent: the next takes sequence 3.
  ASSERT_THAT((*events)->PublishAsync("ev.a", {.body = "3"}, {}, got.For(3)),
              IsOk());
  ASSERT_THAT((*events)->FlushPublishes(absl::Now() + kWait), IsOk());
  EXPECT_THAT(got.calls(), ::testing::ElementsAre(1, 1, 0, 1));
  std::vector<absl::StatusOr<uint64_t>> results = got.results();
  EXPECT_THAT(results[0], IsOkAndHolds(1));
  EXPECT_THAT(results[1], IsOkAndHolds(2));
  EXPECT_THAT(results[3], IsOkAndHolds(3));
}

TEST_P(EventsConformanceTest, PublishAsyncRefusesWhatCannotBeStored) {
  AsyncResults got(5);
  EXPECT_THAT(events_->PublishAsync("ev.*", {.body = "1"}, {}, got.For(0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(events_->PublishAsync("ev.a", {.headers = {{"Bad", "a\r\nX: y"}}},
                                    {}, got.For(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(events_->PublishAsync("ev.a", {.body = "1"}, {}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // No stream: said at once where the backend knows, else to `done`.
  absl::Status nowhere =
      events_->PublishAsync("nowhere.x", {.body = "1"}, {}, got.For(2));
  ASSERT_THAT(events_->FlushPublishes(absl::Now() + kWait), IsOk());
  if (nowhere.ok()) {
    EXPECT_THAT(got.results()[2], StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(got.calls(), ::testing::ElementsAre(0, 0, 1, 0, 0));
  } else {
    EXPECT_THAT(nowhere, StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(got.calls(), ::testing::Each(0));
  }
  // Nothing was stored by them.
  EXPECT_THAT(events_->Publish("ev.a", {.body = "ok"}), IsOkAndHolds(1));
}

}  // namespace micro_nats::events::testing

#endif  // MICRO_NATS_EVENTS_TESTING_CONFORMANCE_H_
