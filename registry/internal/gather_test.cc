// Copyright 2026 The micro-nats Authors.

#include "registry/internal/gather.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"

namespace micro_nats::registry::registry_internal {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

class GatherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(
        conn_, nats::Connection::Connect({.servers = {server_->url()}}));
    MN_ASSERT_OK_AND_ASSIGN(mux_, nats::InboxMux::Create(conn_));
  }

  // Answers each query with `count` answers of `size` bytes.
  void Answer(int count, size_t size) {
    auto sub = conn_->Subscribe("q", [this, count, size](natsMsg* msg) {
      const std::string reply(nats::Reply(msg));
      for (int i = 0; i < count; ++i) {
        conn_->Publish(reply, std::string(size, 'a' + i % 26)).IgnoreError();
      }
    });
    ASSERT_THAT(sub, IsOk());
    responder_ = std::move(sub).value();
    ASSERT_THAT(conn_->Flush(absl::Seconds(5)), IsOk());
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> conn_;
  std::shared_ptr<nats::InboxMux> mux_;
  std::unique_ptr<nats::Subscription> responder_;
};

// Issue 22: with census hints on, answers were decoded on nats.c's shared
// delivery thread, holding up every subscription that shares it. The judge
// (which decodes) runs on the caller's thread.
TEST_F(GatherTest, AnswersAreJudgedOnTheCallersThread) {
  Answer(3, 10);
  const std::thread::id caller = std::this_thread::get_id();
  int judged = 0;
  int elsewhere = 0;
  auto gathered =
      Gather(*mux_, "q", "", {.timeout = absl::Seconds(5)}, "test",
             [&](absl::string_view, const Headers&, absl::Duration) {
               ++judged;
               if (std::this_thread::get_id() != caller) ++elsewhere;
               return Verdict{};
             });
  ASSERT_THAT(gathered, IsOk());
  EXPECT_EQ(gathered->answers, 3u);
  EXPECT_EQ(judged, 3);
  EXPECT_EQ(elsewhere, 0);
}

// What a query takes in is bounded: answers past max_answers or max_bytes
// are dropped unread, and counted.
TEST_F(GatherTest, AnswersPastTheCapsAreDroppedAndCounted) {
  Answer(10, 1000);
  size_t judged = 0;
  auto by_count =
      Gather(*mux_, "q", "",
             {.timeout = absl::Seconds(5),
              .idle_gap = absl::Milliseconds(200),
              .max_answers = 4},
             "test", [&](absl::string_view, const Headers&, absl::Duration) {
               ++judged;
               return Verdict{};
             });
  ASSERT_THAT(by_count, IsOk());
  EXPECT_EQ(by_count->answers, 4u);
  EXPECT_EQ(judged, 4u);
  EXPECT_EQ(by_count->dropped, 6u);
  auto by_bytes =
      Gather(*mux_, "q", "",
             {.timeout = absl::Seconds(5),
              .idle_gap = absl::Milliseconds(200),
              .max_bytes = 2500},
             "test", [&](absl::string_view, const Headers&, absl::Duration) {
               return Verdict{};
             });
  ASSERT_THAT(by_bytes, IsOk());
  EXPECT_EQ(by_bytes->answers, 2u);
  EXPECT_EQ(by_bytes->dropped, 8u);
}

// A judge slower than the deadline: the answers still waiting when it
// passes are dropped, and the query returns.
TEST_F(GatherTest, TheDeadlineBoundsJudging) {
  Answer(20, 10);
  // Judging all 20 would take 2 s: the deadline cuts it to about 1 s. Long
  // enough for the 20 answers to arrive under TSan on a loaded machine
  // (200 ms was not: 5 of 20 came), so all are counted, judged or dropped.
  const absl::Duration timeout = absl::Seconds(1);
  const absl::Time start = absl::Now();
  auto gathered =
      Gather(*mux_, "q", "", {.timeout = timeout, .idle_gap = absl::Seconds(5)},
             "test", [&](absl::string_view, const Headers&, absl::Duration) {
               absl::SleepFor(absl::Milliseconds(100));  // a costly decode
               return Verdict{};
             });
  ASSERT_THAT(gathered, IsOk());
  EXPECT_LT(absl::Now() - start, timeout + absl::Milliseconds(500));
  EXPECT_LT(gathered->answers, 20u);
  EXPECT_EQ(gathered->answers + gathered->dropped, 20u);
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
