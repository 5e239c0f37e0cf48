// Copyright 2026 The micro-nats Authors.

#include "broker/nats/nats_broker.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "broker/testing/conformance.h"
#include "concurrency/wait.h"
#include "nats/message.h"
#include "nats/will_block.h"
#include "testing/nats_server.h"

namespace micro_nats::broker::testing {
namespace {

using ::micro_nats::testing::Eventually;

// A real nats-server; every broker on its own connection.
class NatsEnvironment : public BrokerEnvironment {
 public:
  explicit NatsEnvironment(std::unique_ptr<micro_nats::testing::NatsServer> s)
      : server_(std::move(s)) {}
  std::string url() const { return server_->url(); }

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

// Every handler on the handler pool (NatsBrokerOptions::handlers).
class NatsHandlerPoolEnvironment : public NatsEnvironment {
 public:
  using NatsEnvironment::NatsEnvironment;
  absl::StatusOr<std::unique_ptr<Broker>> NewBroker(
      BrokerOptions options) override {
    auto conn = nats::Connection::Connect({.servers = {url()}});
    if (!conn.ok()) return conn.status();
    return NewNatsBroker(*conn,
                         {.broker = std::move(options),
                          .handlers = nats::HandlerThread::kHandlerPool});
  }
};

absl::StatusOr<std::unique_ptr<BrokerEnvironment>>
MakeNatsHandlerPoolEnvironment() {
  auto server = micro_nats::testing::NatsServer::Start();
  if (!server.ok()) return server.status();
  return std::make_unique<NatsHandlerPoolEnvironment>(
      std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(
    Nats, BrokerConformanceTest,
    ::testing::Values(BrokerBackend{"Nats", &MakeNatsEnvironment},
                      BrokerBackend{"NatsHandlerPool",
                                    &MakeNatsHandlerPoolEnvironment}),
    BrokerBackendName);

// A handler that blocks delays the subscriptions sharing its delivery
// thread for one call at most: from then on it runs on the handler pool,
// in order, and a blocked call there stalls nobody else. `warm_up` quick
// calls first: enough (kAdaptive) and the handler runs on the delivery
// thread when "first" comes.
void BlockingHandlerMovesToThePool(NatsBrokerOptions slow_options,
                                   bool will_block, int warm_up = 0) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  auto connect = [&] {
    return nats::Connection::Connect({.servers = {server->url()}});
  };
  MN_ASSERT_OK_AND_ASSIGN(auto slow_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto fast_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto slow_broker,
                          NewNatsBroker(slow_conn, slow_options));
  MN_ASSERT_OK_AND_ASSIGN(auto fast_broker, NewNatsBroker(fast_conn));
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  micro_nats::testing::Collector<std::string> slow_got;
  micro_nats::testing::Collector<std::string> warm_got;
  MN_ASSERT_OK_AND_ASSIGN(auto slow,
                          slow_broker->Subscribe("slow", [&](const Event& e) {
                            if (e.message.body == "warm") {
                              warm_got.Add(e.message.body);
                              return absl::OkStatus();
                            }
                            slow_got.Add(e.message.body);
                            if (will_block && e.message.body == "first")
                              nats::WillBlock();
                            if (e.message.body == "block") {
                              std::unique_lock<std::mutex> lock(mu);
                              concurrency::WaitFor(cv, lock, absl::Seconds(30),
                                                   [&] { return release; });
                            }
                            return absl::OkStatus();
                          }));
  // Enough subscriptions that some share the slow one's delivery thread.
  constexpr int kFast = 8;
  constexpr int kMessages = 50;
  micro_nats::testing::Collector<int> fast_got;
  std::vector<std::unique_ptr<Subscriber>> fast;
  for (int i = 0; i < kFast; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(
        auto sub, fast_broker->Subscribe("fast", [&, i](const Event&) {
          fast_got.Add(i);
          return absl::OkStatus();
        }));
    fast.push_back(std::move(sub));
  }
  for (int i = 0; i < warm_up; ++i) {
    ASSERT_THAT(slow_broker->Publish("slow", {.body = "warm"}), IsOk());
  }
  ASSERT_TRUE(warm_got.WaitForCount(warm_up, absl::Seconds(10)));
  ASSERT_THAT(slow_broker->Publish("slow", {.body = "first"}), IsOk());
  ASSERT_TRUE(slow_got.WaitForCount(1, absl::Seconds(10)));
  ASSERT_THAT(slow_broker->Publish("slow", {.body = "block"}), IsOk());
  ASSERT_THAT(slow_broker->Publish("slow", {.body = "after"}), IsOk());
  ASSERT_TRUE(slow_got.WaitForCount(2, absl::Seconds(10)));
  // The slow handler is blocked now; everyone else is served.
  for (int m = 0; m < kMessages; ++m) {
    ASSERT_THAT(fast_broker->Publish("fast", {.body = "x"}), IsOk());
  }
  EXPECT_TRUE(fast_got.WaitForCount(kFast * kMessages, absl::Seconds(10)));
  EXPECT_EQ(slow_got.size(), 2u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(slow_got.WaitForCount(3, absl::Seconds(10)));
  EXPECT_THAT(slow_got.Snapshot(),
              ::testing::ElementsAre("first", "block", "after"));
}

TEST(NatsBrokerTest, ALongCallMovesTheHandlerToThePool) {
  // Any call is "long" here: the first one moves it.
  BlockingHandlerMovesToThePool({.inline_budget = absl::Nanoseconds(1)},
                                /*will_block=*/false);
}

TEST(NatsBrokerTest, AWaitInOurCodeMovesTheHandlerToThePool) {
  // The first call says it will wait (as a nested call's wait does).
  BlockingHandlerMovesToThePool({}, /*will_block=*/true);
}

TEST(NatsBrokerTest, AWaitOnTheDeliveryThreadMovesTheHandlerToThePool) {
  // Quick calls move it to the delivery thread; "first" says it will wait
  // there.
  BlockingHandlerMovesToThePool({}, /*will_block=*/true, /*warm_up=*/100);
}

// A handler on the delivery thread may wait for a reply that nats.c routes
// on a thread of its own (Connection::Request).
TEST(NatsBrokerTest, AHandlerMayWaitForARequestsReply) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          micro_nats::testing::NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn, nats::Connection::Connect(
                     {.servers = {server->url()}, .delivery_threads = 1}));
  // The answering peer: another process's, on a connection of its own.
  MN_ASSERT_OK_AND_ASSIGN(
      auto peer, nats::Connection::Connect({.servers = {server->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(auto answering,
                          peer->Subscribe("answer", [&](natsMsg* msg) {
                            peer->Publish(nats::Reply(msg), "42").IgnoreError();
                          }));
  ASSERT_THAT(peer->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto broker, NewNatsBroker(conn));
  micro_nats::testing::Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub, broker->Subscribe("ask", [&](const Event&) {
    auto reply =
        conn->Request("answer", "?", {}, absl::Now() + absl::Seconds(10));
    got.Add(reply.ok() ? std::string(nats::Body(reply->get()))
                       : reply.status().ToString());
    return absl::OkStatus();
  }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(broker->Publish("ask", {.body = "x"}), IsOk());
  }
  ASSERT_TRUE(got.WaitForCount(3, absl::Seconds(30)));
  EXPECT_THAT(got.Snapshot(), ::testing::Each("42"));
}

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
