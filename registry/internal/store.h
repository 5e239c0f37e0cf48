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

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "concurrency/scheduler.h"
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

// Register's checks, the same for every backend: a valid service with at
// least one node, and a TTL that is not negative.
absl::Status ValidateRegistration(const Service& service,
                                  const RegisterOptions& options);

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

// Merges services of one name from several sources (processes): one per
// version, nodes deduplicated by id (the later one wins).
std::vector<Service> MergeByVersion(const std::vector<Service>& services);

// The versions of `name` among a broadcast lookup's answers (others may
// answer with other services), merged; NotFound when there is none.
absl::StatusOr<std::vector<Service>> VersionsOf(std::vector<Service> answers,
                                                absl::string_view name);

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

#endif  // MICRO_NATS_REGISTRY_INTERNAL_STORE_H_
