// Copyright 2026 The micro-nats Authors.

#include "registry/internal/swept_store.h"

#include <utility>

#include "concurrency/scheduler.h"

namespace micro_nats::registry::registry_internal {

SweptStore::SweptStore(std::function<absl::Time()> clock,
                       absl::Duration sweep_interval, Announce announce,
                       concurrency::Scheduler* scheduler)
    : clock_(std::move(clock)), announce_(std::move(announce)) {
  if (sweep_interval > absl::ZeroDuration()) {
    if (scheduler == nullptr) scheduler = &concurrency::Scheduler::Default();
    // A sweep takes the store's lock and announces what expired (queues
    // events, publishes into the connection's buffer): short, as the
    // scheduler's callbacks must be.
    sweep_ = scheduler->Every(sweep_interval, [this] {
      Apply([](ServiceStore&, absl::Time) {
        return std::vector<Event>{};
      }).IgnoreError();
    });
  }
}

SweptStore::~SweptStore() { sweep_.Cancel(); }

absl::Status SweptStore::Apply(const Change& change) {
  std::lock_guard<std::mutex> announce_lock(announce_mu_);
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_();
    events = store_.Expire(now);
    std::vector<Event> more = change(store_, now);
    events.insert(events.end(), more.begin(), more.end());
  }
  if (events.empty()) return absl::OkStatus();
  return announce_(events);
}

std::vector<Service> SweptStore::Get(absl::string_view name) {
  std::vector<Service> found;
  Apply([&](ServiceStore& store, absl::Time) {
    found = store.Get(name);
    return std::vector<Event>{};
  }).IgnoreError();  // an expiry that could not be announced: still gone
  return found;
}

std::vector<Service> SweptStore::List() {
  std::vector<Service> all;
  Apply([&](ServiceStore& store, absl::Time) {
    all = store.List();
    return std::vector<Event>{};
  }).IgnoreError();
  return all;
}

}  // namespace micro_nats::registry::registry_internal
