// Copyright 2026 The micro-nats Authors.
//
// cache.h: a caching registry in front of any other.
//
// Lookups are answered from memory once a service was fetched; the
// backend's watch events keep the cache current (nodes registered, removed
// or expired), so a client does not broadcast a query per call. On a miss
// or when the cached nodes went stale:
//   - one query per service name is in flight; every caller that asks
//     meanwhile gets its outcome, found, NotFound or an error alike;
//   - each lookup returns by its own deadline (DeadlineExceeded, or the
//     last known nodes marked stale), whatever the backend takes;
//   - a failing backend (Unavailable, DeadlineExceeded, ...) is answered
//     with the last known nodes, marked stale (Lookup says so), when there
//     are any; otherwise with the backend's error.
// A node not seen (in a lookup or an event) for `node_ttl` is not answered
// from the cache (the next lookup asks the backend), and callers that found
// a node dead can Evict it at once. The cache holds only services that have
// nodes: a name that is not found, or whose last node went, is forgotten,
// so looking up many unknown names does not grow it.
//
// Register, Deregister, ListServices and Watch go straight to the backend.
//
//   MN_ASSIGN_OR_RETURN(auto cache, CachingRegistry::Create(nats_registry));
//   MN_ASSIGN_OR_RETURN(CachedLookup found, cache->Lookup("greeter"));
//   if (found.stale) ...

#ifndef MICRO_NATS_REGISTRY_CACHE_CACHE_H_
#define MICRO_NATS_REGISTRY_CACHE_CACHE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "concurrency/scheduler.h"
#include "concurrency/thread_pool.h"
#include "registry/registry.h"

namespace micro_nats::registry {

struct CacheOptions {
  // A node not seen in a lookup or an event for this long is fetched again.
  absl::Duration node_ttl = absl::Minutes(1);
  // A lookup the backend answered on a guess (LookupResult::complete false:
  // an idle gap ended it, nodes may be missing) is fetched again after
  // this long.
  absl::Duration partial_ttl = absl::Seconds(5);
  // How long GetService (which takes no deadline) waits.
  absl::Duration lookup_timeout = absl::Seconds(5);
  // Backend queries running at once (for different names); more wait.
  int fetch_threads = 4;
  // The cache's idea of now (a fake clock in tests).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Where the backend's change events are applied (null:
  // Scheduler::Default()); must outlive the cache. A backend whose watcher
  // cannot notify (Watcher::NotifyWhenReady false) gets a thread instead.
  concurrency::Scheduler* scheduler = nullptr;
};

struct CachedLookup {
  std::vector<Service> services;
  // True when the backend failed and these are the last known nodes.
  bool stale = false;
  // True when the backend's last answer was a guess: nodes may be missing.
  bool partial = false;
};

// What the cache did, since it was created.
struct CacheStats {
  int64_t lookups = 0;
  int64_t from_cache = 0;       // answered without asking the backend
  int64_t backend_queries = 0;  // queries started
  int64_t joined_queries = 0;   // lookups answered by another's query
  int64_t timed_out = 0;        // lookups whose deadline came first
};

// CachingRegistry
//
// Thread-safe.
class CachingRegistry : public Registry {
 public:
  // Starts watching `backend`; fails when its Watch does, except for
  // Unimplemented (a backend without change events, registry/srv): then
  // cached nodes are trusted for node_ttl only.
  static absl::StatusOr<std::unique_ptr<CachingRegistry>> Create(
      std::shared_ptr<Registry> backend, CacheOptions options = {});
  ~CachingRegistry() override;

  // GetService with the staleness said, by `deadline`: DeadlineExceeded
  // when the backend has not answered by then and nothing is cached.
  absl::StatusOr<CachedLookup> Lookup(
      absl::string_view name, absl::Time deadline = absl::InfiniteFuture());

  // As Lookup, without a copy: a cached answer is shared by every caller
  // until the entry changes (one lock, no allocation on a hit). The hot
  // path of a client call.
  absl::StatusOr<std::shared_ptr<const CachedLookup>> LookupShared(
      absl::string_view name, absl::Time deadline = absl::InfiniteFuture());

