// Copyright 2026 The micro-nats Authors.
//
// swept_store.h: a ServiceStore behind a lock whose expired nodes are
// swept, every change announced in order.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_SWEPT_STORE_H_
#define MICRO_NATS_REGISTRY_INTERNAL_SWEPT_STORE_H_

#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "concurrency/scheduler.h"
#include "registry/internal/service_store.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

// SweptStore
//
// A ServiceStore behind a lock, whose expired nodes are removed before every
// access and by a periodic sweep on a Scheduler (no thread of its own);
// every change is announced, in order. Thread-safe.
class SweptStore {
 public:
  // Called with the events of each change, serialised; its status is the
  // change's.
  using Announce = std::function<absl::Status(const std::vector<Event>&)>;
  using Change = std::function<std::vector<Event>(ServiceStore&, absl::Time)>;

  // No background sweep when `sweep_interval` is zero. The sweep runs on
  // `scheduler` (null: Scheduler::Default()), which must outlive this
  // store. `announce` is called from the sweep too: it must not block.
  SweptStore(std::function<absl::Time()> clock, absl::Duration sweep_interval,
             Announce announce, concurrency::Scheduler* scheduler = nullptr);
  // Stops the sweep: no sweep runs once it returns.
  ~SweptStore();

  absl::Status Apply(const Change& change);
  std::vector<Service> Get(absl::string_view name);
  std::vector<Service> List();

 private:
  const std::function<absl::Time()> clock_;
  const Announce announce_;
  std::mutex announce_mu_;  // orders announcements as the changes happened
  std::mutex mu_;
  ServiceStore store_;  // guarded by mu_
  // Last: cancelled (and a sweep in progress waited for) before the rest
  // goes away.
  concurrency::ScheduledTask sweep_;
};

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_SWEPT_STORE_H_
