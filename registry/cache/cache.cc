// Copyright 2026 The micro-nats Authors.

#include "registry/cache/cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/status_macros.h"

namespace micro_nats::registry {

absl::StatusOr<std::unique_ptr<CachingRegistry>> CachingRegistry::Create(
    std::shared_ptr<Registry> backend, CacheOptions options) {
  if (backend == nullptr) {
    return absl::InvalidArgumentError("CachingRegistry needs a backend");
  }
  absl::StatusOr<std::unique_ptr<Watcher>> watcher = backend->Watch({});
  if (!watcher.ok() && !absl::IsUnimplemented(watcher.status())) {
    return watcher.status();
  }
  // A backend without events (registry/srv): cached nodes live node_ttl.
  return std::unique_ptr<CachingRegistry>(
      new CachingRegistry(std::move(backend), std::move(options),
                          watcher.ok() ? std::move(watcher).value() : nullptr));
}

CachingRegistry::CachingRegistry(std::shared_ptr<Registry> backend,
                                 CacheOptions options,
                                 std::unique_ptr<Watcher> watcher)
    : backend_(std::move(backend)),
      options_(std::move(options)),
      watcher_(std::move(watcher)),
      fetch_pool_(
          std::make_unique<concurrency::ThreadPool>(options_.fetch_threads)) {
  if (watcher_ == nullptr) return;
  concurrency::Scheduler& scheduler = options_.scheduler != nullptr
                                          ? *options_.scheduler
                                          : concurrency::Scheduler::Default();
  drain_ = scheduler.OnDemand([this] { DrainEvents(); });
  // drain_ is not reassigned while the watcher may call this (until Stop).
  if (!watcher_->NotifyWhenReady([drain = &drain_] { drain->RunSoon(); })) {
    drain_.Cancel();
    watch_thread_ = std::thread([this] { WatchLoop(); });
  }
}

CachingRegistry::~CachingRegistry() {
  if (watcher_ != nullptr) {
    watcher_->Stop();  // no notification after this
    drain_.Cancel();   // and no drain running or to come
    if (watch_thread_.joinable()) watch_thread_.join();
  }
  // Queries in flight finish (bounded by the backend's own timeout) before
  // the entries they update go away.
  fetch_pool_.reset();
}

void CachingRegistry::DrainEvents() {
  // A bounded batch per run, so a flood of events does not hold the
  // scheduler's thread: the rest in the next run, after other tasks.
  constexpr int kBatch = 256;
  for (int i = 0; i < kBatch; ++i) {
    absl::StatusOr<Event> event = watcher_->Next(absl::InfinitePast());
    if (absl::IsCancelled(event.status()) ||
        absl::IsDeadlineExceeded(event.status())) {
      return;  // stopped, or nothing left
    }
    OnWatched(event);
  }
  drain_.RunSoon();
}

void CachingRegistry::WatchLoop() {
  while (true) {
    absl::StatusOr<Event> event = watcher_->Next(absl::InfiniteFuture());
    if (absl::IsCancelled(event.status())) return;
    OnWatched(event);
  }
}

void CachingRegistry::OnWatched(const absl::StatusOr<Event>& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!event.ok()) {
    // Events were lost (or the watch broke): trust nothing cached; the
    // next lookups fetch again.
    for (auto& [name, entry] : entries_) {
      entry.valid = false;
      entry.view = nullptr;
    }
    return;
  }
  auto it = entries_.find(event->service.name);
  if (it == entries_.end()) return;  // a service nobody asked about
  Entry& entry = it->second;
  if (entry.fetch != nullptr) entry.during_fetch.push_back(*event);
  ApplyEvent(entry, *event, options_.clock());
  EraseIfUnused(it);
}

void CachingRegistry::EraseIfUnused(Entries::iterator it) {
  if (it->second.lookups == 0 && it->second.fetch == nullptr &&
      it->second.versions.empty()) {
    entries_.erase(it);
  }
}

