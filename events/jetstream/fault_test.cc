// Copyright 2026 The micro-nats Authors.
//
// Fault tests of durable events against a real nats-server with JetStream
// on a temporary store: the server SIGKILLed and restarted under load, a
// consumer process killed in its handler, handlers that fail, and a slow
// consumer. Each prints its counts.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "events/jetstream/jetstream_events.h"
#include "events/testing/gate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::events {
namespace {

using ::micro_nats::events::testing::Gate;
using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

constexpr char kHelperUrlEnv[] = "MN_EVENTS_FAULT_HELPER_URL";

std::vector<StreamConfig> Streams() {
  return {{.name = "EV", .subjects = {"ev.>"}},
          {.name = "DEAD", .subjects = {"dead.>"}}};
}

absl::StatusOr<std::shared_ptr<nats::Connection>> Connect(
    const std::string& url) {
  return nats::Connection::Connect({.servers = {url},
                                    .reconnect_wait = absl::Milliseconds(50),
                                    .ping_interval = absl::Milliseconds(500)});
}

// What the consumers of a group saw, across members.
class Tally {
 public:
  void Handled(const Event& e) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (e.delivery_count > 1 || !handled_.insert(e.sequence).second) {
      ++redelivered_;
    }
    handled_.insert(e.sequence);
  }
  bool HasAll(const std::set<uint64_t>& seqs) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t s : seqs) {
      if (handled_.count(s) == 0) return false;
    }
    return true;
  }
  int64_t Missing(const std::set<uint64_t>& seqs) const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t missing = 0;
    for (uint64_t s : seqs) missing += handled_.count(s) == 0 ? 1 : 0;
    return missing;
  }
  int64_t handled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(handled_.size());
  }
  int64_t redelivered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return redelivered_;
  }

 private:
  mutable std::mutex mu_;
  std::set<uint64_t> handled_;
  int64_t calls_ = 0;
  int64_t redelivered_ = 0;
};

TEST(EventsFaultTest, ServerKilledAndRestartedUnderLoadLosesNothingStored) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(auto pub_conn, Connect(server->url()));
  MN_ASSERT_OK_AND_ASSIGN(
      auto publisher,
      NewJetStreamEvents(pub_conn, {.events = {.streams = Streams()}}));
  Tally tally;
  std::vector<std::shared_ptr<nats::Connection>> conns;
  std::vector<std::unique_ptr<Events>> members;
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < 2; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(server->url()));
    MN_ASSERT_OK_AND_ASSIGN(
        auto events,
        NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
    MN_ASSERT_OK_AND_ASSIGN(auto consumer,
                            events->Consume("ev.>",
                                            [&tally](const Event& e) {
                                              tally.Handled(e);
                                              return absl::OkStatus();
                                            },
                                            {.group = "workers",
                                             .start = Start::All(),
                                             .ack_wait = absl::Seconds(2)}));
    conns.push_back(conn);
    members.push_back(std::move(events));
    consumers.push_back(std::move(consumer));
  }

  // The publisher: each event until the server says it is stored, retried
  // with the same dedup id (a retry of one stored already is not stored
  // twice).
  constexpr int kEvents = 1500;
  std::mutex mu;
  std::set<uint64_t> published;  // sequences Publish returned
  std::atomic<int> done{0};
  std::atomic<int64_t> failed_attempts{0};
  std::thread pub([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    for (int i = 0; i < kEvents && absl::Now() < give_up; ++i) {
      while (absl::Now() < give_up) {
        auto seq = publisher->Publish(
            absl::StrCat("ev.", i % 7), {.body = absl::StrCat(i)},
            {.deadline = absl::Now() + absl::Seconds(1),
             .dedup_id = absl::StrCat("p-", i)});
        if (seq.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          published.insert(*seq);
          break;
        }
        ++failed_attempts;
      }
      ++done;
    }
  });
  ASSERT_TRUE(Eventually([&] { return done.load() >= kEvents / 3; },
                         absl::Seconds(30), "a third published"));
  ASSERT_THAT(server->Kill(), IsOk());
  const int at_kill = done.load();
  // Down long enough that publishes fail and are retried.
  ASSERT_TRUE(Eventually([&] { return failed_attempts.load() >= 3; },
                         absl::Seconds(30), "publishes failing"));
  ASSERT_THAT(server->Restart(), IsOk());
  pub.join();
  std::set<uint64_t> stored;
  {
    std::lock_guard<std::mutex> lock(mu);
    stored = published;
  }
  EXPECT_EQ(done.load(), kEvents);
  EXPECT_TRUE(Eventually([&] { return tally.HasAll(stored); },
                         absl::Seconds(60), "every stored event handled"));
  int64_t acked = 0;
  int64_t dead = 0;
  int64_t bad = 0;
  for (auto& c : consumers) {
    ASSERT_THAT(c->Stop(absl::Now() + absl::Seconds(5)), IsOk());
    acked += c->stats().acked;
    dead += c->stats().dead_lettered;
    bad += c->stats().bad_input;
  }
  const int64_t lost = tally.Missing(stored);
  std::printf(
      "kill/restart: published %zu (killed after %d; %lld failed attempts "
      "retried), acknowledged %lld, handled %lld, redelivered %lld, "
      "dead-lettered %lld, lost %lld\n",
      stored.size(), at_kill, static_cast<long long>(failed_attempts.load()),
      static_cast<long long>(acked), static_cast<long long>(tally.handled()),
      static_cast<long long>(tally.redelivered()), static_cast<long long>(dead),
      static_cast<long long>(lost));
  EXPECT_EQ(stored.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(dead, 0);
  EXPECT_EQ(bad, 0);
  EXPECT_GE(acked, static_cast<int64_t>(stored.size()));
}

