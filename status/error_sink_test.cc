// Copyright 2026 The micro-nats Authors.

#include "status/error_sink.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::StatusIs;

TEST(ErrorSinkTest, ScopedSinkSeesWhoReportedAndWhat) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  ReportError({"service", "greeter"}, absl::InternalError("handler threw"));
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(5)));
  const ErrorReport report = got.Snapshot()[0];
  EXPECT_EQ(report.component, "service");
  EXPECT_EQ(report.instance, "greeter");
  EXPECT_THAT(report.status,
              StatusIs(absl::StatusCode::kInternal, "handler threw"));
  EXPECT_EQ(report.suppressed, 0);
}

TEST(ErrorSinkTest, OkIsNotAReport) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  ReportError({"broker"}, absl::OkStatus());
  ReportError({"broker"}, absl::UnavailableError("down"));
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(got.size(), 1u);
}

TEST(ErrorSinkTest, ScopesNestAndRestore) {
  Collector<ErrorReport> outer;
  Collector<ErrorReport> inner;
  ScopedErrorSink outer_sink([&](const ErrorReport& r) { outer.Add(r); });
  {
    ScopedErrorSink inner_sink([&](const ErrorReport& r) { inner.Add(r); });
    ReportError({"nats"}, absl::UnavailableError("a"));
  }
  ReportError({"nats"}, absl::UnavailableError("b"));
  ASSERT_TRUE(inner.WaitForCount(1, absl::Seconds(5)));
  ASSERT_TRUE(outer.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(inner.Snapshot()[0].status.message(), "a");
  EXPECT_EQ(outer.Snapshot()[0].status.message(), "b");
  EXPECT_EQ(inner.size(), 1u);
  EXPECT_EQ(outer.size(), 1u);
}

TEST(ErrorSinkTest, ASetHookGetsEveryReportInsteadOfTheSink) {
  Collector<ErrorReport> sunk;
  ScopedErrorSink sink([&](const ErrorReport& r) { sunk.Add(r); });
  Collector<absl::Status> hooked;
  const ErrorHook hook = [&](const absl::Status& s) { hooked.Add(s); };
  for (int i = 0; i < 3; ++i) {
    ReportError(hook, {"transport"}, absl::ResourceExhaustedError("full"));
  }
  ASSERT_TRUE(hooked.WaitForCount(3, absl::Seconds(5)));
  EXPECT_EQ(sunk.size(), 0u);
  ReportError(ErrorHook(), {"transport"}, absl::ResourceExhaustedError("x"));
  ASSERT_TRUE(sunk.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(sunk.Snapshot()[0].component, "transport");
}

TEST(ErrorSinkTest, RepeatsOfOneCauseAreHeldBackAndCounted) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  for (int i = 0; i < 5; ++i) {
    ReportError({"scheduler"}, absl::InternalError("a callback threw"));
  }
  // Another reporter, code or message is another cause.
  ReportError({"thread_pool"}, absl::InternalError("a callback threw"));
  ReportError({"scheduler"}, absl::UnknownError("a callback threw"));
  ReportError({"scheduler"}, absl::InternalError("other"));
  ASSERT_TRUE(got.WaitForCount(4, absl::Seconds(5)));
  EXPECT_EQ(got.size(), 4u);
  // Once the first cause is quiet for its interval, its tail comes (with the
  // next report of any cause, or from the flusher): the four held back, as
  // one.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        ReportError({"scheduler"}, absl::InternalError("other"));
        return got.size() >= 5;
      },
      absl::Seconds(10), "the held-back tail"));
  const std::vector<ErrorReport> all = got.Snapshot();
  int64_t first_cause = 0;
  for (const ErrorReport& r : all) {
    if (r.component == "scheduler" &&
        r.status.message() == "a callback threw" &&
        r.status.code() == absl::StatusCode::kInternal) {
      first_cause += 1 + r.suppressed;
    }
  }
  EXPECT_EQ(first_cause, 5);  // every report accounted for
}

// A burst, then silence: the count held back still comes out once the
// cause's second is up, with no later report to carry it.
TEST(ErrorSinkTest, AHeldBackCountIsToldWithoutALaterReport) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  const absl::Time start = absl::Now();
  for (int i = 0; i < 5; ++i) {
    ReportError({"broker", "burst"}, absl::InternalError("handler failed"));
  }
  ASSERT_TRUE(got.WaitForCount(2, absl::Seconds(10)));
  // Not before the interval: the limit still holds.
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  const std::vector<ErrorReport> all = got.Snapshot();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].suppressed, 0);
  EXPECT_EQ(all[1].instance, "burst");
  EXPECT_EQ(all[1].suppressed, 3);  // the one told and 3 more: 4 held back
}