CacheStats CachingRegistry::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t CachingRegistry::CachedNames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void CachingRegistry::ApplyEvent(Entry& entry, const Event& event,
                                 absl::Time now) {
  entry.view = nullptr;
  const Service& service = event.service;
  if (event.type == EventType::kDelete) {
    auto it = entry.versions.find(service.version);
    if (it == entry.versions.end()) return;
    for (const Node& node : service.nodes) it->second.nodes.erase(node.id);
    if (it->second.nodes.empty()) entry.versions.erase(it);
    return;
  }
  CachedVersion& version = entry.versions[service.version];
  version.info = service;
  version.info.nodes.clear();
  for (const Node& node : service.nodes) {
    version.nodes[node.id] = CachedNode{node, now};
  }
}

std::vector<Service> CachingRegistry::Materialize(const Entry& entry,
                                                  absl::Time now,
                                                  bool include_expired) const {
  std::vector<Service> services;
  for (const auto& [name, version] : entry.versions) {
    Service service = version.info;
    for (const auto& [id, cached] : version.nodes) {
      if (include_expired || now - cached.seen <= options_.node_ttl) {
        service.nodes.push_back(cached.node);
      }
    }
    if (!service.nodes.empty()) services.push_back(std::move(service));
  }
  return services;
}

absl::StatusOr<CachedLookup> CachingRegistry::Lookup(absl::string_view name,
                                                     absl::Time deadline) {
  MN_ASSIGN_OR_RETURN(SharedLookup found, LookupShared(name, deadline));
  return *found;
}

absl::StatusOr<std::shared_ptr<const CachedLookup>>
CachingRegistry::LookupShared(absl::string_view name, absl::Time deadline) {
  MN_RETURN_IF_ERROR(ValidateServiceName(name));
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(name);  // no key allocated on a hit
  if (it == entries_.end()) it = entries_.try_emplace(std::string(name)).first;
  ++it->second.lookups;  // keeps the entry while this call uses it
  absl::StatusOr<SharedLookup> result =
      LookupEntry(name, it->second, deadline, lock);
  --it->second.lookups;
  EraseIfUnused(it);
  return result;
}

CachingRegistry::SharedLookup CachingRegistry::FreshView(Entry& entry,
                                                         absl::Time now) const {
  if (entry.view != nullptr && now <= entry.view_until) return entry.view;
  entry.view = nullptr;
  std::vector<Service> fresh = Materialize(entry, now, false);
  if (fresh.empty()) return nullptr;
  absl::Time until = absl::InfiniteFuture();
  for (const auto& [version_name, version] : entry.versions) {
    for (const auto& [id, cached] : version.nodes) {
      if (now - cached.seen <= options_.node_ttl) {
        until = std::min(until, cached.seen + options_.node_ttl);
      }
    }
  }
  entry.view = std::make_shared<const CachedLookup>(
      CachedLookup{std::move(fresh), false, entry.partial});
  entry.view_until = until;
  return entry.view;
}

absl::StatusOr<CachingRegistry::SharedLookup> CachingRegistry::LookupEntry(
    absl::string_view name, Entry& entry, absl::Time deadline,
    std::unique_lock<std::mutex>& lock) {
  ++stats_.lookups;
  if (entry.fetch == nullptr) {
    const absl::Time now = options_.clock();
    if (entry.valid && now < entry.refetch_after) {
      if (SharedLookup view = FreshView(entry, now); view != nullptr) {
        ++stats_.from_cache;
        return view;
      }
    }
    ++stats_.backend_queries;
    entry.fetch = std::make_shared<Fetch>();
    entry.during_fetch.clear();
    absl::Status scheduled =
        fetch_pool_->Schedule([this, name = std::string(name),
                               fetch = entry.fetch] { RunFetch(name, fetch); });
    if (!scheduled.ok()) {
      entry.fetch = nullptr;
      return scheduled;
    }
  } else {
    ++stats_.joined_queries;
  }
  // Ours or another caller's: its outcome answers everyone who waits.
  const std::shared_ptr<Fetch> fetch = entry.fetch;
  if (concurrency::WaitUntil(fetched_, lock, deadline,
                             [&] { return fetch->done; })) {
    return fetch->outcome;
  }
  ++stats_.timed_out;
  std::vector<Service> last_known =
      Materialize(entry, options_.clock(), /*include_expired=*/true);
  if (!last_known.empty()) {
    return std::make_shared<const CachedLookup>(
        CachedLookup{std::move(last_known), true});
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "lookup of service '", name, "': the registry did not answer in time"));
}