// The consumer process of ConsumerKilledInItsHandler: runs only when the
// test re-executes this binary with kHelperUrlEnv set. Its handler says it
// started (core NATS "helper.started") and never returns.
TEST(EventsFaultHelper, ConsumerProcess) {
  const char* url = std::getenv(kHelperUrlEnv);
  if (url == nullptr) GTEST_SKIP() << "run by ConsumerKilledInItsHandler";
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(url));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events->Consume("ev.>",
                      [conn](const Event& e) {
                        conn->Publish("helper.started",
                                      absl::StrCat(e.sequence))
                            .IgnoreError();
                        conn->Flush(absl::Seconds(1)).IgnoreError();
                        while (true) absl::SleepFor(absl::Seconds(1));
                        return absl::OkStatus();
                      },
                      {.group = "shared",
                       .start = Start::All(),
                       .ack_wait = absl::Seconds(1)}));
  conn->Publish("helper.ready", "").IgnoreError();
  conn->Flush(absl::Seconds(1)).IgnoreError();
  while (true) absl::SleepFor(absl::Seconds(1));  // until killed
}

TEST(EventsFaultTest, ConsumerKilledInItsHandlerIsRedeliveredToTheOther) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(server->url()));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
  Collector<std::string> helper;
  MN_ASSERT_OK_AND_ASSIGN(
      auto watch, conn->Subscribe("helper.*", [&](natsMsg* msg) {
        helper.Add(absl::StrCat(nats::Subject(msg), " ", nats::Body(msg)));
      }));
  ASSERT_THAT(conn->Flush(absl::Seconds(2)), IsOk());

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A new process image: nothing of this one's threads or locks.
    ::setenv(kHelperUrlEnv, server->url().c_str(), 1);
    ::execl("/proc/self/exe", "events_fault_helper",
            "--gtest_filter=EventsFaultHelper.ConsumerProcess",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_TRUE(helper.WaitForCount(1, absl::Seconds(20)));  // ready
  MN_ASSERT_OK_AND_ASSIGN(uint64_t seq,
                          events->Publish("ev.job", {.body = "work"}));
  ASSERT_TRUE(helper.WaitForCount(2, absl::Seconds(10)));  // in its handler
  EXPECT_EQ(helper.Snapshot()[1], absl::StrCat("helper.started ", seq));
  ::kill(child, SIGKILL);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);

  Collector<int> deliveries;
  MN_ASSERT_OK_AND_ASSIGN(
      auto other,
      events->Consume("ev.>",
                      [&](const Event& e) {
                        EXPECT_EQ(e.sequence, seq);
                        deliveries.Add(e.delivery_count);
                        return absl::OkStatus();
                      },
                      // The group's ack_wait (a different one
                      // is an error, never applied silently).
                      {.group = "shared", .ack_wait = absl::Seconds(1)}));
  ASSERT_TRUE(deliveries.WaitForCount(1, absl::Seconds(10)));
  ASSERT_TRUE(Eventually([&] { return other->stats().acked == 1; },
                         absl::Seconds(5), "acked"));
  std::printf(
      "killed mid-handler: published 1, handled by the killed consumer 1, "
      "redelivered to the other with delivery count %d, acknowledged %lld, "
      "lost 0\n",
      deliveries.Snapshot()[0], static_cast<long long>(other->stats().acked));
  EXPECT_EQ(deliveries.Snapshot()[0], 2);
}

