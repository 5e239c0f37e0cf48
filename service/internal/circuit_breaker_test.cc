// Copyright 2026 The micro-nats Authors.
//
// The breaker per node on a fake clock: what opens it, the cool-down and
// its growth, half-open trials, and what it forgets.

#include "service/internal/circuit_breaker.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace micro_nats::service::service_internal {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Breaker = NodeHealth::Breaker;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakers& Breakers(CircuitBreakerOptions options = {}) {
    breakers_ =
        std::make_unique<CircuitBreakers>(options, [this] { return now_; });
    return *breakers_;
  }
  std::set<std::string> Excluded(const std::string& service = "svc") {
    std::set<std::string> exclude;
    breakers_->Exclude(service, &exclude);
    return exclude;
  }
  Breaker StateOf(const std::string& node) {
    for (const NodeHealth& health : breakers_->Health()) {
      if (health.node_id == node) return health.breaker;
    }
    return Breaker::kClosed;
  }
  // Fails `node` `n` times; true when one of them opened it.
  bool Fail(const std::string& node, int n) {
    bool opened = false;
    for (int i = 0; i < n; ++i) {
      opened |= breakers_->Record("svc", node, BreakerOutcome::kFailure);
    }
    return opened;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
  std::unique_ptr<CircuitBreakers> breakers_;
};

TEST_F(CircuitBreakerTest, FailuresInARowOpenIt) {
  auto& breakers = Breakers({.consecutive_failures = 3});
  EXPECT_FALSE(breakers.Tracking());
  EXPECT_FALSE(Fail("a", 2));
  // A success in between starts the count again.
  breakers.Record("svc", "a", BreakerOutcome::kSuccess);
  EXPECT_FALSE(Fail("a", 2));
  EXPECT_THAT(Excluded(), IsEmpty());
  EXPECT_TRUE(Fail("a", 1));
  EXPECT_THAT(Excluded(), ElementsAre("a"));
  EXPECT_EQ(StateOf("a"), Breaker::kOpen);
  EXPECT_FALSE(breakers.Admit("svc", "a"));
  EXPECT_TRUE(breakers.Admit("svc", "b"));
  // Another service's node of the same id is not this one.
  EXPECT_THAT(Excluded("other"), IsEmpty());
}

TEST_F(CircuitBreakerTest, AFailureShareOverTheWindowOpensIt) {
  auto& breakers = Breakers(
      {.consecutive_failures = 100, .failure_ratio = 0.5, .min_calls = 10});
  // Alternating: never two in a row, but half the calls fail.
  bool opened = false;
  int calls = 0;
  for (int i = 0; i < 20 && !opened; ++i) {
    opened = Fail("a", 1);
    ++calls;
    if (!opened) {
      breakers.Record("svc", "a", BreakerOutcome::kSuccess);
      ++calls;
    }
  }
  EXPECT_TRUE(opened);
  EXPECT_GE(calls, 10);  // not before min_calls
  EXPECT_LE(calls, 12);
}

TEST_F(CircuitBreakerTest, ACoolDownLeadsToHalfOpenTrialsThatCloseIt) {
  auto& breakers = Breakers({.consecutive_failures = 1,
                             .cool_down = absl::Seconds(1),
                             .max_cool_down = absl::Seconds(8),
                             .half_open_calls = 2});
  ASSERT_TRUE(Fail("a", 1));
  now_ += absl::Milliseconds(740);  // the jitter is within 25 %
  EXPECT_THAT(Excluded(), ElementsAre("a"));
  now_ += absl::Milliseconds(520);
  EXPECT_THAT(Excluded(), IsEmpty());
  EXPECT_EQ(StateOf("a"), Breaker::kHalfOpen);
  // Two trials at once; a third waits for them.
  EXPECT_TRUE(breakers.Admit("svc", "a"));
  EXPECT_TRUE(breakers.Admit("svc", "a"));
  EXPECT_FALSE(breakers.Admit("svc", "a"));
  EXPECT_THAT(Excluded(), ElementsAre("a"));
  breakers.Record("svc", "a", BreakerOutcome::kSuccess);
  EXPECT_EQ(StateOf("a"), Breaker::kHalfOpen);
  breakers.Record("svc", "a", BreakerOutcome::kSuccess);
  EXPECT_EQ(StateOf("a"), Breaker::kClosed);
  EXPECT_FALSE(breakers.Tracking());  // closed, nothing kept
}

