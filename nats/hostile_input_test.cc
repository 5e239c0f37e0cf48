// Copyright 2026 The micro-nats Authors.
//
// The //nats layer is the one choke point every path to the wire passes:
// subjects and headers a peer could have chosen (a Service API endpoint's
// subject, a caller's metadata) are refused there before nats.c writes them
// verbatim into its protocol lines. Each case checks, on a real server,
// that nothing was injected and that the connection stays up.

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
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
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(5);

// A subject that, written raw, ends the PUB line and starts another.
constexpr char kInjectingSubject[] =
    "victim\r\nPUB injected.by.info 8\r\nINJECTED";

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(conn_,
                            Connection::Connect({.servers = {server_->url()}}));
    MN_ASSERT_OK_AND_ASSIGN(watcher_,
                            Connection::Connect({.servers = {server_->url()}}));
    // Everything published in the account, as a peer would see it.
    MN_ASSERT_OK_AND_ASSIGN(
        everything_, watcher_->Subscribe(">", [this](natsMsg* msg) {
          seen_.Add(std::string(Subject(msg)) + " " + std::string(Body(msg)));
        }));
    ASSERT_THAT(watcher_->Flush(kWait), IsOk());
  }

  // Publishes a sentinel after the attempt: once the watcher has it,
  // anything the attempt had sent would have arrived before it.
  std::vector<std::string> SeenAfterSentinel() {
    EXPECT_THAT(conn_->Publish("sentinel", "end"), IsOk());
    EXPECT_TRUE(Eventually(
        [this] {
          const std::vector<std::string> items = seen_.Snapshot();
          return !items.empty() && items.back() == "sentinel end";
        },
        kWait, "the sentinel arrives"));
    return seen_.Snapshot();
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<Connection> conn_;
  std::shared_ptr<Connection> watcher_;
  std::unique_ptr<Subscription> everything_;
  Collector<std::string> seen_;
};

