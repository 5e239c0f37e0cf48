// Copyright 2026 The micro-nats Authors.
//
// Handlers that block must never stop the routing of replies. A binary of
// its own: nats.c's delivery pool is process-wide and only grows, so here
// it stays at one thread, the tightest it can be.

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats::transport {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::NatsServer;

constexpr absl::Duration kWait = absl::Seconds(20);

class ServingSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    // One Connection, one delivery thread: listeners, the client sockets
    // and their replies all share it.
    MN_ASSERT_OK_AND_ASSIGN(
        conn_, nats::Connection::Connect(
                   {.servers = {server_->url()}, .delivery_threads = 1}));
    MN_ASSERT_OK_AND_ASSIGN(transport_, NewNatsTransport(conn_));
  }

  // A listener that answers "re:<body>".
  std::unique_ptr<Listener> Echo() {
    auto listener = transport_->Listen("");
    EXPECT_THAT(listener, IsOk());
    if (!listener.ok()) return nullptr;
    EXPECT_THAT((*listener)->AcceptMessages(
                    [](const std::shared_ptr<Socket>& socket, Message m) {
                      socket->Send({.body = "re:" + m.body}).IgnoreError();
                    }),
                IsOk());
    return std::move(listener).value();
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> conn_;
  std::unique_ptr<Transport> transport_;
};

TEST_F(ServingSafetyTest, AHandlerThatCallsAnotherListenerStillAnswers) {
  std::unique_ptr<Listener> inner = Echo();
  ASSERT_NE(inner, nullptr);
  const std::string inner_address = inner->Address();
  MN_ASSERT_OK_AND_ASSIGN(auto outer, transport_->Listen(""));
  ASSERT_THAT(outer->AcceptMessages([&](const std::shared_ptr<Socket>& socket,
                                        Message message) {
    // A nested call on the same Connection: its reply is routed while this
    // handler waits for it.
    std::string answer = "nested call failed";
    auto nested = transport_->Dial(inner_address);
    if (nested.ok() && (*nested)->Send({.body = message.body}).ok()) {
      auto reply = (*nested)->Recv(absl::Now() + kWait);
      answer = reply.ok() ? reply->body : reply.status().ToString();
    }
    socket->Send({.body = answer}).IgnoreError();
  }),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial(outer->Address()));
  for (int i = 0; i < 5; ++i) {
    const std::string body = absl::StrCat("call-", i);
    ASSERT_THAT(socket->Send({.body = body}), IsOk());
    EXPECT_THAT(socket->Recv(absl::Now() + kWait),
                IsOkAndHolds(::testing::Field(&Message::body, "re:" + body)));
  }
}

TEST_F(ServingSafetyTest, BlockedHandlersDoNotStopReplies) {
  constexpr int kBlocked = 64;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Collector<std::string> started;
  MN_ASSERT_OK_AND_ASSIGN(
      auto blocking, transport_->Listen("", {.max_sockets = 2 * kBlocked,
                                             .handler_threads = kBlocked}));
  ASSERT_THAT(
      blocking->AcceptMessages(
          [&](const std::shared_ptr<Socket>& socket, Message message) {
            started.Add(message.body);
            // Bounded: a failing test ends rather than hangs.
            released.wait_for(std::chrono::seconds(60));
            socket->Send({.body = "done:" + message.body}).IgnoreError();
          }),
      IsOk());
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < kBlocked; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial(blocking->Address()));
    ASSERT_THAT(socket->Send({.body = std::to_string(i)}), IsOk());
    sockets.push_back(std::move(socket));
  }
  ASSERT_TRUE(started.WaitForCount(kBlocked, kWait))
      << started.size() << " of " << kBlocked << " handlers started";

  // Every handler holds its thread; replies on other listeners and on new
  // sockets of the same Connection are still routed.
  std::unique_ptr<Listener> echo = Echo();
  ASSERT_NE(echo, nullptr);
  for (int i = 0; i < 3; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial(echo->Address()));
    ASSERT_THAT(socket->Send({.body = "ping"}), IsOk());
    EXPECT_THAT(socket->Recv(absl::Now() + kWait),
                IsOkAndHolds(::testing::Field(&Message::body, "re:ping")));
  }

  release.set_value();
  for (int i = 0; i < kBlocked; ++i) {
    EXPECT_THAT(sockets[i]->Recv(absl::Now() + kWait),
                IsOkAndHolds(::testing::Field(&Message::body,
                                              absl::StrCat("done:", i))));
  }
}

}  // namespace
}  // namespace micro_nats::transport
