// Copyright 2026 The micro-nats Authors.

#include "registry/internal/gather.h"

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

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

// Answers that arrive while the judge is busy with the last batch, when the
// deadline ends the query, are dropped and counted like the rest of that
// batch (they were lost from the count: 12 of 20 under TSan). The judge
// makes them arrive: it publishes answers, then a marker to an inbox of
// the same mux, whose one thread delivers in order, so once the marker is
// in, the answers are in the query's queue.
TEST_F(GatherTest, AnswersQueuedWhileTheLastBatchIsJudgedAreCounted) {
  absl::Mutex mu;
  std::string reply;  // guarded by mu
  auto sub = conn_->Subscribe("q", [&](natsMsg* msg) {
    {
      absl::MutexLock lock(&mu);
      reply = std::string(nats::Reply(msg));
    }
    conn_->Publish(nats::Reply(msg), "first").IgnoreError();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(conn_->Flush(absl::Seconds(5)), IsOk());
  std::atomic<int> markers{0};
  const std::string marker =
      mux_->Register([&](natsMsg*) { markers.fetch_add(1); });
  // Publishes `count` answers and waits until they are queued.
  auto answer = [&](int count) {
    std::string to;
    {
      absl::MutexLock lock(&mu);
      to = reply;
    }
    const int before = markers.load();
    for (int i = 0; i < count; ++i) {
      conn_->Publish(to, absl::StrCat("answer ", i)).IgnoreError();
    }
    conn_->Publish(marker, "").IgnoreError();
    return ::micro_nats::testing::Eventually(
        [&] { return markers.load() > before; }, absl::Seconds(10),
        "the answers queued");
  };
  // Long enough for the first judge call, a few round trips, under TSan.
  const absl::Duration timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  int calls = 0;
  auto gathered = Gather(
      *mux_, "q", "", {.timeout = timeout, .idle_gap = absl::Seconds(10)},
      "test", [&](absl::string_view, const Headers&, absl::Duration) {
        ++calls;
        if (calls == 1) {
          EXPECT_TRUE(answer(9));  // the next batch: 9
        } else if (calls == 2) {
          EXPECT_TRUE(answer(10));  // queued while this batch is judged
          // A judge that runs past the deadline (and its grace for late
          // answers): the query ends after this call.
          absl::SleepFor(start + timeout + absl::Milliseconds(200) -
                         absl::Now());
        }
        return Verdict{};
      });
  mux_->Unregister(marker);
  ASSERT_THAT(gathered, IsOk());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(gathered->answers, 2u);
  EXPECT_EQ(gathered->dropped, 18u);  // 8 of the batch, 10 queued
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
