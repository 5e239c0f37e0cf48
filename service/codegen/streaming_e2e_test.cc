// Copyright 2026 The micro-nats Authors.
//
// The generated stream methods (testdata/streaming.proto: one rpc of each
// kind) serve end to end: generated client to generated handler, on the
// memory stack and on NATS. And the generated gmock client stands in for a
// real one.

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/codegen/stacks_test_base.h"
#include "service/codegen/testdata/streaming.micro.h"
#include "service/codegen/testdata/streaming.micro_mock.h"
#include "status/status_matchers.h"

namespace micro_test::chat {
namespace {

using ::micro_nats::service::ClientStream;
using ::micro_nats::service::Context;
using ::micro_nats::service::Message;
using ::micro_nats::service::Service;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::Property;

// How many lines History keeps: asking for more is an error mid-stream.
constexpr int kKeptLines = 10;

Line MakeLine(const std::string& text) {
  Line line;
  line.set_text(text);
  return line;
}

class Room : public ChatHandler {
 public:
  absl::Status Send(Context&, const Line& request, Line* response) override {
    response->set_text("got: " + request.text());
    return absl::OkStatus();
  }

  absl::Status History(Context&, const Count& request,
                       HistoryStream& stream) override {
    for (int i = 1; i <= request.lines(); ++i) {
      if (i > kKeptLines) {
        return absl::ResourceExhaustedError("the room keeps 10 lines");
      }
      if (absl::Status sent = stream.Send(MakeLine(absl::StrCat("line ", i)));
          !sent.ok()) {
        return sent;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Tally(Context&, TallyStream& stream, Count* response) override {
    for (;;) {
      absl::StatusOr<Line> line = stream.Recv();
      if (absl::IsOutOfRange(line.status())) return absl::OkStatus();
      if (!line.ok()) return line.status();
      response->set_lines(response->lines() + 1);
      response->set_chars(response->chars() +
                          static_cast<int>(line->text().size()));
    }
  }

  absl::Status Talk(Context& ctx, TalkStream& stream) override {
    for (;;) {
      absl::StatusOr<Line> line = stream.Recv();
      if (absl::IsOutOfRange(line.status())) return absl::OkStatus();
      if (!line.ok()) return line.status();
      if (line->text().empty()) {
        return absl::InvalidArgumentError("an empty line");
      }
      if (absl::Status sent = stream.Send(MakeLine(
              absl::StrCat(ctx.Get("Speaker"), " said: ", line->text())));
          !sent.ok()) {
        return sent;
      }
    }
  }
};

// Reads `stream` to its end: the texts, then the status that ended it
// (OutOfRange: cleanly).
template <typename Stream>
std::pair<std::vector<std::string>, absl::Status> ReadAll(Stream& stream) {
  std::vector<std::string> texts;
  for (;;) {
    absl::StatusOr<Line> line = stream.Recv(absl::Now() + absl::Seconds(10));
    if (!line.ok()) return {texts, line.status()};
    texts.push_back(line->text());
  }
}

class StreamingEndToEndTest
    : public ::micro_nats::service::codegen_testing::StacksTest {
 protected:
  void SetUp() override {
    StacksTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = NewService("chat");
    caller_ = NewService("chatter");
    ASSERT_TRUE(server_ && caller_);
    ASSERT_THAT(RegisterChatHandler(server_->server(), room_), IsOk());
    ASSERT_THAT(server_->Start(), IsOk());
    chat_ = std::make_unique<ChatClient>(caller_->client(), "chat");
  }

  Room room_;
  std::unique_ptr<Service> server_;
  std::unique_ptr<Service> caller_;
  std::unique_ptr<ChatClient> chat_;
};

TEST_P(StreamingEndToEndTest, ServerStreamingSendsEveryResponseInOrder) {
  Count count;
  count.set_lines(3);
  auto stream = chat_->History(count);
  ASSERT_THAT(stream, IsOk());
  auto [texts, end] = ReadAll(*stream);
  EXPECT_THAT(texts, ::testing::ElementsAre("line 1", "line 2", "line 3"));
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kOutOfRange));

  // In JSON too.
  auto json =
      chat_->History(count, {.call = {.content_type = "application/json"}});
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(ReadAll(*json).first.size(), 3u);
}

TEST_P(StreamingEndToEndTest, ServerStreamingEndsWithTheHandlersError) {
  Count count;
  count.set_lines(kKeptLines + 2);
  auto stream = chat_->History(count);
  ASSERT_THAT(stream, IsOk());
  auto [texts, end] = ReadAll(*stream);
  EXPECT_EQ(texts.size(), static_cast<size_t>(kKeptLines));
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kResourceExhausted,
                            "the room keeps 10 lines"));
}

TEST_P(StreamingEndToEndTest, ServerStreamingWithoutARequestIsRefused) {
  // A raw caller that half-closes without sending: the generated
  // registration answers for the handler, which never runs.
  auto raw = caller_->client().StreamRaw("chat", ChatNames::kHistory);
  ASSERT_THAT(raw, IsOk());
  ASSERT_THAT((*raw)->CloseSend(), IsOk());
  EXPECT_THAT((*raw)->Recv(absl::Now() + absl::Seconds(10)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Chat.History takes a request: the stream ended "
                       "without one"));
}

TEST_P(StreamingEndToEndTest, ClientStreamingAnswersOnceAfterTheLast) {
  auto stream = chat_->Tally();
  ASSERT_THAT(stream, IsOk());
  for (const char* text : {"ab", "cde", ""}) {
    ASSERT_THAT(stream->Send(MakeLine(text)), IsOk());
  }
  auto tally = stream->CloseAndRecv(absl::Now() + absl::Seconds(10));
  ASSERT_THAT(tally, IsOk());
  EXPECT_EQ(tally->lines(), 3);
  EXPECT_EQ(tally->chars(), 5);
}

TEST_P(StreamingEndToEndTest, BidiAnswersEachRequestAsItComes) {
  auto stream = chat_->Talk({.call = {.metadata = {{"Speaker", "ada"}}}});
  ASSERT_THAT(stream, IsOk());
  // Each answer read before the next request is sent: no batching.
  for (const char* text : {"hi", "how are you"}) {
    ASSERT_THAT(stream->Send(MakeLine(text)), IsOk());
    EXPECT_THAT(
        stream->Recv(absl::Now() + absl::Seconds(10)),
        IsOkAndHolds(Property(&Line::text, absl::StrCat("ada said: ", text))));
  }
  ASSERT_THAT(stream->CloseSend(), IsOk());
  EXPECT_THAT(stream->Recv(absl::Now() + absl::Seconds(10)),
              StatusIs(absl::StatusCode::kOutOfRange));

  auto failing = chat_->Talk();
  ASSERT_THAT(failing, IsOk());
  ASSERT_THAT(failing->Send(MakeLine("")), IsOk());
  EXPECT_THAT(failing->Recv(absl::Now() + absl::Seconds(10)),
              StatusIs(absl::StatusCode::kInvalidArgument, "an empty line"));
}

TEST_P(StreamingEndToEndTest, UnaryRpcBesideStreamsStillAnswers) {
  EXPECT_THAT(chat_->Send(MakeLine("x")),
              IsOkAndHolds(Property(&Line::text, "got: x")));
}

TEST_P(StreamingEndToEndTest, StreamEndpointsAreRegisteredAsStreams) {
  auto versions = caller_->registry().Lookup("chat");
  ASSERT_THAT(versions, IsOk());
  ASSERT_EQ(versions->services.size(), 1u);
  std::map<std::string, std::string> stream;
  std::map<std::string, std::string> request_types;
  for (const auto& endpoint : versions->services[0].endpoints) {
    auto it = endpoint.metadata.find("stream");
    stream[endpoint.name] = it == endpoint.metadata.end() ? "" : it->second;
    request_types[endpoint.name] =
        endpoint.request ? endpoint.request->name : "";
  }
  EXPECT_EQ(stream[ChatNames::kSend], "");
  EXPECT_EQ(stream[ChatNames::kHistory], "true");
  EXPECT_EQ(stream[ChatNames::kTally], "true");
  EXPECT_EQ(stream[ChatNames::kTalk], "true");
  EXPECT_EQ(request_types[ChatNames::kHistory], "Count");
  EXPECT_EQ(request_types[ChatNames::kTally], "Line");
}

INSTANTIATE_TEST_SUITE_P(Stacks, StreamingEndToEndTest, ::testing::Bool(),
                         StreamingEndToEndTest::StackName);

// A stream that answers with what it was given, then OutOfRange: what a
// test hands a mock client to return.
class CannedStream : public ClientStream {
 public:
  explicit CannedStream(std::deque<std::string> bodies)
      : bodies_(std::move(bodies)) {}
  absl::Status Send(Message, absl::Time) override { return absl::OkStatus(); }
  absl::Status CloseSend() override { return absl::OkStatus(); }
  absl::StatusOr<Message> Recv(absl::Time) override {
    if (bodies_.empty()) return absl::OutOfRangeError("the end");
    Message message{.body = std::move(bodies_.front())};
    bodies_.pop_front();
    return message;
  }
  void Cancel() override {}
  absl::Time deadline() const override { return absl::InfiniteFuture(); }

