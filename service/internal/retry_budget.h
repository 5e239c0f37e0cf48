// Copyright 2026 The micro-nats Authors.
//
// retry_budget.h: the client's bound on retries and hedges (RetryBudget in
// client.h), so an overloaded service sees at most ~(1 + ratio) times the
// calls made, never a multiple.
//
// Every call deposits `ratio` of a token; every retry or hedge withdraws
// one. Deposits and withdrawals are kept per tenth of the window and
// expire with it, so what a burst may spend is bounded by the window's
// calls (ratio x calls + the floor, min_per_second x the window), not by
// everything saved since the client started. A call costs one clock read
// (coarse) and one atomic add; a retry reads the ten slots.

#ifndef MICRO_NATS_SERVICE_INTERNAL_RETRY_BUDGET_H_
#define MICRO_NATS_SERVICE_INTERNAL_RETRY_BUDGET_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace micro_nats::service::service_internal {

// RetryBudgetCore
//
// Thread-safe. Approximate under races (two retries may both take the
// last token): a bound, not an account.
class RetryBudgetCore {
 public:
  // `now` null: the coarse clock (a tick's precision is plenty for a
  // window of seconds).
  RetryBudgetCore(double ratio, int min_per_second, absl::Duration window,
                  std::function<absl::Time()> now = nullptr);

  // A call was made: `ratio` more.
  void Deposit();
  // A retry or hedge wants a token: true when one was left (and taken).
  bool TryWithdraw();
  // Tokens left now (tests, stats).
  double Balance() const;

 private:
  static constexpr int kSlots = 10;
  static constexpr int64_t kMilli = 1000;  // tokens are kept in thousandths
  struct Slot {
    std::atomic<int64_t> epoch{-1};       // which tenth of time it holds
    std::atomic<int64_t> deposits{0};     // thousandths
    std::atomic<int64_t> withdrawals{0};  // thousandths
  };

  int64_t Epoch() const;
  // The slot for `epoch`, cleared when it held an older one.
  Slot& SlotFor(int64_t epoch);
  int64_t BalanceMilli(int64_t epoch) const;

  const int64_t deposit_;     // thousandths per call
  const int64_t floor_;       // thousandths per window
  const int64_t slot_nanos_;  // a tenth of the window
  const std::function<absl::Time()> now_;
  std::array<Slot, kSlots> slots_;
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_RETRY_BUDGET_H_
