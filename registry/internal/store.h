// Copyright 2026 The micro-nats Authors.
//
// store.h: what the backends share.
//
//   ServiceStore  services by name and version, nodes by id with their
//                 expiry; every change returns the events it makes;
//   WatchHub      the watchers of one registry, each with a bounded queue
//                 that tells its reader when it fell behind.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_STORE_H_
#define MICRO_NATS_REGISTRY_INTERNAL_STORE_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

// ServiceStore
//
// Not thread-safe: the owner locks.
class ServiceStore {
 public:
  // Adds or refreshes the nodes; expiry is `now + ttl` (never for zero).
  std::vector<Event> Register(const Service& service, absl::Duration ttl,
                              absl::Time now);
  // Removes the nodes (all of the version when none are given).
  std::vector<Event> Deregister(const Service& service);
  // Removes the nodes whose expiry passed.
  std::vector<Event> Expire(absl::Time now);

  std::vector<Service> Get(absl::string_view name) const;
  std::vector<Service> List() const;
  bool empty() const { return services_.empty(); }

 private:
  struct Entry {
    Node node;
    absl::Time expiry;
  };
  struct Version {
    Service info;  // name, version, metadata, endpoints; nodes unused
    std::map<std::string, Entry> nodes;
  };
  static Service Materialize(const Version& version);

  // name -> version -> nodes
  std::map<std::string, std::map<std::string, Version>, std::less<>> services_;
};

// Merges services of one name from several sources (processes): one per
// version, nodes deduplicated by id (the later one wins).
std::vector<Service> MergeByVersion(const std::vector<Service>& services);

// WatchHub
//
// Thread-safe.
class WatchHub {
 public:
  explicit WatchHub(size_t buffer) : buffer_(buffer) {}

  std::unique_ptr<Watcher> NewWatcher(WatchOptions options);
  void Publish(const Event& event);
  void Publish(const std::vector<Event>& events) {
    for (const Event& e : events) Publish(e);
  }

  class Queue;

 private:
  const size_t buffer_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Queue>> queues_;  // guarded by mu_
};

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_STORE_H_