void CachingRegistry::RunFetch(const std::string& name,
                               std::shared_ptr<Fetch> fetch) {
  absl::StatusOr<LookupResult> fetched = backend_->Find(name);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);  // kept while its fetch is in flight
  fetch->outcome = ApplyFetched(name, it->second, std::move(fetched));
  fetch->done = true;
  it->second.fetch = nullptr;
  fetched_.notify_all();
  EraseIfUnused(it);
}

absl::StatusOr<CachingRegistry::SharedLookup> CachingRegistry::ApplyFetched(
    absl::string_view name, Entry& entry,
    absl::StatusOr<LookupResult> fetched) {
  const absl::Time then = options_.clock();
  entry.view = nullptr;
  if (fetched.ok()) {
    entry.versions.clear();
    entry.partial = !fetched->complete;
    entry.refetch_after = fetched->complete ? absl::InfiniteFuture()
                                            : then + options_.partial_ttl;
    for (const Service& service : fetched->services) {
      ApplyEvent(entry, Event{EventType::kCreate, service}, then);
    }
    // Events that arrived while we asked are newer than some answers.
    for (const Event& event : entry.during_fetch) {
      ApplyEvent(entry, event, then);
    }
    entry.during_fetch.clear();
    entry.valid = true;
    SharedLookup view = FreshView(entry, then);
    if (view == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("service '", name, "' not found"));
    }
    return view;
  }
  entry.during_fetch.clear();
  entry.valid = false;
  if (absl::IsNotFound(fetched.status())) {
    entry.versions.clear();
    return fetched.status();
  }
  // The backend failed: the last known nodes, expired or not, beat nothing.
  std::vector<Service> last_known = Materialize(entry, then, true);
  if (!last_known.empty()) {
    return std::make_shared<const CachedLookup>(
        CachedLookup{std::move(last_known), true});
  }
  return fetched.status();
}

void CachingRegistry::Evict(absl::string_view service,
                            absl::string_view node_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(service);
  if (it == entries_.end()) return;
  it->second.view = nullptr;
  for (auto v = it->second.versions.begin(); v != it->second.versions.end();) {
    v->second.nodes.erase(std::string(node_id));
    v = v->second.nodes.empty() ? it->second.versions.erase(v) : std::next(v);
  }
  EraseIfUnused(it);
}

absl::StatusOr<std::vector<Service>> CachingRegistry::GetService(
    absl::string_view name) {
  MN_ASSIGN_OR_RETURN(
      CachedLookup found,
      Lookup(name, concurrency::DeadlineIn(options_.lookup_timeout)));
  return std::move(found.services);
}

absl::Status CachingRegistry::Register(const Service& service,
                                       RegisterOptions options) {
  return backend_->Register(service, options);
}

absl::Status CachingRegistry::Deregister(const Service& service) {
  return backend_->Deregister(service);
}

absl::StatusOr<std::vector<Service>> CachingRegistry::ListServices() {
  return backend_->ListServices();
}

absl::StatusOr<std::unique_ptr<Watcher>> CachingRegistry::Watch(
    WatchOptions options) {
  return backend_->Watch(std::move(options));
}

}  // namespace micro_nats::registry
