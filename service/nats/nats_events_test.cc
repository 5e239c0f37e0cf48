// Copyright 2026 The micro-nats Authors.
//
// The service events suite on NATS JetStream, and what a service says on a
// nats-server without JetStream.

#include "events/jetstream/jetstream_events.h"
#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/testing/events_suite.h"
#include "testing/nats_server.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::NatsServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

events::JetStreamEventsOptions OrderStreams() {
  return {.events = {.streams = {
                         {.name = "ORDERS",
                          .subjects = {"orders.>"},
                          .storage = events::StreamConfig::Storage::kMemory},
                         {.name = "DEAD",
                          .subjects = {"dead.>"},
                          .storage = events::StreamConfig::Storage::kMemory},
                     }}};
}

// A JetStream nats-server of its own; each service on its own connection.
class JetStreamEnvironment : public EventsEnvironment {
 public:
  static std::unique_ptr<EventsEnvironment> Make() {
    auto server = NatsServer::Start({.jetstream = true});
    EXPECT_THAT(server, IsOk());
    if (!server.ok()) return nullptr;
    auto environment = std::make_unique<JetStreamEnvironment>();
    environment->server_ = std::move(server).value();
    return environment;
  }

  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name) override {
    NatsServiceOptions options{.servers = {server_->url()},
                               .identity = {.name = name},
                               .events = OrderStreams()};
    WidenLookupWindows(options);
    return NewNatsService(std::move(options));
  }

 private:
  std::unique_ptr<NatsServer> server_;
};

INSTANTIATE_TEST_SUITE_P(JetStream, ServiceEventsTest,
                         ::testing::Values(EventsBackend{
                             "JetStream", &JetStreamEnvironment::Make}),
                         EventsBackendName);

// Events asked of a server without JetStream: a clear error naming the
// fix. A service that asks none starts there as ever, and its Consume and
// Emit say it has no events.
TEST(NatsServiceEventsTest, WithoutJetStream) {
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NatsServer> server,
                          NatsServer::Start());
  EXPECT_THAT(NewNatsService({.servers = {server->url()},
                              .identity = {.name = "billing"},
                              .events = OrderStreams()}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("billing"), HasSubstr("JetStream"),
                             HasSubstr("nats-server with -js"))));

  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Service> plain,
                          NewNatsService({.servers = {server->url()},
                                          .identity = {.name = "plain"}}));
  EXPECT_EQ(plain->events(), nullptr);
  EXPECT_THAT(
      plain->server().Consume<testing::Ping>(
          "orders.*",
          [](Context&, const testing::Ping&) { return absl::OkStatus(); },
          {.start = events::Start::New()}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("nats-server -js")));
  ASSERT_THAT(plain->Start(), IsOk());
  EXPECT_THAT(
      plain->client().Emit("orders.created", testing::Ping()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no events")));
  EXPECT_THAT(plain->Stop(absl::Now() + absl::Seconds(5)), IsOk());
}

}  // namespace
}  // namespace micro_nats::service