TEST_F(CircuitBreakerTest, AFailedTrialReopensItForLonger) {
  auto& breakers = Breakers({.consecutive_failures = 1,
                             .cool_down = absl::Seconds(1),
                             .max_cool_down = absl::Seconds(3)});
  ASSERT_TRUE(Fail("a", 1));
  // Each failed trial doubles the cool-down, up to max_cool_down (±25 %).
  for (absl::Duration expected : {absl::Seconds(1), absl::Seconds(2),
                                  absl::Seconds(3), absl::Seconds(3)}) {
    now_ += expected * 0.74;
    EXPECT_FALSE(breakers.Admit("svc", "a")) << expected;
    now_ += expected * 0.52;
    ASSERT_TRUE(breakers.Admit("svc", "a")) << expected;
    EXPECT_TRUE(breakers.Record("svc", "a", BreakerOutcome::kFailure));
  }
}

TEST_F(CircuitBreakerTest, AnAbandonedTrialOnlyFreesItsSlot) {
  auto& breakers =
      Breakers({.consecutive_failures = 1, .cool_down = absl::Seconds(1)});
  ASSERT_TRUE(Fail("a", 1));
  now_ += absl::Seconds(2);
  ASSERT_TRUE(breakers.Admit("svc", "a"));
  EXPECT_FALSE(breakers.Admit("svc", "a"));
  breakers.Record("svc", "a", BreakerOutcome::kNeutral);
  EXPECT_EQ(StateOf("a"), Breaker::kHalfOpen);
  EXPECT_TRUE(breakers.Admit("svc", "a"));
}

TEST_F(CircuitBreakerTest, FilterLeavesOpenNodesOutAndForgetsUnlistedOnes) {
  auto& breakers = Breakers({.consecutive_failures = 1});
  ASSERT_TRUE(Fail("a", 1));
  ASSERT_TRUE(Fail("b", 1));
  const std::vector<registry::Service> versions = {
      {.name = "svc", .nodes = {{.id = "b"}, {.id = "c"}}}};
  std::vector<const registry::Node*> nodes = {&versions[0].nodes[0],
                                              &versions[0].nodes[1]};
  breakers.Filter("svc", versions, &nodes);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]->id, "c");
  // "a" is no longer listed: forgotten.
  EXPECT_THAT(Excluded(), ElementsAre("b"));
}

TEST_F(CircuitBreakerTest, NodesTheRegistryDroppedAreForgotten) {
  auto& breakers = Breakers({.consecutive_failures = 1});
  ASSERT_TRUE(Fail("a", 1));
  ASSERT_TRUE(Fail("b", 1));
  breakers.Retain("svc", {"b", "c"});
  EXPECT_THAT(Excluded(), ElementsAre("b"));
  breakers.Retain("svc", {});
  EXPECT_FALSE(breakers.Tracking());
}

TEST_F(CircuitBreakerTest, AFailureAWindowAgoIsForgotten) {
  auto& breakers = Breakers({.consecutive_failures = 3});
  Fail("a", 2);
  EXPECT_TRUE(breakers.Tracking());
  now_ += absl::Seconds(11);
  EXPECT_THAT(Excluded(), IsEmpty());
  EXPECT_FALSE(breakers.Tracking());
}

TEST_F(CircuitBreakerTest, WhatCountsAsTheNodesFailure) {
  const absl::Duration fair = absl::Seconds(1);
  const absl::Duration floor = absl::Milliseconds(100);
  EXPECT_TRUE(IsBreakerFailure(absl::OkStatus(), /*node_failed=*/true,
                               absl::Milliseconds(1), floor));
  for (auto code :
       {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kInternal,
        absl::StatusCode::kUnavailable, absl::StatusCode::kUnknown}) {
    EXPECT_TRUE(IsBreakerFailure(absl::Status(code, "x"), false, fair, floor))
        << code;
  }
  for (auto code :
       {absl::StatusCode::kOk, absl::StatusCode::kNotFound,
        absl::StatusCode::kInvalidArgument, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kFailedPrecondition,
        // A server's or an endpoint's max_concurrency refusal.
        absl::StatusCode::kResourceExhausted}) {
    EXPECT_FALSE(IsBreakerFailure(absl::Status(code, "x"), false, fair, floor))
        << code;
  }
  // The caller's own short deadline (an inherited one with little left).
  EXPECT_FALSE(IsBreakerFailure(absl::DeadlineExceededError("x"), false,
                                absl::Milliseconds(5), floor));
}

TEST_F(CircuitBreakerTest, TheStateIsBounded) {
  auto& breakers = Breakers({.consecutive_failures = 1});
  for (size_t i = 0; i < CircuitBreakers::kMaxTracked + 10; ++i) {
    breakers.Record("svc", absl::StrCat("n", i), BreakerOutcome::kFailure);
  }
  EXPECT_EQ(breakers.Health().size(), CircuitBreakers::kMaxTracked);
}

}  // namespace
}  // namespace micro_nats::service::service_internal