 private:
  std::deque<std::string> bodies_;
};

// Code under test that depends on the client interface, as a user's would.
std::string LastLine(ChatClientInterface& chat) {
  Count count;
  count.set_lines(5);
  auto stream = chat.History(count);
  if (!stream.ok()) return "none";
  std::string last = "none";
  for (;;) {
    absl::StatusOr<Line> line = stream->Recv();
    if (!line.ok()) return last;
    last = line->text();
  }
}

TEST(MockChatClientTest, StandsInForTheClientsStreams) {
  MockChatClient chat;
  const std::string body = MakeLine("the last").SerializeAsString();
  EXPECT_CALL(chat, History(Property(&Count::lines, 5), ::testing::_))
      .WillOnce([&](const Count&, ::micro_nats::service::StreamOptions) {
        return ChatClientInterface::HistoryStream(
            std::make_unique<CannedStream>(std::deque<std::string>{"", body}),
            ::micro_nats::service::CodecFor(
                ::micro_nats::service::kProtobufContentType)
                .value());
      });
  EXPECT_EQ(LastLine(chat), "the last");
  EXPECT_CALL(chat, History(::testing::_, ::testing::_))
      .WillOnce([](const Count&, ::micro_nats::service::StreamOptions) {
        return absl::UnavailableError("down");
      });
  EXPECT_EQ(LastLine(chat), "none");
}

}  // namespace
}  // namespace micro_test::chat
