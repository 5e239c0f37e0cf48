// Copyright 2026 The micro-nats Authors.

#include "service/internal/retry_budget.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "concurrency/coarse_clock.h"

namespace micro_nats::service::service_internal {

RetryBudgetCore::RetryBudgetCore(double ratio, int min_per_second,
                                 absl::Duration window,
                                 std::function<absl::Time()> now)
    : deposit_(static_cast<int64_t>(std::llround(ratio * kMilli))),
      floor_(static_cast<int64_t>(std::llround(
          min_per_second * absl::ToDoubleSeconds(window) * kMilli))),
      slot_nanos_(absl::ToInt64Nanoseconds(
          std::max(window / kSlots, absl::Milliseconds(1)))),
      now_(now != nullptr
               ? std::move(now)
               : std::function<absl::Time()>(concurrency::CoarseNow)) {}

int64_t RetryBudgetCore::Epoch() const {
  return absl::ToUnixNanos(now_()) / slot_nanos_;
}

RetryBudgetCore::Slot& RetryBudgetCore::SlotFor(int64_t epoch) {
  Slot& slot = slots_[static_cast<size_t>(epoch % kSlots)];
  int64_t held = slot.epoch.load(std::memory_order_acquire);
  // The first to see the slot stale clears it; a deposit racing with the
  // clearing may be lost (a bound, not an account).
  if (held < epoch && slot.epoch.compare_exchange_strong(
                          held, epoch, std::memory_order_acq_rel)) {
    slot.deposits.store(0, std::memory_order_relaxed);
    slot.withdrawals.store(0, std::memory_order_relaxed);
  }
  return slot;
}

void RetryBudgetCore::Deposit() {
  if (deposit_ == 0) return;
  SlotFor(Epoch()).deposits.fetch_add(deposit_, std::memory_order_relaxed);
}

int64_t RetryBudgetCore::BalanceMilli(int64_t epoch) const {
  int64_t balance = floor_;
  for (const Slot& slot : slots_) {
    const int64_t held = slot.epoch.load(std::memory_order_acquire);
    if (held > epoch - kSlots && held <= epoch) {
      balance += slot.deposits.load(std::memory_order_relaxed) -
                 slot.withdrawals.load(std::memory_order_relaxed);
    }
  }
  return balance;
}

bool RetryBudgetCore::TryWithdraw() {
  const int64_t epoch = Epoch();
  if (BalanceMilli(epoch) < kMilli) return false;
  SlotFor(epoch).withdrawals.fetch_add(kMilli, std::memory_order_relaxed);
  return true;
}

double RetryBudgetCore::Balance() const {
  return static_cast<double>(BalanceMilli(Epoch())) / kMilli;
}

}  // namespace micro_nats::service::service_internal