TEST(EventsFaultTest,
     FailingThreeTimesWithMaxDeliveriesThreeIsDeadLetteredOnce) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(server->url()));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
  Collector<int> calls;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events->Consume("ev.>",
                      [&](const Event& e) {
                        calls.Add(e.delivery_count);
                        return absl::DataLossError("cannot parse");
                      },
                      {.group = "g",
                       .start = Start::All(),
                       .max_deliveries = 3,
                       .backoff = {absl::Milliseconds(20)}}));
  Collector<Headers> dead;
  MN_ASSERT_OK_AND_ASSIGN(
      auto dead_consumer,
      events->Consume("dead.>",
                      [&](const Event& e) {
                        dead.Add(e.headers);
                        return absl::OkStatus();
                      },
                      {.group = "dlq", .start = Start::All()}));
  MN_ASSERT_OK_AND_ASSIGN(uint64_t seq,
                          events->Publish("ev.bad", {.body = "x"}));
  ASSERT_TRUE(dead.WaitForCount(1, absl::Seconds(10)));
  // Another event after it: handled (and failed) too, so the first one's
  // absence of a 4th delivery is seen, not assumed.
  MN_ASSERT_OK_AND_ASSIGN(uint64_t next,
                          events->Publish("ev.bad", {.body = "y"}));
  ASSERT_TRUE(dead.WaitForCount(2, absl::Seconds(10)));
  ASSERT_THAT(consumer->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  const Headers first = dead.Snapshot()[0];
  EXPECT_EQ(first.at(std::string(kDeliveryCountHeader)), "3");
  EXPECT_EQ(first.at(std::string(kOriginalSequenceHeader)), absl::StrCat(seq));
  EXPECT_EQ(first.at(std::string(kDeadReasonHeader)),
            "DATA_LOSS: cannot parse");
  EXPECT_EQ(dead.Snapshot()[1].at(std::string(kOriginalSequenceHeader)),
            absl::StrCat(next));
  const ConsumerStats stats = consumer->stats();
  std::printf(
      "max deliveries 3: published 2, handler calls %zu, failed %lld, "
      "dead-lettered %lld (count header %s), acknowledged as handled %lld\n",
      calls.size(), static_cast<long long>(stats.failed),
      static_cast<long long>(stats.dead_lettered),
      first.at(std::string(kDeliveryCountHeader)).c_str(),
      static_cast<long long>(stats.acked));
  EXPECT_THAT(calls.Snapshot(), ::testing::ElementsAre(1, 2, 3, 1, 2, 3));
  EXPECT_EQ(stats.dead_lettered, 2);
  EXPECT_EQ(dead.size(), 2u);
}

TEST(EventsFaultTest, APoisonEventDoesNotStopThoseAfterIt) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(server->url()));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(events->Publish("ev.x", {.body = "poison"}).status(), IsOk());
  }
  constexpr int kGood = 50;
  for (int i = 0; i < kGood; ++i) {
    ASSERT_THAT(events->Publish("ev.x", {.body = absl::StrCat(i)}).status(),
                IsOk());
  }
  Collector<std::string> good;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events->Consume("ev.>",
                                     [&](const Event& e) -> absl::Status {
                                       if (e.body == "poison") {
                                         throw std::runtime_error("poison");
                                       }
                                       good.Add(e.body);
                                       return absl::OkStatus();
                                     },
                                     {.group = "g",
                                      .start = Start::All(),
                                      .max_deliveries = 2,
                                      .backoff = {absl::Seconds(30)},
                                      .max_in_flight = 1}));
  // The poison events wait out a 30 s backoff; the others go on.
  ASSERT_TRUE(good.WaitForCount(kGood, absl::Seconds(10)));
  ASSERT_TRUE(Eventually([&] { return consumer->stats().acked == kGood; },
                         absl::Seconds(5), "the last acked"));
  const ConsumerStats stats = consumer->stats();
  std::printf("poison: published %d, handled %zu, failed %lld, waiting 3\n",
              3 + kGood, good.size(), static_cast<long long>(stats.failed));
  EXPECT_EQ(stats.failed, 3);
  EXPECT_EQ(stats.acked, kGood);
}

TEST(EventsFaultTest, ASlowConsumerHoldsNoMoreThanItsBound) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect(server->url()));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(conn, {.events = {.streams = Streams()}}));
  Gate gate;
  std::atomic<int> running{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events->Consume(
          "ev.>",
          [&](const Event&) {
            ++running;
            gate.Wait();
            return absl::OkStatus();
          },
          {.group = "slow", .start = Start::All(), .max_in_flight = 4}));
  constexpr int kEvents = 3000;
  const std::string body(1024, 'x');
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_THAT(events->Publish("ev.bulk", {.body = body}).status(), IsOk());
  }
  ASSERT_TRUE(Eventually([&] { return running.load() == 4; }, absl::Seconds(10),
                         "four handlers blocked"));
  // 3 MiB stored, 4 events taken: the consumer holds what it handles.
  ASSERT_THAT(conn->Flush(absl::Seconds(2)), IsOk());
  const ConsumerStats blocked = consumer->stats();
  EXPECT_EQ(blocked.in_flight, 4);
  EXPECT_EQ(blocked.delivered, 4);
  gate.Open();
  ASSERT_TRUE(Eventually([&] { return consumer->stats().acked == kEvents; },
                         absl::Seconds(60), "all handled"));
  const ConsumerStats stats = consumer->stats();
  std::printf(
      "slow consumer: published %d (1 KiB each), taken while blocked %lld, "
      "max in flight %lld (bound 4), handled %lld\n",
      kEvents, static_cast<long long>(blocked.delivered),
      static_cast<long long>(stats.max_in_flight_seen),
      static_cast<long long>(stats.acked));
  EXPECT_LE(stats.max_in_flight_seen, 4);
}

}  // namespace
}  // namespace micro_nats::events