  // Drops a node that a caller found dead, until an event or a lookup
  // brings it back.
  void Evict(absl::string_view service, absl::string_view node_id);

  // Service names the cache holds now.
  size_t CachedNames() const;

  CacheStats stats() const;

  absl::Status Register(const Service& service,
                        RegisterOptions options) override;
  absl::Status Deregister(const Service& service) override;
  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override;
  absl::StatusOr<std::vector<Service>> ListServices() override;
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(WatchOptions options) override;

 private:
  struct CachedNode {
    Node node;
    absl::Time seen;
  };
  struct CachedVersion {
    Service info;  // nodes unused
    std::map<std::string, CachedNode> nodes;
  };
  // One backend query and, once done, its outcome for every caller.
  using SharedLookup = std::shared_ptr<const CachedLookup>;
  struct Fetch {
    bool done = false;
    absl::StatusOr<SharedLookup> outcome = absl::UnknownError("unfinished");
  };
  struct Entry {
    std::map<std::string, CachedVersion> versions;
    bool valid = false;  // fetched, and events applied since
    absl::Time refetch_after = absl::InfiniteFuture();  // after a guess
    bool partial = false;             // the last answer was a guess
    std::shared_ptr<Fetch> fetch;     // the query in flight, or null
    std::vector<Event> during_fetch;  // events to replay on its result
    int lookups = 0;                  // Lookup calls using this entry
    // The fresh nodes as answered, built on demand and dropped on any
    // change; good until `view_until`, when its oldest node expires.
    SharedLookup view;
    absl::Time view_until;
  };
  using Entries = std::map<std::string, Entry, std::less<>>;

  CachingRegistry(std::shared_ptr<Registry> backend, CacheOptions options,
                  std::unique_ptr<Watcher> watcher);
  // Applies the events the watcher has (scheduler task), a bounded number
  // per run.
  void DrainEvents();
  // For a watcher that cannot notify: blocks in Next on a thread of its own.
  void WatchLoop();
  void OnWatched(const absl::StatusOr<Event>& event);
  absl::StatusOr<SharedLookup> LookupEntry(absl::string_view name, Entry& entry,
                                           absl::Time deadline,
                                           std::unique_lock<std::mutex>& lock);
  // The entry's view at `now` (built when missing or out of date); null
  // when no fresh node is left. mu_ held.
  SharedLookup FreshView(Entry& entry, absl::Time now) const;
  // Runs on the fetch pool: asks the backend, updates the entry, and hands
  // the outcome to `fetch`'s callers.
  void RunFetch(const std::string& name, std::shared_ptr<Fetch> fetch);
  // The outcome of a query that returned `fetched`; mu_ held.
  absl::StatusOr<SharedLookup> ApplyFetched(
      absl::string_view name, Entry& entry,
      absl::StatusOr<LookupResult> fetched);
  // Forgets the entry when it has no nodes, no Lookup uses it and no query
  // for it is in flight.
  void EraseIfUnused(Entries::iterator it);  // mu_ held
  void ApplyEvent(Entry& entry, const Event& event, absl::Time now);
  // The cached services; nodes older than node_ttl only when asked for.
  std::vector<Service> Materialize(const Entry& entry, absl::Time now,
                                   bool include_expired) const;

  const std::shared_ptr<Registry> backend_;
  const CacheOptions options_;
  std::unique_ptr<Watcher> watcher_;
  concurrency::ScheduledTask drain_;  // reads watcher_ when it notifies
  std::thread watch_thread_;          // only when it cannot

  mutable std::mutex mu_;
  std::condition_variable fetched_;
  Entries entries_;   // guarded by mu_
  CacheStats stats_;  // guarded by mu_
  // Runs the backend queries; last, so destroyed (and joined) first.
  std::unique_ptr<concurrency::ThreadPool> fetch_pool_;
};

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_CACHE_CACHE_H_
