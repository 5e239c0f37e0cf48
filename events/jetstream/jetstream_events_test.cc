// Copyright 2026 The micro-nats Authors.

#include "events/jetstream/jetstream_events.h"

#include <memory>

#include "events/testing/conformance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::events {
namespace {

using ::micro_nats::events::testing::EventsBackend;
using ::micro_nats::events::testing::EventsBackendName;
using ::micro_nats::events::testing::EventsConformanceTest;
using ::micro_nats::events::testing::EventsEnvironment;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

class JetStreamEnvironment : public EventsEnvironment {
 public:
  static absl::StatusOr<std::unique_ptr<EventsEnvironment>> Make() {
    auto env = std::make_unique<JetStreamEnvironment>();
    MN_ASSIGN_OR_RETURN(env->server_, NatsServer::Start({.jetstream = true}));
    return std::unique_ptr<EventsEnvironment>(std::move(env));
  }

  absl::StatusOr<std::unique_ptr<Events>> NewEvents(
      EventsOptions options) override {
    MN_ASSIGN_OR_RETURN(
        auto connection,
        nats::Connection::Connect({.servers = {server_->url()},
                                   .reconnect_wait = absl::Milliseconds(50)}));
    connections_.push_back(connection);
    return NewJetStreamEvents(connection, {.events = std::move(options)});
  }
  bool persists_across_restarts() const override { return true; }
  absl::Status Restart() override {
    MN_RETURN_IF_ERROR(server_->Kill());
    return server_->Restart();
  }

 private:
  std::unique_ptr<NatsServer> server_;
  std::vector<std::shared_ptr<nats::Connection>> connections_;
};

INSTANTIATE_TEST_SUITE_P(JetStream, EventsConformanceTest,
                         ::testing::Values(EventsBackend{
                             "JetStream", &JetStreamEnvironment::Make}),
                         EventsBackendName);

TEST(JetStreamEventsTest, AServerWithoutJetStreamIsNamed) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto connection, nats::Connection::Connect({.servers = {server->url()}}));
  EXPECT_THAT(
      NewJetStreamEvents(connection),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("-js")));
}

TEST(JetStreamEventsTest, PullsAgainWhenAPullExpires) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto connection, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(
          connection,
          {.events = {.streams = {{.name = "S", .subjects = {"s.>"}}}},
           .pull_expiry = absl::Milliseconds(100)}));
  micro_nats::testing::Collector<uint64_t> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events->Consume("s.>",
                                     [&](const Event& e) {
                                       got.Add(e.sequence);
                                       return absl::OkStatus();
                                     },
                                     {.group = "g", .start = Start::New()}));
  // Several pulls expire meanwhile (the server says 408 each time).
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_THAT(events->Publish("s.x", {.body = "late"}).status(), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(consumer->stats().bad_input, 0);
}

TEST(JetStreamEventsTest, ManyConsumersStartNoThreads) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto connection, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(
          connection,
          {.events = {.streams = {{.name = "S", .subjects = {"s.>"}}}}}));
  // Warm up the pools (nats.c's delivery threads, the scheduler).
  MN_ASSERT_OK_AND_ASSIGN(
      auto first,
      events->Consume("s.0", [](const Event&) { return absl::OkStatus(); },
                      {.start = Start::New()}));
  const int before = micro_nats::testing::ThreadCount();
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 1; i <= 50; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(
        auto c, events->Consume(
                    absl::StrCat("s.", i),
                    [](const Event&) { return absl::OkStatus(); },
                    {.group = absl::StrCat("g", i), .start = Start::New()}));
    consumers.push_back(std::move(c));
  }
  EXPECT_LE(micro_nats::testing::ThreadCount(), before + 2);
}

