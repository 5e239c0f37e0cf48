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
TEST(NatsBrokerTest, TheFactoryRefusesWhatCannotWork) {
  EXPECT_THAT(NewNatsBroker(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn, nats::Connection::Connect({.servers = {server->url()}}));
  EXPECT_THAT(NewNatsBroker(conn, {.broker = {.max_pending_messages = 0}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NatsBrokerTest, SubscriptionsDeliverAgainAfterTheServerRestarts) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  auto connect = [&] {
    return nats::Connection::Connect({.servers = {server->url()}});
  };
  MN_ASSERT_OK_AND_ASSIGN(auto sub_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto pub_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto subscriber, NewNatsBroker(sub_conn));
  MN_ASSERT_OK_AND_ASSIGN(
      auto publisher,
      NewNatsBroker(pub_conn, {.delivery = nats::Delivery::kImmediate}));
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

// With the server gone, Drain and Unsubscribe return by their deadline:
// they do not wait on a server that is not there.
TEST(NatsBrokerTest, DrainAndUnsubscribeDuringAnOutageKeepTheirDeadline) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(auto broker, NewNatsBroker(conn));
  MN_ASSERT_OK_AND_ASSIGN(auto outlived, NewNatsBroker(conn));
  std::vector<std::unique_ptr<Subscriber>> subs, more;
  for (int i = 0; i < 5; ++i) {
    auto handler = [](const Event&) { return absl::OkStatus(); };
    MN_ASSERT_OK_AND_ASSIGN(auto sub, broker->Subscribe("down", handler));
    subs.push_back(std::move(sub));
    MN_ASSERT_OK_AND_ASSIGN(auto other, outlived->Subscribe("down", handler));
    more.push_back(std::move(other));
  }
  ASSERT_THAT(server->Stop(), IsOk());
  ASSERT_TRUE(Eventually([&] { return !conn->IsConnected(); },
                         absl::Seconds(10), "the client saw the outage"));
  absl::Time start = absl::Now();
  broker->Drain(absl::Milliseconds(100)).IgnoreError();
  // Five subscriptions once took a second each here.
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  start = absl::Now();
  more.clear();  // five destructors
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace micro_nats::broker::testing
