// Copyright 2026 The micro-nats Authors.
//
// memory_registry.h: a complete in-process registry, for unit tests.
//
// Unlike go-micro's memory registry, a node whose TTL passes is removed
// with a kDelete event, and a watcher that falls behind is told
// (ResourceExhausted from Next), never silently starved.
//
// TTL tests need not sleep: give the registry a clock you move.
//
//   absl::Time now = absl::UnixEpoch();
//   auto registry = NewMemoryRegistry({.clock = [&] { return now; }});
//   registry->Register(service, {.ttl = absl::Seconds(30)});
//   now += absl::Seconds(31);
//   registry->GetService("greeter");  // NotFound, and watchers saw kDelete

#ifndef MICRO_NATS_REGISTRY_MEMORY_MEMORY_REGISTRY_H_
#define MICRO_NATS_REGISTRY_MEMORY_MEMORY_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "absl/time/clock.h"
#include "concurrency/scheduler.h"
#include "registry/registry.h"

namespace micro_nats::registry {

struct MemoryRegistryOptions {
  // The registry's idea of now; TTLs are measured with it.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Expired nodes are removed on every call and by a background sweep at
  // this interval (zero: no background sweep), a task on `scheduler`.
  absl::Duration sweep_interval = absl::Seconds(1);
  // Events a watcher may have waiting before it is told it fell behind.
  size_t watch_buffer = 1024;
  // Runs the sweep (null: Scheduler::Default()); must outlive the registry.
  concurrency::Scheduler* scheduler = nullptr;
};

std::unique_ptr<Registry> NewMemoryRegistry(MemoryRegistryOptions options = {});

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_MEMORY_MEMORY_REGISTRY_H_