TEST_F(HostileInputTest, PublishRefusesSubjectsThatWouldInjectProtocol) {
  EXPECT_THAT(conn_->Publish(kInjectingSubject, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spaces or control characters")));
  EXPECT_THAT(conn_->Publish("has space", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      conn_->Publish("ok", "x", {.reply = kInjectingSubject}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reply subject")));
  // The headers path builds a natsMsg: the same checks.
  EXPECT_THAT(conn_->Publish(kInjectingSubject, "x", {.headers = {{"A", "b"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn_->Publish("wild.*", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SeenAfterSentinel(), ::testing::ElementsAre("sentinel end"));
  EXPECT_TRUE(conn_->IsConnected());
}

TEST_F(HostileInputTest, RequestRefusesInjectingSubjectsAndHeaders) {
  const absl::Time deadline = absl::Now() + kWait;
  EXPECT_THAT(conn_->Request(kInjectingSubject, "x", {}, deadline),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      conn_->Request("svc", "x", {{"X-Trace", "1\r\nX-Injected: 1"}}, deadline),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line break")));
  EXPECT_THAT(
      conn_->Request("svc", "x", {{"X-Trace: 1\r\nX-Injected", "1"}}, deadline),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("invalid header name")));
  EXPECT_THAT(SeenAfterSentinel(), ::testing::ElementsAre("sentinel end"));
  EXPECT_TRUE(conn_->IsConnected());
}

TEST_F(HostileInputTest, PublishMsgChecksMessagesNatsCBuilt) {
  natsMsg* raw = nullptr;
  ASSERT_EQ(natsMsg_Create(&raw, "ok.subject", nullptr, "x", 1), NATS_OK);
  NatsMsgPtr msg(raw);
  ASSERT_EQ(natsMsgHeader_Set(msg.get(), "X-Bad", "1\r\nX-Injected: 1"),
            NATS_OK);
  EXPECT_THAT(conn_->PublishMsg(msg.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));

  ASSERT_EQ(natsMsg_Create(&raw, "ok subject", nullptr, "x", 1), NATS_OK);
  NatsMsgPtr spaced(raw);
  EXPECT_THAT(conn_->PublishMsg(spaced.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));

  ASSERT_EQ(natsMsg_Create(&raw, "ok.subject", nullptr, "x", 1), NATS_OK);
  NatsMsgPtr good(raw);
  ASSERT_EQ(natsMsgHeader_Set(good.get(), "X-Good", "1"), NATS_OK);
  EXPECT_THAT(conn_->PublishMsg(good.get()), IsOk());
  EXPECT_THAT(SeenAfterSentinel(),
              ::testing::ElementsAre("ok.subject x", "sentinel end"));
}

TEST_F(HostileInputTest, SubscribeRefusesBadSubjectsAndQueueGroups) {
  auto ignore = [](natsMsg*) {};
  EXPECT_THAT(conn_->Subscribe("a b", ignore),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("subscription subject")));
  EXPECT_THAT(conn_->Subscribe("a\r\nUNSUB 1", ignore),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn_->Subscribe("a.>.b", ignore),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      conn_->Subscribe("a", ignore, {.queue = "q 1"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("queue group")));
  EXPECT_THAT(conn_->Subscribe("a", ignore, {.queue = "q\r\nPUB x 1"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Patterns and queue groups that are valid still work.
  EXPECT_THAT(conn_->Subscribe("a.*.c", ignore, {.queue = "q"}), IsOk());
  EXPECT_TRUE(conn_->IsConnected());
}

TEST_F(HostileInputTest, ErrorMessagesEscapeWhatTheyQuote) {
  const absl::Status status = conn_->Publish(kInjectingSubject, "x");
  ASSERT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("\r")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("\n")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("\\r\\n"));
}

// nats.c 3.4.1 read {"A": "", "B": "2"} back as {"A": "B: 2"}, and lost
// every header when the empty one was last (found by
// //fuzz:header_map_fuzzer): empty values are left out.
TEST_F(HostileInputTest, EmptyHeaderValuesDoNotCorruptTheOthers) {
  Collector<Headers> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub,
                          watcher_->Subscribe("headers.*", [&](natsMsg* msg) {
                            got.Add(ReadHeaders(msg));
                          }));
  ASSERT_THAT(watcher_->Flush(kWait), IsOk());
  ASSERT_THAT(
      conn_->Publish("headers.1", "x", {.headers = {{"A", ""}, {"B", "2"}}}),
      IsOk());
  ASSERT_THAT(conn_->Publish("headers.2", "x",
                             {.headers = {{"A", "1"}, {"Z", " \t "}}}),
              IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  EXPECT_EQ(got.Snapshot()[0], (Headers{{"B", "2"}}));
  EXPECT_EQ(got.Snapshot()[1], (Headers{{"A", "1"}}));

  natsMsg* raw = nullptr;
  ASSERT_EQ(natsMsg_Create(&raw, "headers.3", nullptr, "x", 1), NATS_OK);
  NatsMsgPtr msg(raw);
  ASSERT_EQ(natsMsgHeader_Set(msg.get(), "A", ""), NATS_OK);
  EXPECT_THAT(conn_->PublishMsg(msg.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

// Sends `protocol` to the server as a client writing NATS by hand would.
bool SendRaw(int port, const std::string& protocol) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  // PING/PONG: the server has handled what came before once it answers.
  const std::string all = absl::StrCat(
      "CONNECT {\"verbose\":false,\"headers\":true}\r\n", protocol, "PING\r\n");
  ok = ok &&
       send(fd, all.data(), all.size(), 0) == static_cast<ssize_t>(all.size());
  std::string got;
  char buf[4096];
  while (ok && got.find("PONG") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) ok = false;
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return ok;
}

// What nats.c hands over from a hand-written peer: a lone LF stays in a
// value (nats.c splits on CRLF only). ReadHeaders leaves such a header
// out, so it is never echoed back or trusted.
TEST_F(HostileInputTest, ReadHeadersDropsWhatWeWouldNeverSend) {
  Collector<std::pair<Headers, int>> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub,
                          watcher_->Subscribe("raw.headers", [&](natsMsg* msg) {
                            int invalid = 0;
                            Headers headers = ReadHeaders(msg, &invalid);
                            got.Add({std::move(headers), invalid});
                          }));
  ASSERT_THAT(watcher_->Flush(kWait), IsOk());
  const std::string block = "NATS/1.0\r\nA: x\ny\r\nB: 2\r\n\r\n";
  const std::string body = "hi";
  ASSERT_TRUE(SendRaw(
      server_->port(),
      absl::StrCat("HPUB raw.headers ", block.size(), " ",
                   block.size() + body.size(), "\r\n", block, body, "\r\n")));
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot()[0].first, (Headers{{"B", "2"}}));
  EXPECT_EQ(got.Snapshot()[0].second, 1);
}

// nats.c 3.4.1 stored {"a": "1", "aaa": "2"} as a = "2" (found by
// //fuzz:header_map_fuzzer): refused rather than sent corrupted.
TEST(BuildMessageTest, HeaderNamesNatsCConfusesAreRefused) {
  EXPECT_THAT(
      BuildMessage("s", "", {{"a", "1"}, {"aaa", "2"}}, ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("collides")));
  EXPECT_THAT(
      BuildMessage(
          "s", "",
          {{"Micro-Id", "1"}, {"Micro-Error", "2"}, {"Content-Type", "x"}}, ""),
      IsOk());
}

TEST(BuildMessageTest, ChecksSubjectsAndHeaders) {
  EXPECT_THAT(BuildMessage("a.b", "_INBOX.x", {{"K", "v"}}, "body"), IsOk());
  EXPECT_THAT(BuildMessage("a b", "", {}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildMessage("a", "r\n", {}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildMessage("a", "", {{"K", "v\n"}}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildMessage("a", "", {{"K:", "v"}}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildMessage("", "", {}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::nats
