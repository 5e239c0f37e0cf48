// Copyright 2026 The micro-nats Authors.
//
// A scatter frontend that runs its handlers where the scatter is delivered
// (ScatterConfig::inline_handlers, the default) must not stall the routing
// of the replies its handlers wait for. A binary of its own: nats.c's delivery
// pool is process-wide and only grows, so here it stays at one thread, the
// tightest it can be.

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "nats/connection.h"
#include "service/nats/nats_service.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::service::testing::Ping;
using ::micro_nats::service::testing::Pong;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

TEST(ScatterInlineTest, AHandlerThatCallsAnotherServiceStillAnswers) {
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NatsServer> nats,
                          NatsServer::Start());
  // One connection with one delivery thread for everything: the scatter's
  // delivery, the nested call's socket and the replies to both.
  MN_ASSERT_OK_AND_ASSIGN(std::shared_ptr<nats::Connection> conn,
                          nats::Connection::Connect({.servers = {nats->url()},
                                                     .delivery_threads = 1}));
  auto make = [&](const std::string& name) {
    return NewNatsService({.identity = {.name = name}, .connection = conn});
  };
  ASSERT_TRUE(ScatterConfig{}.inline_handlers) << "the default is inline";
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Service> inner, make("inner"));
  ASSERT_THAT((inner->server().Handle<Ping, Pong>(
                  "I.Call",
                  [](Context&, const Ping& ping, Pong* pong) {
                    pong->set_text("inner:" + ping.text());
                    return absl::OkStatus();
                  })),
              IsOk());
  ASSERT_THAT(inner->Start(), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Service> outer, make("outer"));
  Service* outer_service = outer.get();
  ASSERT_THAT((outer->server().Handle<Ping, Pong>(
                  "O.Call",
                  [outer_service](Context&, const Ping& ping, Pong* pong) {
                    // The nested call: a socket dialled and answered
                    // through this connection's reply routing.
                    absl::StatusOr<Pong> nested =
                        outer_service->client().Call<Ping, Pong>(
                            "inner", "I.Call", ping,
                            {.timeout = absl::Seconds(10)});
                    if (!nested.ok()) return nested.status();
                    pong->set_text("outer:" + nested->text());
                    return absl::OkStatus();
                  })),
              IsOk());
  ASSERT_THAT(outer->Start(), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Service> caller, make("caller"));

  Ping ping;
  ping.set_text("hi");
  // Until the registrations are heard, lookups find nothing: outer's
  // client first finds inner (outside any handler), then the scatter
  // finds outer.
  const absl::Time until = absl::Now() + absl::Seconds(20);
  absl::StatusOr<Pong> direct;
  do {
    direct = outer->client().Call<Ping, Pong>("inner", "I.Call", ping);
  } while (absl::IsNotFound(direct.status()) && absl::Now() < until);
  ASSERT_THAT(direct, IsOk());
  absl::StatusOr<ScatterResult<Pong>> result;
  do {
    result = caller->scatter().Call<Ping, Pong>("outer", "O.Call", ping,
                                                {.timeout = absl::Seconds(5)});
  } while ((!result.ok() || result->nodes.empty()) && absl::Now() < until);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->nodes.size(), 1u);
  const absl::StatusOr<Pong>& answer = result->nodes.begin()->second;
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->text(), "outer:inner:hi");
  EXPECT_EQ(result->answered, 1);
}

}  // namespace
}  // namespace micro_nats::service
