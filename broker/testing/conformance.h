// Copyright 2026 The micro-nats Authors.
//
// conformance.h: the contract every Broker backend passes.
//
// A parameterised gtest suite. A backend's test includes this header once
// and instantiates the suite with a BrokerBackend that makes an environment
// (e.g. a nats-server) in which each NewBroker() call returns a broker on its
// own connection, as separate processes would have:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, BrokerConformanceTest,
//                            ::testing::Values(MemoryBrokerBackend()),
//                            BrokerBackendName);
//
// Third-party backends can run it the same way.

#ifndef MICRO_NATS_BROKER_TESTING_CONFORMANCE_H_
#define MICRO_NATS_BROKER_TESTING_CONFORMANCE_H_

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::broker::testing {

class BrokerEnvironment {
 public:
  virtual ~BrokerEnvironment() = default;
  // A new broker, on its own connection to the shared medium.
  virtual absl::StatusOr<std::unique_ptr<Broker>> NewBroker(
      BrokerOptions options) = 0;

  // Capabilities: where backends differ by design, stated and tested.
  //
  // The largest body Publish accepts: the memory backend's constant, NATS's
  // server max_payload (1 MiB by default).
  virtual size_t max_body_bytes() const { return 1 << 20; }
};

struct BrokerBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<BrokerEnvironment>>()> make;
};

inline std::string BrokerBackendName(
    const ::testing::TestParamInfo<BrokerBackend>& info) {
  return info.param.name;
}

class BrokerConformanceTest : public ::testing::TestWithParam<BrokerBackend> {
 protected:
  static constexpr absl::Duration kWait = absl::Seconds(10);

  void SetUp() override {
    auto env = GetParam().make();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(env).value();
    publisher_ = NewBroker();
    subscriber_ = NewBroker();
    ASSERT_NE(publisher_, nullptr);
    ASSERT_NE(subscriber_, nullptr);
  }

  std::unique_ptr<Broker> NewBroker(BrokerOptions options = {}) {
    if (!options.on_error) {
      options.on_error = [this](const absl::Status& s) { errors_.Add(s); };
    }
    auto broker = env_->NewBroker(std::move(options));
    EXPECT_TRUE(broker.ok()) << broker.status();
    return broker.ok() ? std::move(broker).value() : nullptr;
  }

  // Subscribes on subscriber_ and records every event.
  std::unique_ptr<Subscriber> Record(
      const std::string& topic, micro_nats::testing::Collector<Event>& into,
      const std::string& queue = "", Broker* on = nullptr) {
    auto sub = (on ? on : subscriber_.get())
                   ->Subscribe(topic,
                               [&into](const Event& e) {
                                 into.Add(e);
                                 return absl::OkStatus();
                               },
                               {.queue = queue});
    EXPECT_TRUE(sub.ok()) << sub.status();
    return sub.ok() ? std::move(sub).value() : nullptr;
  }

  std::unique_ptr<BrokerEnvironment> env_;
  std::unique_ptr<Broker> publisher_;
  std::unique_ptr<Broker> subscriber_;
  micro_nats::testing::Collector<absl::Status> errors_;
};

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;