// A sink replaced is given what was held back for it, due or not.
TEST(ErrorSinkTest, ASinkReplacedIsGivenWhatItHeldBack) {
  Collector<ErrorReport> outer;
  ScopedErrorSink outer_sink([&](const ErrorReport& r) { outer.Add(r); });
  Collector<ErrorReport> inner;
  {
    ScopedErrorSink inner_sink([&](const ErrorReport& r) { inner.Add(r); });
    for (int i = 0; i < 3; ++i) {
      ReportError({"transport"}, absl::ResourceExhaustedError("full"));
    }
    EXPECT_EQ(inner.size(), 1u);  // the rest held back
  }
  const std::vector<ErrorReport> all = inner.Snapshot();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].suppressed, 1);  // the one told and 1 more
  EXPECT_EQ(outer.size(), 0u);
}

// A sink given its held-back count as it is replaced may report from there:
// the report goes to the new sink and the swap returns. Before, the tail
// was given under the sink lock, which that report took again on the same
// thread (a deadlock; libstdc++ threw EDEADLK through SetErrorSink).
TEST(ErrorSinkTest, AReplacedSinkMayReportFromItsTail) {
  Collector<ErrorReport> after;
  ScopedErrorSink outer([&](const ErrorReport& r) { after.Add(r); });
  Collector<ErrorReport> before;
  auto replaced = std::make_unique<ScopedErrorSink>([&](const ErrorReport& r) {
    before.Add(r);
    if (before.size() == 2) {  // the tail, given as it is replaced
      ReportError({"sink"}, absl::InternalError("from the tail"));
    }
  });
  for (int i = 0; i < 2; ++i) {
    ReportError({"transport"}, absl::ResourceExhaustedError("full"));
  }
  ASSERT_EQ(before.size(), 1u);  // the other held back
  absl::Notification swapped;
  std::thread swapper([&] {
    replaced.reset();
    swapped.Notify();
  });
  if (!swapped.WaitForNotificationWithTimeout(absl::Seconds(10))) {
    // Stuck under the sink lock: nothing after this could end.
    std::fprintf(stderr, "the sink swap did not return within 10 s\n");
    std::abort();
  }
  swapper.join();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before.Snapshot()[1].status.message(), "full");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.Snapshot()[0].status.message(), "from the tail");
}

// Nor do other reporters wait while a replaced sink is given its tail:
// they go to the new sink meanwhile. Before, they waited on the sink lock
// the swap held (the tail's sink waited its 5 s for them in vain).
TEST(ErrorSinkTest, ReportsGoOnWhileAReplacedSinkIsGivenItsTail) {
  Collector<ErrorReport> after;
  ScopedErrorSink outer([&](const ErrorReport& r) { after.Add(r); });
  std::atomic<int> calls{0};
  std::atomic<bool> went_on{false};
  std::thread other;
  auto replaced = std::make_unique<ScopedErrorSink>([&](const ErrorReport&) {
    if (calls.fetch_add(1) != 1) return;  // not the tail
    other = std::thread(
        [] { ReportError({"other"}, absl::InternalError("meanwhile")); });
    went_on = after.WaitForCount(1, absl::Seconds(5));
  });
  for (int i = 0; i < 2; ++i) {
    ReportError({"transport"}, absl::ResourceExhaustedError("full"));
  }
  replaced.reset();
  ASSERT_TRUE(other.joinable());
  other.join();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(went_on.load());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.Snapshot()[0].status.message(), "meanwhile");
}

