// Copyright 2026 The micro-nats Authors.

#include "transport/mock/mock_transport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::transport {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;

// A consumer under test: one request, one reply.
absl::StatusOr<std::string> Call(Transport& transport, const std::string& to,
                                 const std::string& body) {
  auto socket = transport.Dial(to, {});
  if (!socket.ok()) return socket.status();
  if (auto s = (*socket)->Send({.body = body}); !s.ok()) return s;
  auto reply = (*socket)->Recv(absl::Now() + absl::Seconds(1));
  if (!reply.ok()) return reply.status();
  return reply->body;
}

TEST(MockTransportTest, ScriptedRoundTrip) {
  MockTransport transport;
  EXPECT_CALL(transport, Dial(::testing::Eq("greeter"), _))
      .WillOnce([](absl::string_view, DialOptions) {
        auto socket = std::make_unique<NiceMock<MockSocket>>();
        EXPECT_CALL(*socket, Send(Field(&Message::body, "ping")));
        EXPECT_CALL(*socket, Recv(_)).WillOnce(Return(Message{.body = "pong"}));
        return absl::StatusOr<std::unique_ptr<Socket>>(std::move(socket));
      });
  EXPECT_THAT(Call(transport, "greeter", "ping"), IsOkAndHolds("pong"));
}

TEST(MockTransportTest, DefaultsAreHarmless) {
  NiceMock<MockTransport> transport;
  EXPECT_THAT(Call(transport, "any", "x"),
              StatusIs(absl::StatusCode::kOutOfRange));
  auto listener = transport.Listen("", {});
  ASSERT_THAT(listener, IsOk());
  EXPECT_THAT((*listener)->Accept([](std::unique_ptr<Socket>) {}), IsOk());
  EXPECT_THAT((*listener)->Close(), IsOk());
}

TEST(MockTransportTest, DialFailurePropagates) {
  MockTransport transport;
  EXPECT_CALL(transport, Dial(_, _))
      .WillOnce(Return(absl::UnavailableError("no listener")));
  EXPECT_THAT(Call(transport, "gone", "x"),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace micro_nats::transport
