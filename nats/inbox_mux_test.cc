// Copyright 2026 The micro-nats Authors.
//
// The inbox mux routes on a thread no handler shares. A binary of its own:
// nats.c's delivery pool is process-wide and only grows, so here it stays
// at one thread, which every pooled subscription shares.

#include "nats/inbox_mux.h"

#include <memory>
#include <string>

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
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

constexpr absl::Duration kWait = absl::Seconds(10);

class InboxMuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(
        conn_, Connection::Connect(
                   {.servers = {server_->url()}, .delivery_threads = 1}));
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<Connection> conn_;
};

TEST_F(InboxMuxTest, OneMuxPerConnection) {
  MN_ASSERT_OK_AND_ASSIGN(auto first, InboxMux::Create(conn_));
  MN_ASSERT_OK_AND_ASSIGN(auto second, InboxMux::Create(conn_));
  EXPECT_EQ(first, second);
  MN_ASSERT_OK_AND_ASSIGN(auto other,
                          Connection::Connect({.servers = {server_->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(auto theirs, InboxMux::Create(other));
  EXPECT_NE(first, theirs);
  // Once nobody holds it, the next caller gets a new one that works.
  first.reset();
  second.reset();
  MN_ASSERT_OK_AND_ASSIGN(auto again, InboxMux::Create(conn_));
  Collector<std::string> answers;
  const std::string inbox = again->Register(
      [&](natsMsg* msg) { answers.Add(std::string(Body(msg))); });
  ASSERT_THAT(conn_->Publish(inbox, "direct"), IsOk());
  ASSERT_TRUE(answers.WaitForCount(1, kWait));
  EXPECT_EQ(answers.Snapshot()[0], "direct");
}

// A handler on the only delivery thread waits for a reply routed by the
// mux: the mux's thread is not the one the handler holds.
TEST_F(InboxMuxTest, AHandlerOnTheDeliveryThreadGetsARoutedReply) {
  MN_ASSERT_OK_AND_ASSIGN(auto mux, InboxMux::Create(conn_));
  MN_ASSERT_OK_AND_ASSIGN(
      auto echo,
      conn_->Subscribe("echo",
                       [this](natsMsg* msg) {
                         conn_->Publish(Reply(msg), Body(msg)).IgnoreError();
                       },
                       {.run_on = HandlerThread::kHandlerPool}));
  Collector<std::string> results;
  MN_ASSERT_OK_AND_ASSIGN(
      auto asker,
      conn_->Subscribe(
          "ask",
          [&](natsMsg* msg) {
            // Shared: the mux may call once more after Unregister.
            auto replies = std::make_shared<Collector<std::string>>();
            const std::string inbox = mux->Register([replies](natsMsg* reply) {
              replies->Add(std::string(Body(reply)));
            });
            conn_->Publish("echo", Body(msg), {.reply = inbox}).IgnoreError();
            const std::string answer = replies->WaitForCount(1, kWait)
                                           ? replies->Snapshot()[0]
                                           : "timed out";
            mux->Unregister(inbox);
            results.Add(answer);
          },
          {.run_on = HandlerThread::kDeliveryThread}));
  ASSERT_THAT(conn_->Flush(kWait), IsOk());
  ASSERT_THAT(conn_->Publish("ask", "one"), IsOk());
  ASSERT_THAT(conn_->Publish("ask", "two"), IsOk());
  ASSERT_TRUE(results.WaitForCount(2, 3 * kWait));
  EXPECT_THAT(results.Snapshot(), ::testing::ElementsAre("one", "two"));
}

// NATS answers "no responders" only to the connection that published the
// request, on its subscription matching the reply subject: the mux's.
TEST_F(InboxMuxTest, NoRespondersReachesTheInbox) {
  MN_ASSERT_OK_AND_ASSIGN(auto mux, InboxMux::Create(conn_));
  Collector<bool> no_responders;
  const std::string inbox = mux->Register(
      [&](natsMsg* msg) { no_responders.Add(natsMsg_IsNoResponders(msg)); });
  ASSERT_THAT(conn_->Publish("nobody.listens", "hi", {.reply = inbox}), IsOk());
  ASSERT_TRUE(no_responders.WaitForCount(1, kWait));
  EXPECT_THAT(no_responders.Snapshot(), ::testing::ElementsAre(true));
}

}  // namespace
}  // namespace micro_nats::nats
