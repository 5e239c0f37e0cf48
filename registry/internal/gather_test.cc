// Copyright 2026 The micro-nats Authors.

#include "registry/internal/gather.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/internal/lookup.h"
#include "status/error_sink.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::registry::registry_internal {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::testing::HasSubstr;
using ::testing::Not;

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

  // Answers each query with one answer, "first", and keeps its reply inbox
  // for Queue.
  void AnswerOnce() {
    auto sub = conn_->Subscribe("q", [this](natsMsg* msg) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        reply_ = std::string(nats::Reply(msg));
      }
      conn_->Publish(nats::Reply(msg), "first").IgnoreError();
    });
    ASSERT_THAT(sub, IsOk());
    responder_ = std::move(sub).value();
    ASSERT_THAT(conn_->Flush(absl::Seconds(5)), IsOk());
    marker_ = mux_->Register([this](natsMsg*) { markers_.fetch_add(1); });
  }

  // Publishes `count` more answers to the last query and returns once they
  // are in its queue: a marker published after them, to an inbox of the
  // same mux (whose one thread delivers in order), has come.
  ::testing::AssertionResult Queue(int count) {
    std::string to;
    {
      std::lock_guard<std::mutex> lock(mu_);
      to = reply_;
    }
    const int before = markers_.load();
    for (int i = 0; i < count; ++i) {
      conn_->Publish(to, absl::StrCat("answer ", i)).IgnoreError();
    }
    conn_->Publish(marker_, "").IgnoreError();
    return ::micro_nats::testing::Eventually(
        [&] { return markers_.load() > before; }, absl::Seconds(10),
        "the answers queued");
  }

  struct Looked {
    absl::StatusOr<GatherResult> result;
    std::vector<ErrorReport> reports;  // what the error sink was told
    int calls = 0;                     // of the judge
  };

  // A GatherLookup (AnswerOnce's) whose judge runs `judge` at the first
  // answer and then says `verdict`.
  Looked LookUp(const GatherRule& rule, const std::function<void()>& judge,
                const Verdict& verdict) {
    Collector<ErrorReport> reports;
    ScopedErrorSink sink([&](const ErrorReport& r) {
      if (r.component == "registry/test") reports.Add(r);
    });
    BadInput bad("registry/test", nullptr);
    Looked looked;
    looked.result = GatherLookup(
        *mux_, "q", "",
        {.gather = rule, .what = "test lookup", .answerers = "testers"},
        ReconnectStamp(),
        [&](absl::string_view, const Headers&, absl::Duration) {
          if (++looked.calls == 1) judge();
          return verdict;
        },
        BadTally(), bad);
    looked.reports = reports.Snapshot();
    return looked;
  }

  void TearDown() override {
    if (!marker_.empty()) mux_->Unregister(marker_);
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> conn_;
  std::shared_ptr<nats::InboxMux> mux_;
  std::unique_ptr<nats::Subscription> responder_;
  std::mutex mu_;
  std::string reply_;  // guarded by mu_: AnswerOnce's last query's inbox
  std::string marker_;
  std::atomic<int> markers_{0};
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
  AnswerOnce();
  // Long enough for the first judge call, a few round trips, under TSan.
  const absl::Duration timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  int calls = 0;
  auto gathered = Gather(
      *mux_, "q", "", {.timeout = timeout, .idle_gap = absl::Seconds(10)},
      "test", [&](absl::string_view, const Headers&, absl::Duration) {
        ++calls;
        if (calls == 1) {
          EXPECT_TRUE(Queue(9));  // the next batch: 9
        } else if (calls == 2) {
          EXPECT_TRUE(Queue(10));  // queued while this batch is judged
          // A judge that runs past the deadline (and its grace for late
          // answers): the query ends after this call.
          absl::SleepFor(start + timeout + absl::Milliseconds(200) -
                         absl::Now());
        }
        return Verdict{};
      });
  ASSERT_THAT(gathered, IsOk());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(gathered->answers, 2u);
  EXPECT_EQ(gathered->dropped, 18u);  // 8 of the batch, 10 queued
  EXPECT_EQ(gathered->late, 18u);
}

// Answers still waiting when the quorum, or the judge's "complete", ends a
// lookup were not needed: not dropped, and nothing is told. Before, they
// were counted as dropped (5) and told the error sink as dropped bad input:
// a false alarm for every lookup with answers to spare.
TEST_F(GatherTest, AnswersLeftWaitingAtAQuorumOrCompleteAreNotDropped) {
  AnswerOnce();
  const struct {
    int quorum;
    absl::Duration complete_after;
  } kEnds[] = {{1, absl::InfiniteDuration()}, {0, absl::ZeroDuration()}};
  for (const auto& end : kEnds) {
    SCOPED_TRACE(end.quorum > 0 ? "quorum" : "complete");
    const Looked looked = LookUp(
        {.timeout = absl::Seconds(10),
         .idle_gap = absl::Seconds(10),
         .quorum = end.quorum},
        [&] { EXPECT_TRUE(Queue(5)); },
        Verdict{.complete_after = end.complete_after});
    ASSERT_THAT(looked.result, IsOk());
    EXPECT_EQ(looked.calls, 1);
    EXPECT_EQ(looked.result->answers, 1u);
    EXPECT_EQ(looked.result->complete, end.quorum == 0);
    EXPECT_EQ(looked.result->dropped, 0u);
    EXPECT_EQ(looked.result->late, 0u);
    EXPECT_EQ(looked.reports.size(), 0u);
  }
}

// Answers the deadline cut are told as what they are: late answers, not
// bad input (before: "dropped bad input from NATS: ... over 1024 answers or
// 8388608 bytes, or past its deadline").
TEST_F(GatherTest, AnswersTheDeadlineCutAreToldAsLate) {
  AnswerOnce();
  // Long enough for the first answer under TSan on a loaded machine.
  const absl::Duration timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  const Looked looked = LookUp(
      {.timeout = timeout, .idle_gap = absl::Seconds(10)},
      [&] {
        EXPECT_TRUE(Queue(3));
        // A judge that runs past the deadline and its grace.
        absl::SleepFor(start + timeout + absl::Milliseconds(200) - absl::Now());
      },
      Verdict{});
  ASSERT_THAT(looked.result, IsOk());
  EXPECT_EQ(looked.result->answers, 1u);
  EXPECT_EQ(looked.result->dropped, 3u);
  EXPECT_EQ(looked.result->late, 3u);
  ASSERT_EQ(looked.reports.size(), 1u);
  const absl::Status& told = looked.reports[0].status;
  EXPECT_EQ(told.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(told.message()), HasSubstr("late answers"));
  EXPECT_THAT(std::string(told.message()), Not(HasSubstr("bad input")));
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
