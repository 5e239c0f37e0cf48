// Copyright 2026 The micro-nats Authors.
//
// ConnectionOptions' credentials and TLS against a nats-server configured
// for them, and dead-server detection (ping interval) against a frozen one.

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::nats {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// Connection refusals for credentials say so: not Unavailable, which would
// send a caller into retries that cannot succeed.
::testing::Matcher<absl::Status> IsAuthError() {
  return AnyOf(StatusIs(absl::StatusCode::kUnauthenticated),
               StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ConnectionSecurityTest, UserAndPassword) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto server, NatsServer::Start({.extra_config = "authorization {\n"
                                                      "  user: alice\n"
                                                      "  password: s3cret\n"
                                                      "}\n"}));
  auto good = Connection::Connect(
      {.servers = {server->url()}, .user = "alice", .password = "s3cret"});
  ASSERT_THAT(good, IsOk());
  EXPECT_TRUE((*good)->IsConnected());
  auto wrong = Connection::Connect(
      {.servers = {server->url()}, .user = "alice", .password = "guess"});
  EXPECT_THAT(wrong.status(), IsAuthError());
  EXPECT_THAT(wrong.status().message(), HasSubstr(server->url()));
  EXPECT_THAT(Connection::Connect({.servers = {server->url()}}).status(),
              IsAuthError());
}

TEST(ConnectionSecurityTest, Token) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          NatsServer::Start({.extra_config = "authorization {\n"
                                                             "  token: t0ken\n"
                                                             "}\n"}));
  EXPECT_THAT(
      Connection::Connect({.servers = {server->url()}, .token = "t0ken"}),
      IsOk());
  EXPECT_THAT(Connection::Connect({.servers = {server->url()}, .token = "nope"})
                  .status(),
              IsAuthError());
}

// Runs a shell command (openssl); true when it exited 0.
bool Shell(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A CA and a server certificate for 127.0.0.1 it signed, made now with
// Debian's openssl, in `dir`; false when openssl is missing or fails.
bool MakeCertificates(const std::string& dir, const std::string& ca_name) {
  const std::string ca = dir + "/" + ca_name;
  {
    std::ofstream san(dir + "/san.ext");
    san << "subjectAltName=IP:127.0.0.1\n";
    if (!san) return false;
  }
  return Shell(absl::StrCat(
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=",
             ca_name, " -keyout ", ca, "-key.pem -out ", ca, ".pem")) &&
         Shell(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj "
                            "/CN=127.0.0.1 -keyout ",
                            dir, "/server-key.pem -out ", dir,
                            "/server.csr")) &&
         Shell(absl::StrCat("openssl x509 -req -days 1 -in ", dir,
                            "/server.csr -CA ", ca, ".pem -CAkey ", ca,
                            "-key.pem -CAcreateserial -extfile ", dir,
                            "/san.ext -out ", dir, "/server.pem"));
}

TEST(ConnectionSecurityTest, TlsWithTheRightCaConnectsAndAnUnknownCaIsRefused) {
  // Start once to get a directory of the test's own, then restart with TLS.
  MN_ASSERT_OK_AND_ASSIGN(auto plain, NatsServer::Start());
  const std::string dir = plain->dir();
  ASSERT_TRUE(MakeCertificates(dir, "ca")) << "openssl failed";
  // A CA the client may trust instead, which signed nothing of the server's.
  ASSERT_TRUE(Shell(absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other "
      "-keyout ",
      dir, "/other-key.pem -out ", dir, "/other-ca.pem")));
  MN_ASSERT_OK_AND_ASSIGN(
      auto server, NatsServer::Start({.extra_config = absl::StrCat(
                                          "tls {\n  cert_file: \"", dir,
                                          "/server.pem\"\n  key_file: \"", dir,
                                          "/server-key.pem\"\n}\n")}));
  auto trusted =
      Connection::Connect({.servers = {server->url()},
                           .tls = TlsOptions{.ca_file = dir + "/ca.pem"}});
  ASSERT_THAT(trusted, IsOk());
  EXPECT_TRUE((*trusted)->IsConnected());
  // A certificate from a CA the client does not trust: refused, not
  // silently accepted.
  const std::string other = dir + "/other-ca.pem";
  auto untrusted = Connection::Connect(
      {.servers = {server->url()}, .tls = TlsOptions{.ca_file = other}});
  EXPECT_FALSE(untrusted.ok());
  // Without TLS the server does not talk to us either.
  EXPECT_FALSE(Connection::Connect({.servers = {server->url()}}).ok());
}

