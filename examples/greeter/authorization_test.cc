// Copyright 2026 The micro-nats Authors.
//
// SECURITY.md's permissions, on a real nats-server configured with
// testdata/authorization.conf: a user without registry permissions (the
// `caller`) can look services up and call them, but cannot answer a
// lookup or a `$SRV` query, so it cannot pose as an instance, nor read
// other users' inboxes; the server refuses its subscriptions and says so.

#include <nats/nats.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "examples/greeter/greeter_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "registry/nats/nats_registry.h"
#include "registry/srv/srv_registry.h"
#include "service/nats/nats_service.h"
#include "srv/protocol.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace greeter {
namespace {

using ::micro_nats::nats::Connection;
using ::micro_nats::service::NatsServiceOptions;
using ::micro_nats::service::NewNatsService;
using ::micro_nats::service::Service;
using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::ElementsAre;
namespace srv = ::micro_nats::srv;
namespace registry = ::micro_nats::registry;

constexpr absl::Duration kWait = absl::Seconds(5);

std::string ReadConfig() {
  const char* root = std::getenv("TEST_SRCDIR");
  std::ifstream in(absl::StrCat(root == nullptr ? "." : root,
                                "/micro_nats/examples/greeter/testdata/"
                                "authorization.conf"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

micro_nats::nats::ConnectionOptions As(const std::string& user,
                                       const NatsServer& server) {
  return {.servers = {server.url()},
          .user = user,
          .password = absl::StrCat(user, "-secret"),
          .inbox_prefix = absl::StrCat("_INBOX.", user)};
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config = ReadConfig();
    ASSERT_NE(config.find("authorization"), std::string::npos)
        << "testdata/authorization.conf not found";
    MN_ASSERT_OK_AND_ASSIGN(server_,
                            NatsServer::Start({.extra_config = config}));
    MN_ASSERT_OK_AND_ASSIGN(
        greeter_, StartGreeter({.servers = {server_->url()},
                                .connection_options = As("greeter", *server_)},
                               "real-1", handler_));
  }

  std::unique_ptr<NatsServer> server_;
  Greeter handler_{"real-1"};
  std::unique_ptr<Service> greeter_;
};

TEST_F(AuthorizationTest, ACallerCannotAnswerLookupsOrSrvQueries) {
  // The caller, turned rogue, tries to answer both kinds of lookup.
  MN_ASSERT_OK_AND_ASSIGN(std::shared_ptr<Connection> rogue,
                          Connection::Connect(As("caller", *server_)));
  std::atomic<int> rogue_answers{0};
  Collector<absl::Status> refusals;
  auto answer = [&](const std::string& body) {
    return [&, body](natsMsg* msg) {
      ++rogue_answers;
      rogue->Publish(micro_nats::nats::Reply(msg), body).IgnoreError();
    };
  };
  auto on_error = [&](const absl::Status& status) { refusals.Add(status); };
  MN_ASSERT_OK_AND_ASSIGN(
      auto query,
      rogue->Subscribe("micro.nats.query",
                       answer(R"({"name":"greeter","version":"6.6.6",)"
                              R"("nodes":[{"id":"rogue-1",)"
                              R"("address":"_INBOX.rogue"}]})"),
                       {.on_error = on_error}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto info,
      rogue->Subscribe(srv::ControlSubject(srv::Verb::kInfo, kServiceName),
                       answer("{}"), {.on_error = on_error}));
  // Nor may it read the answers others get.
  MN_ASSERT_OK_AND_ASSIGN(auto spy, rogue->Subscribe("_INBOX.>", answer("{}"),
                                                     {.on_error = on_error}));
  // The server refuses the three subscriptions, and nats.c reports it.
  ASSERT_TRUE(refusals.WaitForCount(3, kWait));
  for (const absl::Status& status : refusals.Snapshot()) {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied));
  }

  // Another caller's lookups, through both registries, find only the real
  // instance, and calls reach it.
  MN_ASSERT_OK_AND_ASSIGN(std::shared_ptr<Connection> caller,
                          Connection::Connect(As("caller", *server_)));
  MN_ASSERT_OK_AND_ASSIGN(auto micro, registry::NewNatsRegistry(caller));
  MN_ASSERT_OK_AND_ASSIGN(auto found, micro->GetService(kServiceName));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].nodes.size(), 1u);
  EXPECT_EQ(found[0].nodes[0].id, "real-1");
  MN_ASSERT_OK_AND_ASSIGN(auto by_srv, registry::NewSrvRegistry(caller));
  MN_ASSERT_OK_AND_ASSIGN(auto srv_found, by_srv->GetService(kServiceName));
  ASSERT_EQ(srv_found.size(), 1u);
  ASSERT_EQ(srv_found[0].nodes.size(), 1u);
  EXPECT_EQ(srv_found[0].nodes[0].id, "real-1");
  EXPECT_EQ(rogue_answers.load(), 0);

  NatsServiceOptions options;
  options.connection = caller;
  options.identity.name = "caller";
  MN_ASSERT_OK_AND_ASSIGN(auto client_side, NewNatsService(std::move(options)));
  GreeterClient client(client_side->client(), kServiceName);
  HelloRequest request;
  request.set_name("you");
  MN_ASSERT_OK_AND_ASSIGN(HelloReply reply, client.Hello(request));
  EXPECT_EQ(reply.served_by(), "real-1");
}

TEST_F(AuthorizationTest, ACallerCannotAnnounceANode) {
  Collector<absl::Status> refusals;
  // nats.c reports a refused publish asynchronously, on the connection.
  auto options = As("caller", *server_);
  options.on_async_error = [&](const absl::Status& s) { refusals.Add(s); };
  MN_ASSERT_OK_AND_ASSIGN(std::shared_ptr<Connection> rogue,
                          Connection::Connect(options));
  ASSERT_THAT(rogue->Publish("micro.nats.watch", "{}"), IsOk());
  ASSERT_TRUE(refusals.WaitForCount(1, kWait));
  EXPECT_THAT(refusals.Snapshot()[0],
              StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace greeter