TEST(JetStreamEventsTest, ForgedMessagesOnTheInboxAreCountedNotHandled) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto connection, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto forger, nats::Connection::Connect({.servers = {server->url()}}));
  // The forger learns the consumer's inbox from its pull requests.
  micro_nats::testing::Collector<std::string> inboxes;
  MN_ASSERT_OK_AND_ASSIGN(
      auto spy,
      forger->Subscribe("$JS.API.CONSUMER.MSG.NEXT.S.g", [&](natsMsg* msg) {
        inboxes.Add(std::string(nats::Reply(msg)));
      }));
  ASSERT_THAT(forger->Flush(absl::Seconds(2)), IsOk());
  std::vector<absl::Status> errors;
  std::mutex mu;
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(
          connection,
          {.events = {.streams = {{.name = "S", .subjects = {"s.>"}}},
                      .max_event_bytes = 64,
                      .on_error = [&](const absl::Status& status) {
                        std::lock_guard<std::mutex> lock(mu);
                        errors.push_back(status);
                      }}}));
  micro_nats::testing::Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer, events->Consume("s.>",
                                     [&](const Event& e) {
                                       got.Add(e.body);
                                       return absl::OkStatus();
                                     },
                                     {.group = "g", .start = Start::All()}));
  ASSERT_TRUE(inboxes.WaitForCount(1, absl::Seconds(5)));
  const std::string inbox = inboxes.Snapshot()[0];
  // No reply, no status; a reply that is no ack subject. (A client's
  // publish with a reply under $JS.ACK, to forge one, the server itself
  // refuses: nats-server 2.9 reserves them.)
  ASSERT_THAT(forger->Publish(inbox, "a"), IsOk());
  ASSERT_THAT(forger->Publish(inbox, "b", "reply.x", {}), IsOk());
  ASSERT_THAT(forger->Flush(absl::Seconds(2)), IsOk());
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().bad_input == 2; }, absl::Seconds(5),
      "two bad inputs"));
  // Real events still flow.
  ASSERT_THAT(events->Publish("s.x", {.body = "real"}).status(), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(5)));
  EXPECT_THAT(got.Snapshot(), ::testing::ElementsAre("real"));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0].message(), HasSubstr("dropped bad input"));
}

TEST(JetStreamEventsTest, AnEventWithPublishExpectationsIsDeadLettered) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto connection, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto events,
      NewJetStreamEvents(
          connection, {.events = {.streams = {
                                      {.name = "S", .subjects = {"s.>"}},
                                      {.name = "DEAD", .subjects = {"dead.>"}},
                                  }}}));
  ASSERT_THAT(events->Publish("s.x", {.body = "first"}).status(), IsOk());
  // Held on S (its last sequence is 1), not on DEAD (empty): a dead letter
  // that kept it would be refused there.
  MN_ASSERT_OK_AND_ASSIGN(
      const uint64_t seq,
      events->Publish(
          "s.x", {.headers = {{"Nats-Expected-Last-Sequence", "1"}, {"K", "v"}},
                  .body = "poison"}));
  ASSERT_EQ(seq, 2u);
  MN_ASSERT_OK_AND_ASSIGN(
      auto consumer,
      events->Consume("s.x",
                      [](const Event& e) {
                        return e.body == "poison"
                                   ? absl::InternalError("cannot parse")
                                   : absl::OkStatus();
                      },
                      {.group = "g",
                       .start = Start::All(),
                       .max_deliveries = 2,
                       .backoff = {absl::Milliseconds(10)}}));
  micro_nats::testing::Collector<Headers> dead;
  MN_ASSERT_OK_AND_ASSIGN(auto dead_consumer,
                          events->Consume("dead.>",
                                          [&](const Event& e) {
                                            dead.Add(e.headers);
                                            return absl::OkStatus();
                                          },
                                          {.start = Start::All()}));
  ASSERT_TRUE(dead.WaitForCount(1, absl::Seconds(5)));
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return consumer->stats().dead_lettered == 1; }, absl::Seconds(5),
      "counted"));
  const Headers d = dead.Snapshot()[0];
  EXPECT_EQ(d.count("Nats-Expected-Last-Sequence"), 0u);
  EXPECT_EQ(d.at("K"), "v");
  EXPECT_EQ(d.at(std::string(kOriginalSequenceHeader)), "2");
}

}  // namespace
}  // namespace micro_nats::events
