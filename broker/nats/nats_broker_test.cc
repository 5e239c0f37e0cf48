// Copyright 2026 The micro-nats Authors.

#include "broker/nats/nats_broker.h"

#include "broker/testing/conformance.h"
#include "testing/nats_server.h"

namespace micro_nats::broker::testing {
namespace {

using ::micro_nats::testing::Eventually;

// A real nats-server; every broker on its own connection.
class NatsEnvironment : public BrokerEnvironment {
 public:
  explicit NatsEnvironment(std::unique_ptr<micro_nats::testing::NatsServer> s)
      : server_(std::move(s)) {}

  absl::StatusOr<std::unique_ptr<Broker>> NewBroker(
      BrokerOptions options) override {
    auto conn = nats::Connection::Connect({.servers = {server_->url()}});
    if (!conn.ok()) return conn.status();
    return NewNatsBroker(*conn, {.broker = std::move(options)});
  }

 private:
  std::unique_ptr<micro_nats::testing::NatsServer> server_;
};

absl::StatusOr<std::unique_ptr<BrokerEnvironment>> MakeNatsEnvironment() {
  auto server = micro_nats::testing::NatsServer::Start();
  if (!server.ok()) return server.status();
  return std::make_unique<NatsEnvironment>(std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(Nats, BrokerConformanceTest,
                         ::testing::Values(BrokerBackend{"Nats",
                                                         &MakeNatsEnvironment}),
                         BrokerBackendName);

// nats.c reconnects and resubscribes on its own; the broker must not lose
// that: subscriptions made before a server restart deliver after it, and
// publishing works again.
TEST(NatsBrokerTest, SubscriptionsDeliverAgainAfterTheServerRestarts) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  auto connect = [&] {
    return nats::Connection::Connect({.servers = {server->url()}});
  };
  MN_ASSERT_OK_AND_ASSIGN(auto sub_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto pub_conn, connect());
  auto subscriber = NewNatsBroker(sub_conn);
  auto publisher =
      NewNatsBroker(pub_conn, {.delivery = nats::Delivery::kImmediate});
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto sub, subscriber->Subscribe("survives", [&](const Event& event) {
        got.Add(event.message.body);
        return absl::OkStatus();
      }));
  ASSERT_THAT(server->Restart(), IsOk());
  // Messages published while the publisher is still reconnecting may be
  // buffered or refused; keep publishing until one arrives.
  EXPECT_TRUE(Eventually(
      [&] {
        publisher->Publish("survives", {.body = "after restart"}).IgnoreError();
        return static_cast<bool>(got.WaitForCount(1, absl::Milliseconds(100)));
      },
      absl::Seconds(15), "a delivery after the restart"));
  EXPECT_EQ(got.Snapshot().front(), "after restart");
}

}  // namespace
}  // namespace micro_nats::broker::testing
