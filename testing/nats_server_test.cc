// Copyright 2026 The micro-nats Authors.

#include "testing/nats_server.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::testing {
namespace {

using ::micro_nats::nats::Connection;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::StatusOr<std::shared_ptr<Connection>> ConnectOnce(
    const std::string& url) {
  return Connection::Connect({.servers = {url},
                              .connect_timeout = absl::Milliseconds(500),
                              .allow_reconnect = false});
}

TEST(NatsServerTest, StartsOnAFreeLoopbackPortAndAcceptsClients) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  EXPECT_TRUE(server->running());
  EXPECT_GT(server->port(), 0);
  EXPECT_THAT(server->url(), StartsWith("nats://127.0.0.1:"));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  EXPECT_TRUE(conn->IsConnected());
}

TEST(NatsServerTest, TwoServersGetDifferentPorts) {
  MN_ASSERT_OK_AND_ASSIGN(auto a, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(auto b, NatsServer::Start());
  EXPECT_NE(a->port(), b->port());
}

TEST(NatsServerTest, StopRefusesClientsAndRestartKeepsThePort) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  const int port = server->port();
  ASSERT_THAT(server->Stop(), IsOk());
  EXPECT_FALSE(server->running());
  EXPECT_THAT(ConnectOnce(server->url()),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_EQ(server->port(), port);
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  EXPECT_TRUE(conn->IsConnected());
}

TEST(NatsServerTest, KillEndsTheServerAtOnceAndRestartKeepsThePort) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  const int port = server->port();
  EXPECT_GT(port, 0);  // the server picked it and the fixture read it
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  ASSERT_THAT(server->Kill(), IsOk());
  EXPECT_FALSE(server->running());
  EXPECT_TRUE(Eventually([&] { return !conn->IsConnected(); },
                         absl::Seconds(10), "the client saw the crash"));
  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_EQ(server->port(), port);
}

TEST(NatsServerTest, ExtraConfigIsApplied) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto server, NatsServer::Start({.extra_config = "authorization {\n"
                                                      "  token: abc\n}\n"}));
  EXPECT_FALSE(ConnectOnce(server->url()).ok());
}

TEST(NatsServerTest, AppliesMaxPayload) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          NatsServer::Start({.max_payload = 4096}));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  EXPECT_EQ(conn->max_payload(), 4096);
}

TEST(NatsServerTest, ClusterOfThreeRoutesMessagesBetweenServers) {
  MN_ASSERT_OK_AND_ASSIGN(auto cluster, NatsCluster::Start(3));
  ASSERT_EQ(cluster->size(), 3);
  ASSERT_EQ(cluster->urls().size(), 3u);
  MN_ASSERT_OK_AND_ASSIGN(auto sub_conn, ConnectOnce(cluster->urls()[0]));
  MN_ASSERT_OK_AND_ASSIGN(auto pub_conn, ConnectOnce(cluster->urls()[2]));
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto sub, sub_conn->Subscribe("cluster.test", [&](natsMsg* msg) {
        got.Add(std::string(nats::Body(msg)));
      }));
  ASSERT_THAT(sub_conn->Flush(absl::Seconds(2)), IsOk());
  // Routes form asynchronously: publish until the interest has propagated.
  ASSERT_TRUE(Eventually(
      [&] {
        pub_conn->Publish("cluster.test", "across").IgnoreError();
        return got.size() > 0;
      },
      absl::Seconds(10), "a message crossing the cluster"));
  EXPECT_EQ(got.Snapshot().front(), "across");
}

std::string Ask(Connection& conn, absl::string_view subject,
                absl::string_view body) {
  auto answer = conn.Request(subject, body, {}, absl::Now() + absl::Seconds(5));
  if (!answer.ok()) return std::string(answer.status().message());
  return std::string(nats::Body(answer->get()));
}

TEST(NatsServerTest, JetStreamStoresAcrossKillAndRestart) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.jetstream = true}));
  EXPECT_THAT(server->store_dir(), StartsWith(server->dir()));
  {
    MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
    EXPECT_THAT(Ask(*conn, "$JS.API.STREAM.CREATE.T",
                    R"({"name":"T","subjects":["t.>"],"storage":"file"})"),
                HasSubstr(R"("name":"T")"));
    EXPECT_THAT(Ask(*conn, "t.x", "kept"), HasSubstr(R"("seq":1)"));
  }
  ASSERT_THAT(server->Kill(), IsOk());
  ASSERT_THAT(server->Restart(), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  // The server recovers the stream from its store after it accepts clients.
  std::string info;
  EXPECT_TRUE(Eventually(
      [&] {
        info = Ask(*conn, "$JS.API.STREAM.INFO.T", "");
        return info.find(R"("messages":1)") != std::string::npos;
      },
      absl::Seconds(10), "the stored message after the restart"))
      << info;
}

TEST(NatsServerTest, NoJetStreamUnlessAsked) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  EXPECT_EQ(server->store_dir(), "");
  MN_ASSERT_OK_AND_ASSIGN(auto conn, ConnectOnce(server->url()));
  EXPECT_THAT(
      conn->Request("$JS.API.INFO", "", {}, absl::Now() + absl::Seconds(5)),
      StatusIs(absl::StatusCode::kUnavailable));
}

TEST(NatsServerTest, MissingBinaryFailsWithInstallHint) {
  setenv("NATS_SERVER_BIN", "/nonexistent/nats-server", 1);
  auto server = NatsServer::Start();
  unsetenv("NATS_SERVER_BIN");
  EXPECT_THAT(server,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("/nonexistent/nats-server"),
                             HasSubstr("apt-get install -y nats-server"))));
  EXPECT_THAT(FindNatsServerBinary(), IsOk());
}

}  // namespace
}  // namespace micro_nats::testing
