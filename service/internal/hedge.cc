// Copyright 2026 The micro-nats Authors.

#include "service/internal/hedge.h"

#include <utility>

#include "concurrency/coarse_clock.h"

namespace micro_nats::service::service_internal {

AttemptCancel* HedgeRace::Start(int* index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || winner_ >= 0) return nullptr;
  *index = static_cast<int>(cancels_.size());
  cancels_.push_back(std::make_unique<AttemptCancel>());
  ++running_;
  return cancels_.back().get();
}

bool HedgeRace::Finish(int index, absl::StatusOr<Message> result,
                       bool node_failed) {
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
  cv_.notify_all();
  if (closed_ || winner_ >= 0) return false;
  if (result.ok()) {
    winner_ = index;
    answer_ = std::move(result);
    // The others lose now, not when the caller wakes.
    for (int i = 0; i < static_cast<int>(cancels_.size()); ++i) {
      if (i != index) cancels_[i]->Cancel();
    }
    return true;
  }
  // A handler's answer says more than a node's failure: keep it.
  if (!node_failed || last_node_failed_) {
    last_error_ = result.status();
    last_node_failed_ = node_failed;
  }
  return true;
}

void HedgeRace::Wait(absl::Time until) {
  std::unique_lock<std::mutex> lock(mu_);
  while (winner_ < 0 && running_ > 0 && absl::Now() < until) {
    const absl::Duration left = until - absl::Now();
    cv_.wait_for(lock,
                 absl::ToChronoNanoseconds(std::min(left, absl::Seconds(1))));
  }
}

HedgeRace::View HedgeRace::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {.won = winner_ >= 0,
          .running = running_,
          .started = static_cast<int>(cancels_.size()),
          .winner = winner_,
          .last_error = last_error_,
          .last_node_failed = last_node_failed_};
}

absl::StatusOr<Message> HedgeRace::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  scope_ = nullptr;
  for (int i = 0; i < static_cast<int>(cancels_.size()); ++i) {
    if (i != winner_) cancels_[i]->Cancel();
  }
  if (winner_ < 0) return last_error_;
  return std::move(answer_);
}

void HedgeRace::set_observation(ObservationScope* scope) {
  std::lock_guard<std::mutex> lock(mu_);
  scope_ = scope;
}

void HedgeRace::ReportAttempt(absl::string_view node_id,
                              const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (scope_ != nullptr) scope_->Attempt(node_id, status);
}

EndpointLatencies::Entry* EndpointLatencies::Find(absl::string_view key,
                                                  bool create) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second.get();
  if (!create || entries_.size() >= kMaxEndpoints) return nullptr;
  return entries_.emplace(std::string(key), std::make_unique<Entry>())
      .first->second.get();
}

void EndpointLatencies::Record(absl::string_view key, absl::Duration latency) {
  Entry* entry = Find(key, /*create=*/true);
  if (entry == nullptr) return;
  entry->histogram.Record(latency);
  entry->samples.fetch_add(1, std::memory_order_relaxed);
}

absl::Duration EndpointLatencies::P95(absl::string_view key,
                                      absl::Duration fallback) {
  Entry* entry = Find(key, /*create=*/false);
  if (entry == nullptr ||
      entry->samples.load(std::memory_order_relaxed) < kMinSamples) {
    return fallback;
  }
  const int64_t now = concurrency::CoarseMonotonicNanos();
  int64_t p95 = entry->p95_nanos.load(std::memory_order_relaxed);
  if (p95 < 0 ||
      now - entry->computed_at_nanos.load(std::memory_order_relaxed) >
          100'000'000) {
    const double seconds = entry->histogram.snapshot().Percentile(0.95);
    p95 = static_cast<int64_t>(seconds * 1e9);
    entry->p95_nanos.store(p95, std::memory_order_relaxed);
    entry->computed_at_nanos.store(now, std::memory_order_relaxed);
  }
  return absl::Nanoseconds(p95);
}

}  // namespace micro_nats::service::service_internal