TEST_P(BrokerConformanceTest, PublishedMessageReachesSubscriber) {
  Collector<Event> got;
  auto sub = Record("greetings", got);
  ASSERT_THAT(publisher_->Publish("greetings", {.body = "hello"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot()[0].topic, "greetings");
  EXPECT_EQ(got.Snapshot()[0].message.body, "hello");
}

TEST_P(BrokerConformanceTest, HeadersRoundTrip) {
  Collector<Event> got;
  auto sub = Record("h", got);
  Headers headers = {{"Micro-Id", "abc-1"},
                     {"Content-Type", "application/json"},
                     {"X-Empty-Ish", "v"}};
  ASSERT_THAT(publisher_->Publish("h", {.headers = headers, .body = "{}"}),
              IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot()[0].message.headers, headers);
}

// NATS headers cannot carry a blank value and trim the others (nats.c);
// every backend delivers that form (WireHeaders), and a blank header never
// corrupts the ones after it (nats.c 3.4.1 did, issue 22's fuzzing).
TEST_P(BrokerConformanceTest, BlankHeadersArriveAbsentAndValuesTrimmed) {
  Collector<Event> got;
  auto sub = Record("h", got);
  ASSERT_THAT(
      publisher_->Publish(
          "h", {.headers = {{"A", ""}, {"B", " 2 "}, {"Z", " "}}, .body = "x"}),
      IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot()[0].message.headers, (Headers{{"B", "2"}}));
}

TEST_P(BrokerConformanceTest, EmptyAndBinaryBodies) {
  Collector<Event> got;
  auto sub = Record("bin", got);
  const std::string binary("\0\x01\xff\n\r\0", 6);
  ASSERT_THAT(publisher_->Publish("bin", {.body = ""}), IsOk());
  ASSERT_THAT(publisher_->Publish("bin", {.body = binary}), IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  EXPECT_EQ(got.Snapshot()[0].message.body, "");
  EXPECT_EQ(got.Snapshot()[1].message.body, binary);
}

TEST_P(BrokerConformanceTest, LargeBody) {
  Collector<Event> got;
  auto sub = Record("large", got);
  std::string body(512 * 1024, 'x');
  for (size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>(i);
  ASSERT_THAT(publisher_->Publish("large", {.body = body}), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot()[0].message.body, body);
}

TEST_P(BrokerConformanceTest, OversizedBodyIsInvalidArgument) {
  const size_t size = env_->max_body_bytes() + 1;
  std::string body(size, 'x');
  EXPECT_THAT(publisher_->Publish("big", {.body = body}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr(std::to_string(size))));
}

TEST_P(BrokerConformanceTest, FanOutToEverySubscriber) {
  constexpr int kSubscribers = 5;
  std::vector<std::unique_ptr<Collector<Event>>> got;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < kSubscribers; ++i) {
    got.push_back(std::make_unique<Collector<Event>>());
    subs.push_back(Record("fan", *got.back()));
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(publisher_->Publish("fan", {.body = std::to_string(i)}),
                IsOk());
  }
  for (auto& collector : got) {
    ASSERT_TRUE(collector->WaitForCount(10, kWait));
  }
}

TEST_P(BrokerConformanceTest, QueueGroupDeliversEachMessageOncePerGroup) {
  constexpr int kMessages = 300;
  Collector<Event> group_a, group_b;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < 3; ++i) {
    subs.push_back(Record("jobs", group_a, "a"));
    subs.push_back(Record("jobs", group_b, "b"));
  }
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_THAT(publisher_->Publish("jobs", {.body = std::to_string(i)}),
                IsOk());
  }
  ASSERT_TRUE(group_a.WaitForCount(kMessages, kWait));
  ASSERT_TRUE(group_b.WaitForCount(kMessages, kWait));
  // Nothing more arrives: a marker published after the jobs on a plain
  // subscription comes through while the groups stay at kMessages.
  Collector<Event> marker;
  auto marker_sub = Record("jobs.done", marker);
  ASSERT_THAT(publisher_->Publish("jobs.done", {.body = "end"}), IsOk());
  ASSERT_TRUE(marker.WaitForCount(1, kWait));
  for (auto* group : {&group_a, &group_b}) {
    std::set<std::string> bodies;
    for (const Event& e : group->Snapshot()) bodies.insert(e.message.body);
    EXPECT_EQ(group->size(), static_cast<size_t>(kMessages));
    EXPECT_EQ(bodies.size(), static_cast<size_t>(kMessages));
  }
}

TEST_P(BrokerConformanceTest, QueueGroupUsesEveryMember) {
  constexpr int kMembers = 3;
  std::vector<std::unique_ptr<Collector<Event>>> got;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < kMembers; ++i) {
    got.push_back(std::make_unique<Collector<Event>>());
    subs.push_back(Record("spread", *got.back(), "workers"));
  }
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_THAT(publisher_->Publish("spread", {.body = "x"}), IsOk());
  }
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] {
        size_t total = 0;
        for (auto& c : got) total += c->size();
        return total == kMessages;
      },
      kWait, "all messages delivered"));
  for (auto& c : got) EXPECT_GT(c->size(), 0u);
}

TEST_P(BrokerConformanceTest, QueueMemberAndPlainSubscriberBothReceive) {
  Collector<Event> queued, plain;
  auto a = Record("mixed", queued, "q");
  auto b = Record("mixed", plain);
  ASSERT_THAT(publisher_->Publish("mixed", {.body = "1"}), IsOk());
  ASSERT_TRUE(queued.WaitForCount(1, kWait));
  ASSERT_TRUE(plain.WaitForCount(1, kWait));
}

