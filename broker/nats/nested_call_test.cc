// Copyright 2026 The micro-nats Authors.
//
// A broker handler that calls a service (a transport socket on the same
// Connection) gets its answer. The answer is routed by the Connection's
// inbox mux, which runs on nats.c's delivery pool: a handler run on that
// pool and waiting there could hold the very thread that routes its answer.
// A binary of its own: nats.c's delivery pool is process-wide and only
// grows, so here it stays at one thread, which every subscription shares.

#include <memory>
#include <string>

#include "broker/nats/nats_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats::broker {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

constexpr absl::Duration kWait = absl::Seconds(10);

TEST(NestedCallTest, ABrokerHandlerThatCallsAServiceGetsItsAnswer) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn, nats::Connection::Connect(
                     {.servers = {server->url()}, .delivery_threads = 1}));
  MN_ASSERT_OK_AND_ASSIGN(auto transport, transport::NewNatsTransport(conn));
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport->Listen(""));
  ASSERT_THAT(listener->AcceptMessages(
                  [](const std::shared_ptr<transport::Socket>& socket,
                     transport::Message message) {
                    socket->Send({.body = "re:" + message.body}).IgnoreError();
                  }),
              IsOk());
  const std::string address = listener->Address();
  MN_ASSERT_OK_AND_ASSIGN(
      auto broker,
      NewNatsBroker(conn, {.delivery = nats::Delivery::kImmediate}));
  Collector<std::string> answers;
  MN_ASSERT_OK_AND_ASSIGN(
      auto subscriber, broker->Subscribe("orders", [&](const Event& event) {
        std::string answer = "dial failed";
        auto socket = transport->Dial(address);
        if (socket.ok() && (*socket)->Send({.body = event.message.body}).ok()) {
          auto reply = (*socket)->Recv(absl::Now() + kWait);
          answer = reply.ok() ? reply->body : reply.status().ToString();
        }
        answers.Add(answer);
        return absl::OkStatus();
      }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(broker->Publish("orders", {.body = std::to_string(i)}), IsOk());
  }
  ASSERT_TRUE(answers.WaitForCount(3, 4 * kWait));
  EXPECT_THAT(answers.Snapshot(),
              ::testing::ElementsAre("re:0", "re:1", "re:2"));
}

}  // namespace
}  // namespace micro_nats::broker
