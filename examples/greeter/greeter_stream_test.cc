// Copyright 2026 The micro-nats Authors.
//
// The greeter's streams: Greeter.Repeat (server streaming) and Greeter.Chat
// (bidirectional) through the generated GreeterClient on a real
// nats-server, and the client binary's --stream on the memory stack.
//
// Run with the client binary's path as the first argument (BUILD does).

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "examples/greeter/greeter_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"

namespace greeter {
namespace {

std::string client_binary;  // argv[1]

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Property;

constexpr absl::Duration kWait = absl::Seconds(10);

class GreeterStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(nats_, NatsServer::Start());
    micro_nats::service::NatsServiceOptions options{.servers = {nats_->url()}};
    micro_nats::service::WidenLookupWindows(options);
    MN_ASSERT_OK_AND_ASSIGN(greeter_,
                            StartGreeter(options, "real-1", handler_));
    options.identity.name = "greeter-caller";
    MN_ASSERT_OK_AND_ASSIGN(caller_,
                            micro_nats::service::NewNatsService(options));
    client_ = std::make_unique<GreeterClient>(caller_->client(), kServiceName);
  }

  // Reads `stream` to its end: the messages, then the status that ended
  // it (OutOfRange: cleanly).
  template <typename Stream>
  static std::pair<std::vector<std::string>, absl::Status> ReadAll(
      Stream& stream) {
    std::vector<std::string> messages;
    for (;;) {
      absl::StatusOr<HelloReply> reply = stream.Recv(absl::Now() + kWait);
      if (!reply.ok()) return {messages, reply.status()};
      EXPECT_EQ(reply->served_by(), "real-1");
      messages.push_back(reply->message());
    }
  }

  std::unique_ptr<NatsServer> nats_;
  Greeter handler_{"real-1"};
  std::unique_ptr<micro_nats::service::Service> greeter_;
  std::unique_ptr<micro_nats::service::Service> caller_;
  std::unique_ptr<GreeterClient> client_;
};

TEST_F(GreeterStreamTest, RepeatSendsEachGreetingInOrder) {
  RepeatRequest request;
  request.set_name("ada");
  request.set_times(3);
  auto stream = client_->Repeat(request);
  ASSERT_THAT(stream, IsOk());
  auto [messages, end] = ReadAll(*stream);
  EXPECT_THAT(messages, ElementsAre("Hello ada (1 of 3)", "Hello ada (2 of 3)",
                                    "Hello ada (3 of 3)"));
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kOutOfRange));

  request.set_times(0);
  auto none = client_->Repeat(request);
  ASSERT_THAT(none, IsOk());
  auto [nothing, none_end] = ReadAll(*none);
  EXPECT_THAT(nothing, ::testing::IsEmpty());
  EXPECT_THAT(none_end, StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(GreeterStreamTest, RepeatEndsWithTheHandlersError) {
  RepeatRequest request;
  request.set_name("ada");
  request.set_times(kMaxRepeats + 1);
  auto stream = client_->Repeat(request);
  ASSERT_THAT(stream, IsOk());
  EXPECT_THAT(stream->Recv(absl::Now() + kWait),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "times is 1001: from 0 to 1000"));
}

TEST_F(GreeterStreamTest, ChatAnswersEachNameAsItComes) {
  auto stream = client_->Chat();
  ASSERT_THAT(stream, IsOk());
  for (const char* name : {"ada", "grace"}) {
    HelloRequest request;
    request.set_name(name);
    ASSERT_THAT(stream->Send(request), IsOk());
    EXPECT_THAT(stream->Recv(absl::Now() + kWait),
                IsOkAndHolds(Property(&HelloReply::message,
                                      absl::StrCat("Hello ", name))));
  }
  // An empty name ends the stream with Hello's error.
  ASSERT_THAT(stream->Send(HelloRequest()), IsOk());
  EXPECT_THAT(stream->Recv(absl::Now() + kWait),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "say who to greet: name is empty"));
}

// The client binary, as a user runs it: its standard output and exit code.
std::pair<std::string, int> RunClient(const std::string& flags) {
  const std::string command =
      absl::StrCat("timeout 30 ", client_binary, " ", flags, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    out.append(buffer, n);
  }
  const int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(GreeterClientBinaryTest, StreamPrintsEachReply) {
  ASSERT_FALSE(client_binary.empty()) << "pass the client binary's path";
  auto [out, code] = RunClient("--memory --stream 3 --name bin");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, ::testing::MatchesRegex(
                       "Hello bin \\(1 of 3\\) \\(from greeter-[^)]+\\)\n"
                       "Hello bin \\(2 of 3\\) \\(from greeter-[^)]+\\)\n"
                       "Hello bin \\(3 of 3\\) \\(from greeter-[^)]+\\)\n"
                       "stream ended after [0-9.]+(us|ms|s)\n"));
  auto [json, json_code] = RunClient("--memory --stream 2 --json");
  EXPECT_EQ(json_code, 0) << json;
  EXPECT_THAT(json, HasSubstr("Hello world (2 of 2)"));
  auto [failed, failed_code] =
      RunClient("--memory --stream 1001 --name too-many");
  EXPECT_EQ(failed_code, 1);
  EXPECT_THAT(failed,
              HasSubstr("INVALID_ARGUMENT: times is 1001: from 0 to 1000"));
}

}  // namespace
}  // namespace greeter

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) greeter::client_binary = argv[1];
  return RUN_ALL_TESTS();
}
