// Copyright 2026 The micro-nats Authors.
//
// watch_hub.h: the watchers of one registry, each with a bounded queue
// that tells its reader when it fell behind.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_WATCH_HUB_H_
#define MICRO_NATS_REGISTRY_INTERNAL_WATCH_HUB_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

// WatchHub
//
// Thread-safe.
class WatchHub {
 public:
  explicit WatchHub(size_t buffer) : buffer_(buffer) {}

  // InvalidArgument for an invalid service filter.
  absl::StatusOr<std::unique_ptr<Watcher>> NewWatcher(WatchOptions options);
  void Publish(const Event& event);
  void Publish(const std::vector<Event>& events) {
    for (const Event& e : events) Publish(e);
  }
  // Events were lost on the way (dropped by NATS, missed while
  // disconnected): every watcher's next Next is ResourceExhausted saying
  // `why`, after the events it already holds.
  void Lost(const std::string& why);

  class Queue;

 private:
  const size_t buffer_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Queue>> queues_;  // guarded by mu_
};

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_WATCH_HUB_H_
