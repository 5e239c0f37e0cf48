// Copyright 2026 The micro-nats Authors.
//
// The scatter-gather contract on the NATS stack, each service on a
// connection of its own as separate processes would be; and what only
// NATS can show.

#include "nats/connection.h"
#include "service/nats/nats_service.h"
#include "service/nats/scatter_wire.h"
#include "service/nats/testing/nats_services.h"
#include "service/testing/scatter_suite.h"
#include "testing/nats_server.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::NatsServer;

class NatsScatterEnvironment : public ScatterEnvironment, public NatsServices {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ScatterConfig scatter) override {
    return NewOnServer({.identity = {.name = name},
                        .server = std::move(server),
                        .scatter = std::move(scatter)});
  }

  absl::StatusOr<std::shared_ptr<ScatterWire>> NewWire() override {
    auto connection = nats::Connection::Connect({.servers = {server().url()}});
    if (!connection.ok()) return connection.status();
    return NewNatsScatterWire(std::move(connection).value());
  }
};

INSTANTIATE_TEST_SUITE_P(Nats, ScatterTest,
                         ::testing::Values(ScatterBackend{
                             "Nats",
                             &NatsServices::Start<NatsScatterEnvironment>}),
                         ScatterBackendName);
INSTANTIATE_TEST_SUITE_P(Nats, ScatterCapTest,
                         ::testing::Values(ScatterBackend{
                             "Nats",
                             &NatsServices::Start<NatsScatterEnvironment>}),
                         ScatterBackendName);

// The request is one message on the service's scatter subject, which
// every instance gets (no queue group): a plain NATS subscriber there sees
// one request per scatter, whatever the number of instances.
TEST(NatsScatterWireTest, OnePublishReachesEveryInstance) {
  auto server = NatsServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::unique_ptr<Service>> instances;
  for (int i = 0; i < 3; ++i) {
    auto instance = NewNatsService(
        {.servers = {(*server)->url()}, .identity = {.name = "counted"}});
    ASSERT_TRUE(instance.ok()) << instance.status();
    ASSERT_TRUE((*instance)
                    ->server()
                    .Handle("C.Call",
                            [](Context&, const Message&, Message* response) {
                              response->body = "ok";
                              return absl::OkStatus();
                            })
                    .ok());
    ASSERT_TRUE((*instance)->Start().ok());
    instances.push_back(std::move(instance).value());
  }
  auto watcher = nats::Connection::Connect({.servers = {(*server)->url()}});
  ASSERT_TRUE(watcher.ok());
  std::mutex mu;
  int seen = 0;
  auto sub = (*watcher)->Subscribe("micro.scatter.counted", [&](natsMsg*) {
    std::lock_guard<std::mutex> lock(mu);
    ++seen;
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE((*watcher)->Flush(absl::Seconds(5)).ok());
  auto caller = NewNatsService(
      {.servers = {(*server)->url()}, .identity = {.name = "counter"}});
  ASSERT_TRUE(caller.ok());
  absl::StatusOr<ScatterResult<Message>> result;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int made = 0;  // scatters published so far
  do {           // until the caller's lookup found all three
    for (const auto& instance : instances) {
      (*caller)->registry().Evict("counted", instance->server().id());
    }
    result = (*caller)->scatter().CallRaw("counted", "C.Call", {},
                                          {.timeout = absl::Seconds(10)});
    ASSERT_TRUE(result.ok()) << result.status();
    ++made;
  } while (result->nodes.size() < 3 && absl::Now() < deadline);
  ASSERT_EQ(result->nodes.size(), 3u);
  EXPECT_EQ(result->answered, 3);
  // Each scatter is one message there. The watcher's handler may still be
  // working through the ones above: wait until it has seen them all.
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  };
  const absl::Time settled = absl::Now() + absl::Seconds(10);
  while (count() < made && absl::Now() < settled) {
    absl::SleepFor(absl::Milliseconds(1));  // polling a count, bounded
  }
  const int before = count();
  ASSERT_EQ(before, made);
  constexpr int kScatters = 5;
  for (int i = 0; i < kScatters; ++i) {
    auto again = (*caller)->scatter().CallRaw("counted", "C.Call", {},
                                              {.timeout = absl::Seconds(10)});
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->answered, 3);
  }
  ASSERT_TRUE((*watcher)->Flush(absl::Seconds(5)).ok());
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (count() < before + kScatters && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));  // polling a count, bounded
  }
  EXPECT_EQ(count(), before + kScatters);
  (*sub)->Unsubscribe().IgnoreError();
}

TEST(NatsScatterWireTest, ServiceNamesThatAreNoSubjectAreRefused) {
  auto server = NatsServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto connection = nats::Connection::Connect({.servers = {(*server)->url()}});
  ASSERT_TRUE(connection.ok());
  auto wire = NewNatsScatterWire(*connection);
  ASSERT_TRUE(wire.ok());
  auto listening = (*wire)->Listen("a..b", [](Message, ScatterWire::Reply) {});
  EXPECT_EQ(listening.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewNatsScatterWire(*connection, {.subject_prefix = "bad.>"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace micro_nats::service