TEST_P(BrokerConformanceTest, StarMatchesExactlyOneToken) {
  Collector<Event> got;
  auto sub = Record("orders.*.created", got);
  ASSERT_THAT(publisher_->Publish("orders.eu.created", {.body = "1"}), IsOk());
  ASSERT_THAT(publisher_->Publish("orders.eu.west.created", {.body = "2"}),
              IsOk());
  ASSERT_THAT(publisher_->Publish("orders.created", {.body = "3"}), IsOk());
  ASSERT_THAT(publisher_->Publish("orders.us.created", {.body = "4"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  auto events = got.Snapshot();
  EXPECT_EQ(events[0].topic, "orders.eu.created");
  EXPECT_EQ(events[0].message.body, "1");
  EXPECT_EQ(events[1].topic, "orders.us.created");
  EXPECT_EQ(events[1].message.body, "4");
}

TEST_P(BrokerConformanceTest, GreaterThanMatchesTheRest) {
  Collector<Event> got;
  auto sub = Record("logs.>", got);
  ASSERT_THAT(publisher_->Publish("logs", {.body = "no"}), IsOk());
  ASSERT_THAT(publisher_->Publish("logs.a", {.body = "1"}), IsOk());
  ASSERT_THAT(publisher_->Publish("logs.a.b.c", {.body = "2"}), IsOk());
  ASSERT_THAT(publisher_->Publish("other.a", {.body = "no"}), IsOk());
  ASSERT_THAT(publisher_->Publish("logs.z", {.body = "3"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(3, kWait));
  std::vector<std::string> bodies;
  for (const Event& e : got.Snapshot()) bodies.push_back(e.message.body);
  EXPECT_THAT(bodies, ::testing::ElementsAre("1", "2", "3"));
}

TEST_P(BrokerConformanceTest, OrderIsKeptPerPublisher) {
  constexpr int kMessages = 1000;
  Collector<Event> got;
  auto sub = Record("ordered", got);
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_THAT(publisher_->Publish("ordered", {.body = std::to_string(i)}),
                IsOk());
  }
  ASSERT_TRUE(got.WaitForCount(kMessages, kWait));
  auto events = got.Snapshot();
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(events[i].message.body, std::to_string(i));
  }
}

TEST_P(BrokerConformanceTest, PublishFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  Collector<Event> got;
  auto sub = Record("many", got);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!publisher_
                 ->Publish("many", {.headers = {{"T", std::to_string(t)}},
                                    .body = std::to_string(i)})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  ASSERT_TRUE(got.WaitForCount(kThreads * kPerThread, kWait));
  std::map<std::string, int> next;  // per publishing thread, in order
  for (const Event& e : got.Snapshot()) {
    int& expected = next[e.message.headers.at("T")];
    ASSERT_EQ(e.message.body, std::to_string(expected));
    ++expected;
  }
  EXPECT_EQ(next.size(), static_cast<size_t>(kThreads));
}

TEST_P(BrokerConformanceTest, UnsubscribeStopsDeliveryBeforeReturning) {
  std::atomic<bool> unsubscribed{false};
  std::atomic<int> late{0};
  Collector<int> calls;
  auto sub = subscriber_->Subscribe("stop", [&](const Event&) {
    if (unsubscribed) ++late;
    calls.Add(1);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  std::atomic<bool> publishing{true};
  std::thread publisher([&] {
    while (publishing) publisher_->Publish("stop", {.body = "x"}).IgnoreError();
  });
  ASSERT_TRUE(calls.WaitForCount(10, kWait));
  ASSERT_THAT((*sub)->Unsubscribe(), IsOk());
  unsubscribed = true;
  const size_t at_unsubscribe = calls.size();
  // Publishing goes on past a marker subscription's first message.
  Collector<Event> marker;
  auto marker_sub = Record("stop", marker);
  ASSERT_TRUE(marker.WaitForCount(100, kWait));
  publishing = false;
  publisher.join();
  EXPECT_EQ(late, 0);
  EXPECT_EQ(calls.size(), at_unsubscribe);
  EXPECT_THAT((*sub)->Unsubscribe(), IsOk());  // a second time is a no-op
}

TEST_P(BrokerConformanceTest, SubscriberReportsItsTopicAndQueue) {
  Collector<Event> got;
  auto sub = Record("a.*", got, "grp");
  EXPECT_EQ(sub->topic(), "a.*");
  EXPECT_EQ(sub->queue(), "grp");
}

TEST_P(BrokerConformanceTest, HandlerErrorIsReportedAndDeliveryContinues) {
  Collector<std::string> got;
  auto sub = subscriber_->Subscribe("err", [&](const Event& e) {
    got.Add(e.message.body);
    if (e.message.body == "bad") return absl::InternalError("cannot handle");
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("err", {.body = "bad"}), IsOk());
  ASSERT_THAT(publisher_->Publish("err", {.body = "good"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  ASSERT_TRUE(errors_.WaitForCount(1, kWait));
  EXPECT_THAT(errors_.Snapshot()[0],
              StatusIs(absl::StatusCode::kInternal,
                       ::testing::HasSubstr("cannot handle")));
}

TEST_P(BrokerConformanceTest, HandlerExceptionIsReportedAndDeliveryContinues) {
  Collector<std::string> got;
  auto sub = subscriber_->Subscribe("throw", [&](const Event& e) {
    got.Add(e.message.body);
    if (e.message.body == "bad") throw std::runtime_error("boom");
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("throw", {.body = "bad"}), IsOk());
  ASSERT_THAT(publisher_->Publish("throw", {.body = "good"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  ASSERT_TRUE(errors_.WaitForCount(1, kWait));
  EXPECT_THAT(errors_.Snapshot()[0], StatusIs(absl::StatusCode::kInternal,
                                              ::testing::HasSubstr("boom")));
}

TEST_P(BrokerConformanceTest, InvalidPublishTopicsAreRejected) {
  for (const char* topic :
       {"", "a b", "a..b", ".a", "a.", "a.*", "a.>", ">", "a\tb", "a*"}) {
    EXPECT_THAT(publisher_->Publish(topic, {.body = "x"}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "topic '" << topic << "'";
  }
  EXPECT_THAT(publisher_->Publish(std::string(300, 'a'), {.body = "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(BrokerConformanceTest, InvalidSubscribeTopicsAndQueuesAreRejected) {
  auto handler = [](const Event&) { return absl::OkStatus(); };
  for (const char* topic : {"", "a b", "a..b", "a.>.b", "a*", "a.b>", "*a"}) {
    EXPECT_THAT(subscriber_->Subscribe(topic, handler),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "topic '" << topic << "'";
  }
  // Queue groups follow subject rules without wildcards, as in NATS.
  for (const char* queue :
       {"bad queue", "*", ">", "a.*", "a..b", ".a", "a.", "a.>", "tab\there"}) {
    EXPECT_THAT(subscriber_->Subscribe("ok", handler, {.queue = queue}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "queue '" << queue << "'";
  }
  EXPECT_THAT(subscriber_->Subscribe("ok", handler, {.queue = "billing.eu"}),
              IsOk());
  EXPECT_THAT(subscriber_->Subscribe("ok", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// A header that would break the NATS header block (or inject a header of
// its own) is refused by every backend, memory included.
TEST_P(BrokerConformanceTest, BadHeadersAreInvalidArgument) {
  Collector<Event> got;
  auto sub = Record("headers.checked", got);
  for (const Headers& bad :
       std::vector<Headers>{{{"X\r\nInjected", "yes"}},
                            {{"A:B", "x"}},
                            {{"Has Space", "x"}},
                            {{"", "x"}},
                            {{"Value", "x\r\nInjected: yes"}},
                            {{"Value", "line\nbreak"}}}) {
    EXPECT_THAT(
        publisher_->Publish("headers.checked", {.headers = bad, .body = "x"}),
        StatusIs(absl::StatusCode::kInvalidArgument))
        << bad.begin()->first;
  }
  ASSERT_THAT(publisher_->Publish(
                  "headers.checked",
                  {.headers = {{"Good-Name_1", "any: value"}}, .body = "ok"}),
              IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_THAT(
      got.Snapshot()[0].message.headers,
      ::testing::ElementsAre(::testing::Pair("Good-Name_1", "any: value")));
}

TEST_P(BrokerConformanceTest, PublishWithoutSubscribersSucceeds) {
  EXPECT_THAT(publisher_->Publish("nobody.listens", {.body = "x"}), IsOk());
}

TEST_P(BrokerConformanceTest, SlowHandlerDoesNotBlockThePublisher) {
  std::mutex gate;
  gate.lock();
  Collector<int> started;
  auto sub = subscriber_->Subscribe("slow", [&](const Event&) {
    started.Add(1);
    std::lock_guard<std::mutex> wait(gate);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("slow", {.body = "first"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, kWait));
  // The handler is blocked; publishing 100 more still completes.
  for (int i = 0; i < 100; ++i) {
    ASSERT_THAT(publisher_->Publish("slow", {.body = "x"}), IsOk());
  }
  gate.unlock();
  ASSERT_TRUE(started.WaitForCount(101, kWait));
}

TEST_P(BrokerConformanceTest, OverflowingSubscriberIsReported) {
  auto subscriber =
      NewBroker({.on_error = [this](const absl::Status& s) { errors_.Add(s); },
                 .max_pending_messages = 10});
  std::mutex gate;
  gate.lock();
  Collector<int> started;
  auto sub = subscriber->Subscribe("flood", [&](const Event&) {
    started.Add(1);
    std::lock_guard<std::mutex> wait(gate);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("flood", {.body = "first"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, kWait));
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(publisher_->Publish("flood", {.body = "x"}), IsOk());
  }
  // Told while the handler is still stuck, not only once it is free.
  ASSERT_TRUE(errors_.WaitForCount(1, kWait));
  EXPECT_THAT(errors_.Snapshot()[0],
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("dropped")));
  // One is being handled and ten fit: once all 200 arrived, 190 were lost,
  // every one counted.
  EXPECT_TRUE(micro_nats::testing::Eventually(
      [&] { return (*sub)->dropped() == 190; }, kWait, "190 drops counted"))
      << (*sub)->dropped();
  gate.unlock();
  EXPECT_TRUE(started.WaitForCount(11, kWait));
  EXPECT_EQ((*sub)->dropped(), 190);
}

TEST_P(BrokerConformanceTest, AThousandSubscriptionsAddFewThreads) {
  constexpr int kSubscriptions = 1000;
  const int before = micro_nats::testing::ThreadCount();
  ASSERT_GT(before, 0);
  Collector<int> delivered;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < kSubscriptions; ++i) {
    auto sub = subscriber_->Subscribe("crowd", [&delivered](const Event&) {
      delivered.Add(1);
      return absl::OkStatus();
    });
    ASSERT_THAT(sub, IsOk());
    subs.push_back(std::move(sub).value());
  }
  ASSERT_THAT(publisher_->Publish("crowd", {.body = "hello, all"}), IsOk());
  ASSERT_TRUE(delivered.WaitForCount(kSubscriptions, kWait));
  EXPECT_LE(micro_nats::testing::ThreadCount() - before, 8);
}

TEST_P(BrokerConformanceTest, DrainDeliversPendingThenRefusesWork) {
  std::mutex gate;
  gate.lock();
  Collector<std::string> got;
  auto sub = subscriber_->Subscribe("drain", [&](const Event& e) {
    std::lock_guard<std::mutex> wait(gate);
    got.Add(e.message.body);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  // A marker on another topic, published after the messages: the server
  // handles one publisher's messages in order, so when the marker arrives
  // the subscriber's side holds all six. (Two subscriptions of one message
  // have no order between them, so the marker must be a later message.)
  Collector<Event> marker;
  auto marker_sub = Record("drain-marker", marker);
  for (int i = 0; i < 6; ++i) {
    ASSERT_THAT(publisher_->Publish("drain", {.body = std::to_string(i)}),
                IsOk());
  }
  ASSERT_THAT(publisher_->Publish("drain-marker", {.body = "end"}), IsOk());
  ASSERT_TRUE(marker.WaitForCount(1, kWait));
  marker_sub.reset();
  gate.unlock();
  EXPECT_THAT(subscriber_->Drain(kWait), IsOk());
  EXPECT_THAT(got.Snapshot(),
              ::testing::ElementsAre("0", "1", "2", "3", "4", "5"));
  for (const absl::Status& e : errors_.Snapshot()) ADD_FAILURE() << e;
  EXPECT_THAT(subscriber_->Publish("drain", {.body = "late"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(subscriber_->Subscribe(
                  "drain", [](const Event&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(BrokerConformanceTest, DrainReturnsByItsDeadlineWhenAHandlerIsStuck) {
  auto gate = std::make_shared<std::mutex>();
  gate->lock();
  Collector<int> started;
  auto sub = subscriber_->Subscribe("stuck", [&started, gate](const Event&) {
    started.Add(1);
    std::lock_guard<std::mutex> wait(*gate);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("stuck", {.body = "1"}), IsOk());
  ASSERT_THAT(publisher_->Publish("stuck", {.body = "2"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, kWait));
  EXPECT_THAT(subscriber_->Drain(absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  gate->unlock();
  (*sub)->Unsubscribe().IgnoreError();
}

// After a Drain that ran out of time with a handler still running,
// Unsubscribe and the destructor wait for that handler: one that captured
// its owner must not run on after the owner is gone.
TEST_P(BrokerConformanceTest,
       UnsubscribeAfterATimedOutDrainWaitsForTheHandler) {
  for (bool destroy : {false, true}) {
    SCOPED_TRACE(destroy ? "destructor" : "Unsubscribe");
    auto broker = NewBroker();
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    Collector<int> started;
    std::atomic<bool> handler_done{false};
    auto sub = broker->Subscribe("stuck.handler",
                                 [&started, &handler_done, gate](const Event&) {
                                   started.Add(1);
                                   gate.wait();
                                   handler_done = true;
                                   return absl::OkStatus();
                                 });
    ASSERT_THAT(sub, IsOk());
    ASSERT_THAT(publisher_->Publish("stuck.handler", {.body = "1"}), IsOk());
    ASSERT_TRUE(started.WaitForCount(1, kWait));
    EXPECT_THAT(broker->Drain(absl::Milliseconds(100)),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    // The handler is released a little later: an Unsubscribe that did not
    // wait would return before it finished.
    std::thread releaser([&release] {
      absl::SleepFor(absl::Milliseconds(200));
      release.set_value();
    });
    if (destroy) {
      sub->reset();
    } else {
      EXPECT_THAT((*sub)->Unsubscribe(), IsOk());
    }
    EXPECT_TRUE(handler_done.load());
    releaser.join();
  }
}

// An on_error that publishes (to a dead-letter topic, say) is called
// outside the broker's locks and does not deadlock, for drops as for
// handler errors.
TEST_P(BrokerConformanceTest, AnErrorHandlerMayPublish) {
  Collector<Event> dead_letters;
  auto letters = Record("dead.letters", dead_letters);
  Broker* self = nullptr;
  auto broker =
      NewBroker({.on_error =
                     [&self](const absl::Status& status) {
                       self->Publish("dead.letters",
                                     {.body = std::string(status.message())})
                           .IgnoreError();
                     },
                 .max_pending_messages = 1});
  self = broker.get();
  auto gate = std::make_shared<std::mutex>();
  gate->lock();
  Collector<int> started;
  auto sub = broker->Subscribe("fails", [&started, gate](const Event&) {
    started.Add(1);
    std::lock_guard<std::mutex> wait(*gate);
    return absl::InternalError("no thanks");
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(publisher_->Publish("fails", {.body = "1"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, kWait));
  // One is handled, one waits, the rest are dropped: reported (and
  // published) while the handler is still stuck.
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(publisher_->Publish("fails", {.body = "more"}), IsOk());
  }
  ASSERT_TRUE(dead_letters.WaitForCount(1, kWait));
  EXPECT_THAT(dead_letters.Snapshot()[0].message.body,
              ::testing::HasSubstr("dropped"));
  gate->unlock();
  // The handler's own errors go the same way.
  EXPECT_TRUE(micro_nats::testing::Eventually(
      [&] {
        for (const Event& e : dead_letters.Snapshot()) {
          if (absl::StrContains(e.message.body, "no thanks")) return true;
        }
        return false;
      },
      kWait, "the handler's error as a dead letter"));
}

// An infinite deadline means "wait for it", not "already expired".
TEST_P(BrokerConformanceTest, DrainWithAnInfiniteDeadlineFinishesTheWork) {
  Collector<Event> got;
  auto sub = Record("drain.forever", got);
  ASSERT_THAT(publisher_->Publish("drain.forever", {.body = "x"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_THAT(subscriber_->Drain(absl::InfiniteDuration()), IsOk());
  EXPECT_THAT(publisher_->Drain(absl::InfiniteDuration()), IsOk());
}

}  // namespace micro_nats::broker::testing

#endif  // MICRO_NATS_BROKER_TESTING_CONFORMANCE_H_
