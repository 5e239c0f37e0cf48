// Copyright 2026 The micro-nats Authors.
//
// The retry budget on a fake clock: calls fill it, retries empty it, the
// floor lets a quiet client retry, and what it held expires with its window.

#include "service/internal/retry_budget.h"

#include <memory>

#include "gtest/gtest.h"

namespace micro_nats::service::service_internal {
namespace {

class RetryBudgetTest : public ::testing::Test {
 protected:
  std::unique_ptr<RetryBudgetCore> Budget(double ratio, int min_per_second) {
    return std::make_unique<RetryBudgetCore>(
        ratio, min_per_second, absl::Seconds(10), [this] { return now_; });
  }
  int Withdrawals(RetryBudgetCore& budget, int at_most) {
    int taken = 0;
    while (taken < at_most && budget.TryWithdraw()) ++taken;
    return taken;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
};

TEST_F(RetryBudgetTest, RetriesAreATenthOfTheCallsWithoutAFloor) {
  auto budget = Budget(0.1, 0);
  EXPECT_FALSE(budget->TryWithdraw());
  for (int i = 0; i < 100; ++i) budget->Deposit();
  EXPECT_DOUBLE_EQ(budget->Balance(), 10);
  EXPECT_EQ(Withdrawals(*budget, 100), 10);
  EXPECT_FALSE(budget->TryWithdraw());
  for (int i = 0; i < 10; ++i) budget->Deposit();
  EXPECT_EQ(Withdrawals(*budget, 100), 1);
}

TEST_F(RetryBudgetTest, TheFloorLetsAQuietClientRetry) {
  auto budget = Budget(0.1, 2);  // 2/s over a 10 s window: 20
  EXPECT_EQ(Withdrawals(*budget, 100), 20);
  // Spent within the window; its tenths expire one by one.
  now_ += absl::Seconds(5);
  EXPECT_FALSE(budget->TryWithdraw());
  now_ += absl::Seconds(6);
  EXPECT_EQ(Withdrawals(*budget, 100), 20);
}

TEST_F(RetryBudgetTest, DepositsExpireWithTheWindow) {
  auto budget = Budget(0.5, 0);
  for (int i = 0; i < 100; ++i) budget->Deposit();  // 50
  now_ += absl::Seconds(9);
  EXPECT_DOUBLE_EQ(budget->Balance(), 50);
  // A quiet spell longer than the window: saved retries do not pile up
  // for the next overload.
  now_ += absl::Seconds(2);
  EXPECT_DOUBLE_EQ(budget->Balance(), 0);
  EXPECT_FALSE(budget->TryWithdraw());
}

TEST_F(RetryBudgetTest, UnderSteadyFailureRetriesStayWithinTheRatio) {
  // Every call fails and wants a retry: over a minute of calls at 1,000/s
  // the retries are ~10 % of them plus the floor, never a multiple.
  auto budget = Budget(0.1, 10);
  int64_t calls = 0;
  int64_t retries = 0;
  for (int ms = 0; ms < 60'000; ++ms) {
    now_ += absl::Milliseconds(1);
    budget->Deposit();
    ++calls;
    if (budget->TryWithdraw()) ++retries;
  }
  EXPECT_LE(retries, calls / 10 + 10 * 60 + 100);
  EXPECT_GE(retries, calls / 10);
}

TEST_F(RetryBudgetTest, ARatioOfZeroLeavesOnlyTheFloor) {
  auto budget = Budget(0, 1);
  for (int i = 0; i < 1000; ++i) budget->Deposit();
  EXPECT_EQ(Withdrawals(*budget, 100), 10);
}

}  // namespace
}  // namespace micro_nats::service::service_internal
