// Copyright 2026 The micro-nats Authors.

#include "status/error_sink.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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