// The child of the exit tests below. A cause is reported twice (one held
// back: the flusher tells it a second later), and while the flusher gives
// that tail to the sink, twice more (held back again), then the process
// exits. The sink writes each report's held-back count to stderr, with
// "beside" when another delivery was in the sink at the same time. The
// flusher's delivery waits for exit to begin, then up to 300 ms for exit's
// own tail to come in beside it, or (`block`) does not return.
void ExitWhileTheFlusherIsInTheSink(bool block) {
  // Never destroyed: used at exit, maybe by the flusher beside it. Standard
  // locks: TSan sees them (Debian's Abseil is not instrumented).
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int inside = 0;        // guarded by mu
    int entered = 0;       // guarded by mu
    bool in_sink = false;  // guarded by mu: the flusher's delivery came
    bool exiting = false;  // guarded by mu
    bool blocks = false;
  };
  static Shared* const shared = new Shared;
  shared->blocks = block;
  SetErrorSink([](const ErrorReport& r) {
    Shared& s = *shared;
    std::unique_lock<std::mutex> lock(s.mu);
    const bool beside = s.inside++ > 0;
    s.cv.notify_all();
    if (++s.entered == 2) {  // the flusher's
      s.in_sink = true;
      s.cv.notify_all();
      s.cv.wait_for(lock, std::chrono::seconds(30), [&] { return s.exiting; });
      if (s.blocks) {
        s.cv.wait_for(lock, std::chrono::seconds(60), [] { return false; });
      }
      s.cv.wait_for(lock, std::chrono::milliseconds(300),
                    [&] { return s.inside > 1; });
    }
    std::fprintf(stderr, "delivered %d%s\n", static_cast<int>(r.suppressed),
                 beside ? " beside" : "");
    --s.inside;
  });
  const ErrorSource source{"exit"};
  ReportError(source, absl::InternalError("burst"));  // told
  ReportError(source, absl::InternalError("burst"));  // held: the flusher's
  // Runs before the flush at exit (registered with the first count held).
  std::atexit([] {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->exiting = true;
    shared->cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(shared->mu);
    if (!shared->cv.wait_for(lock, std::chrono::seconds(10),
                             [] { return shared->in_sink; })) {
      std::fprintf(stderr, "the flusher did not come\n");
      std::_Exit(2);
    }
  }
  ReportError(source, absl::InternalError("burst"));  // held: exit's
  ReportError(source, absl::InternalError("burst"));
  std::exit(0);
}

// At exit the flusher is stopped and waited for before the rest is told:
// the tail it is giving the sink ends before exit's (newer) one starts,
// each told once. Before, exit told its tail beside the flusher's, and
// went on to destroy statics under it.
TEST(ErrorSinkExitTest, ExitWaitsForTheFlusherThenTellsTheRestOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitWhileTheFlusherIsInTheSink(/*block=*/false),
              ::testing::ExitedWithCode(0),
              "^delivered 0\ndelivered 0\ndelivered 1\n$");
}

// A sink that does not return holds exit up only a while (a second), and
// what was held back for it is still told.
TEST(ErrorSinkExitTest, ASinkThatBlocksDoesNotHangExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const absl::Time start = absl::Now();
  EXPECT_EXIT(ExitWhileTheFlusherIsInTheSink(/*block=*/true),
              ::testing::ExitedWithCode(0),
              "^delivered 0\ndelivered 1 beside\n$");
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(ErrorSinkTest, AFloodOfDistinctCausesIsBounded) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  for (int i = 0; i < 500; ++i) {
    ReportError({"registry/nats"},
                absl::InvalidArgumentError(absl::StrCat("bad input ", i)));
  }
  // 64 causes tracked one by one, and one for all the rest.
  EXPECT_EQ(got.size(), 65u);
}

TEST(ErrorSinkTest, ReportsFromManyThreads) {
  Collector<ErrorReport> got;
  ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 100; ++i) {
        ReportError({"broker", absl::StrCat("b", t)},
                    absl::InternalError("handler failed"));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(got.size(), 4u);  // one per instance
}

TEST(ErrorSinkTest, TheDefaultLineNamesTheReporterAndEscapes) {
  EXPECT_EQ(FormatErrorReport({"transport", "", absl::UnavailableError("x")}),
            "micro-nats transport: UNAVAILABLE: x");
  EXPECT_EQ(FormatErrorReport(
                {"service", "greeter", absl::InternalError("bad\nline\\"), 3}),
            "micro-nats service(greeter): INTERNAL: bad\\x0aline\\x5c "
            "(3 more like it held back)");
}

TEST(ErrorSinkTest, TheDefaultSinkWritesOneLineToStderr) {
  SetErrorSink(nullptr);
  ::testing::internal::CaptureStderr();
  ReportError({"registry/srv"}, absl::DataLossError("dropped bad input"));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "micro-nats registry/srv: DATA_LOSS: dropped bad input\n");
}

}  // namespace
}  // namespace micro_nats