// A server that stops answering but keeps its TCP connection (a hung host)
// is noticed by pings within seconds: the connection says it is down, so
// callers get Unavailable rather than "nobody answered".
TEST(ConnectionHealthTest, AFrozenServerIsNoticedBySecondsOfMissedPings) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn, Connection::Connect({.servers = {server->url()},
                                      .ping_interval = absl::Milliseconds(200),
                                      .max_pings_out = 2}));
  ASSERT_TRUE(conn->IsConnected());
  ASSERT_THAT(server->Pause(), IsOk());
  EXPECT_TRUE(Eventually([&] { return !conn->IsConnected(); },
                         absl::Seconds(10), "the frozen server noticed"));
  ASSERT_THAT(server->Resume(), IsOk());
  EXPECT_TRUE(Eventually([&] { return conn->IsConnected(); }, absl::Seconds(20),
                         "reconnected once it answers"));
}

TEST(ConnectionHealthTest, TheDefaultsNoticeAFrozenServerInSeconds) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(auto conn,
                          Connection::Connect({.servers = {server->url()}}));
  ASSERT_THAT(server->Pause(), IsOk());
  // ping_interval 2 s, 2 pings out: about 6 s; nats.c's own default is
  // two minutes.
  EXPECT_TRUE(Eventually([&] { return !conn->IsConnected(); },
                         absl::Seconds(15), "the frozen server noticed"));
}

// ConnectionOptions::inbox_prefix: a user allowed to subscribe only under
// its own prefix still gets answers to its requests and its inbox mux's
// replies (SECURITY.md), and cannot subscribe to everyone's inboxes.
TEST(ConnectionSecurityTest, InboxPrefixLetsPermissionsConfineReplies) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          NatsServer::Start({.extra_config = R"(authorization {
  users = [
    { user: alice, password: a
      permissions: { publish: ">", subscribe: "_INBOX.alice.>" } }
    { user: svc, password: s
      permissions: { publish: "_INBOX.>", subscribe: "echo" } }
  ]
}
)"}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      Connection::Connect(
          {.servers = {server->url()}, .user = "svc", .password = "s"}));
  MN_ASSERT_OK_AND_ASSIGN(
      auto echo, responder->Subscribe("echo", [&](natsMsg* msg) {
        responder->Publish(Reply(msg), Body(msg)).IgnoreError();
      }));
  ASSERT_THAT(responder->Flush(absl::Seconds(5)), IsOk());

  Collector<absl::Status> refusals;
  MN_ASSERT_OK_AND_ASSIGN(
      auto alice,
      Connection::Connect(
          {.servers = {server->url()},
           .user = "alice",
           .password = "a",
           .inbox_prefix = "_INBOX.alice",
           .on_async_error = [&](const absl::Status& s) { refusals.Add(s); }}));
  EXPECT_THAT(alice->Inbox(), ::testing::StartsWith("_INBOX.alice."));
  MN_ASSERT_OK_AND_ASSIGN(
      auto reply,
      alice->Request("echo", "hi", {}, absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(Body(reply.get()), "hi");

  MN_ASSERT_OK_AND_ASSIGN(auto mux, InboxMux::Create(alice));
  Collector<std::string> answers;
  const std::string inbox =
      mux->Register([&](natsMsg* msg) { answers.Add(std::string(Body(msg))); });
  EXPECT_THAT(inbox, ::testing::StartsWith("_INBOX.alice."));
  ASSERT_THAT(alice->Publish("echo", "muxed", {.reply = inbox}), IsOk());
  ASSERT_TRUE(answers.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(answers.Snapshot()[0], "muxed");
  mux->Unregister(inbox);

  // Everyone's inboxes stay out of reach.
  MN_ASSERT_OK_AND_ASSIGN(
      auto spy, alice->Subscribe("_INBOX.>", [](natsMsg*) {},
                                 {.on_error = [&](const absl::Status& s) {
                                   refusals.Add(s);
                                 }}));
  ASSERT_TRUE(refusals.WaitForCount(1, absl::Seconds(5)));
  EXPECT_THAT(refusals.Snapshot()[0],
              StatusIs(absl::StatusCode::kPermissionDenied));

  EXPECT_THAT(Connection::Connect(
                  {.servers = {server->url()}, .inbox_prefix = "bad prefix"})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::nats
