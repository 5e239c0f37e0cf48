// Copyright 2026 The micro-nats Authors.
//
// A hedged call's race (first OK answer wins, the losers are abandoned, a
// handler's error is kept over a node's failure) and the per-endpoint p95.

#include "service/internal/hedge.h"

#include <memory>

#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::service::service_internal {
namespace {

using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;

TEST(HedgeRaceTest, TheFirstOkAnswerWinsAndTheOthersAreCancelled) {
  HedgeRace race;
  int first = -1;
  int second = -1;
  AttemptCancel* a = race.Start(&first);
  AttemptCancel* b = race.Start(&second);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_TRUE(race.Finish(second, Message{.body = "b"}, false));
  EXPECT_TRUE(a->cancelled());
  EXPECT_FALSE(b->cancelled());
  // The loser's late answer is dropped.
  EXPECT_FALSE(race.Finish(first, Message{.body = "a"}, false));
  EXPECT_EQ(race.view().winner, 1);
  EXPECT_THAT(race.Close(),
              IsOkAndHolds(::testing::Field(&Message::body, "b")));
  int third = -1;
  EXPECT_EQ(race.Start(&third), nullptr);  // over
}

TEST(HedgeRaceTest, AHandlersErrorIsKeptOverANodesFailure) {
  HedgeRace race;
  int a = -1;
  int b = -1;
  race.Start(&a);
  race.Start(&b);
  race.Finish(a, absl::InternalError("handler"), /*node_failed=*/false);
  race.Finish(b, absl::UnavailableError("node gone"), /*node_failed=*/true);
  const HedgeRace::View view = race.view();
  EXPECT_FALSE(view.won);
  EXPECT_EQ(view.running, 0);
  EXPECT_FALSE(view.last_node_failed);
  EXPECT_THAT(race.Close(), StatusIs(absl::StatusCode::kInternal, "handler"));
}

TEST(HedgeRaceTest, CloseAbandonsWhatStillRuns) {
  HedgeRace race;
  int a = -1;
  AttemptCancel* cancel = race.Start(&a);
  race.Wait(absl::Now() + absl::Milliseconds(1));  // no answer: times out
  EXPECT_EQ(race.view().running, 1);
  EXPECT_THAT(race.Close(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(cancel->cancelled());
  // A socket registered after the cancel is refused.
  EXPECT_FALSE(cancel->Register(nullptr));
}

TEST(EndpointLatenciesTest, TheP95NeedsEnoughSamples) {
  EndpointLatencies latencies;
  EXPECT_EQ(latencies.P95("svc.E", absl::Milliseconds(7)),
            absl::Milliseconds(7));
  for (int i = 1; i <= 100; ++i) {
    latencies.Record("svc.E", absl::Milliseconds(i));
  }
  const absl::Duration p95 = latencies.P95("svc.E", absl::Milliseconds(7));
  // Log buckets: within a bucket's width (a fifth) of 95 ms.
  EXPECT_GT(p95, absl::Milliseconds(80));
  EXPECT_LT(p95, absl::Milliseconds(115));
  EXPECT_EQ(latencies.P95("svc.Other", absl::Milliseconds(7)),
            absl::Milliseconds(7));
}

}  // namespace
}  // namespace micro_nats::service::service_internal
