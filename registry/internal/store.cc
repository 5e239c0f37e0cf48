// Copyright 2026 The micro-nats Authors.

#include "registry/internal/store.h"

#include <condition_variable>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrency/scheduler.h"
#include "concurrency/wait.h"
#include "status/status_macros.h"

namespace micro_nats::registry::registry_internal {

// ---------------------------------------------------------------------------
// ServiceStore

Service ServiceStore::Materialize(const Version& version) {
  Service service = version.info;
  service.nodes.clear();
  for (const auto& [id, entry] : version.nodes) {
    service.nodes.push_back(entry.node);
  }
  return service;
}

std::vector<Event> ServiceStore::Register(const Service& service,
                                          absl::Duration ttl, absl::Time now) {
  auto& versions = services_[service.name];
  auto [it, created] = versions.try_emplace(service.version);
  Version& version = it->second;
  version.info = service;
  version.info.nodes.clear();
  const absl::Time expiry =
      ttl > absl::ZeroDuration() ? now + ttl : absl::InfiniteFuture();
  for (const Node& node : service.nodes) {
    version.nodes[node.id] = Entry{node, expiry};
  }
  return {Event{created ? EventType::kCreate : EventType::kUpdate, service}};
}

std::vector<Event> ServiceStore::Deregister(const Service& service) {
  auto name_it = services_.find(service.name);
  if (name_it == services_.end()) return {};
  auto version_it = name_it->second.find(service.version);
  if (version_it == name_it->second.end()) return {};
  Version& version = version_it->second;
  Service removed = version.info;
  removed.nodes.clear();
  if (service.nodes.empty()) {
    removed = Materialize(version);
    version.nodes.clear();
  } else {
    for (const Node& node : service.nodes) {
      auto node_it = version.nodes.find(node.id);
      if (node_it == version.nodes.end()) continue;
      removed.nodes.push_back(node_it->second.node);
      version.nodes.erase(node_it);
    }
  }
  if (version.nodes.empty()) {
    name_it->second.erase(version_it);
    if (name_it->second.empty()) services_.erase(name_it);
  }
  if (removed.nodes.empty()) return {};
  return {Event{EventType::kDelete, std::move(removed)}};
}

std::vector<Event> ServiceStore::Expire(absl::Time now) {
  std::vector<Event> events;
  for (auto name_it = services_.begin(); name_it != services_.end();) {
    auto& versions = name_it->second;
    for (auto version_it = versions.begin(); version_it != versions.end();) {
      Version& version = version_it->second;
      Service expired = version.info;
      expired.nodes.clear();
      for (auto node_it = version.nodes.begin();
           node_it != version.nodes.end();) {
        if (node_it->second.expiry <= now) {
          expired.nodes.push_back(node_it->second.node);
          node_it = version.nodes.erase(node_it);
        } else {
          ++node_it;
        }
      }
      if (!expired.nodes.empty()) {
        events.push_back(Event{EventType::kDelete, std::move(expired)});
      }
      version_it = version.nodes.empty() ? versions.erase(version_it)
                                         : std::next(version_it);
    }
    name_it = versions.empty() ? services_.erase(name_it) : std::next(name_it);
  }
  return events;
}

std::vector<Service> ServiceStore::Get(absl::string_view name) const {
  std::vector<Service> result;
  auto it = services_.find(name);
  if (it == services_.end()) return result;
  for (const auto& [version_name, version] : it->second) {
    result.push_back(Materialize(version));
  }
  return result;
}

std::vector<Service> ServiceStore::List() const {
  std::vector<Service> result;
  for (const auto& [name, versions] : services_) {
    for (const auto& [version_name, version] : versions) {
      result.push_back(Materialize(version));
    }
  }
  return result;
}

std::vector<Service> MergeByVersion(const std::vector<Service>& services) {
  std::map<std::pair<std::string, std::string>, Service> merged;
  std::map<std::pair<std::string, std::string>, std::map<std::string, Node>>
      nodes;
  for (const Service& service : services) {
    const auto key = std::make_pair(service.name, service.version);
    auto [it, created] = merged.try_emplace(key, service);
    if (created) it->second.nodes.clear();
    for (const Node& node : service.nodes) nodes[key][node.id] = node;
  }
  std::vector<Service> result;
  for (auto& [key, service] : merged) {
    for (auto& [id, node] : nodes[key]) service.nodes.push_back(node);
    result.push_back(std::move(service));
  }
  return result;
}

absl::Status ValidateRegistration(const Service& service,
                                  const RegisterOptions& options) {
  if (auto s = ValidateService(service); !s.ok()) return s;
  if (service.nodes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("service '", service.name, "' has no nodes to register"));
  }
  if (options.ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative TTL ", absl::FormatDuration(options.ttl)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// SweptStore

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

// ---------------------------------------------------------------------------
// WatchHub

class WatchHub::Queue {
 public:
  Queue(size_t buffer, WatchOptions options)
      : buffer_(buffer), options_(std::move(options)) {}

  void Push(const Event& event) {
    if (!options_.service.empty() && event.service.name != options_.service) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    if (events_.size() >= buffer_) {
      ++dropped_;  // told to the reader by Next, never silent
    } else {
      events_.push_back(event);
    }
    cv_.notify_all();
    if (ready_) ready_();
  }

  // Events were lost before they reached the hub.
  void Lost(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    if (lost_.empty()) lost_ = why;
    cv_.notify_all();
    if (ready_) ready_();
  }

  // Under mu_, so that once Stop returns it is never called again.
  void NotifyWhenReady(std::function<void()> ready) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    ready_ = std::move(ready);
    if (dropped_ > 0 || !lost_.empty() || !events_.empty()) ready_();
  }

  absl::StatusOr<Event> Next(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] {
      return stopped_ || dropped_ > 0 || !lost_.empty() || !events_.empty();
    };
    concurrency::WaitUntil(cv_, lock, deadline, ready);
    if (stopped_) return absl::CancelledError("the watcher was stopped");
    if (!lost_.empty() && events_.empty()) {
      return absl::ResourceExhaustedError(
          absl::StrCat(std::exchange(lost_, std::string()),
                       "; re-read the services you follow"));
    }
    if (dropped_ > 0 && events_.empty()) {
      // Report the gap where it happened: after the events before it.
      const size_t dropped = std::exchange(dropped_, 0);
      return absl::ResourceExhaustedError(absl::StrCat(
          "the watcher fell behind: ", dropped, " events were dropped (buffer ",
          buffer_, "); re-read the services you follow"));
    }
    if (events_.empty()) {
      return absl::DeadlineExceededError("no registry event before deadline");
    }
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  void Stop() {
    std::function<void()> ready;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      events_.clear();
      ready = std::move(ready_);
      ready_ = nullptr;
      cv_.notify_all();
    }
    // Destroyed outside the lock: what it holds is the reader's.
  }

 private:
  const size_t buffer_;
  const WatchOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;     // guarded by mu_
  size_t dropped_ = 0;           // guarded by mu_
  std::string lost_;             // guarded by mu_: why events were lost
  bool stopped_ = false;         // guarded by mu_
  std::function<void()> ready_;  // guarded by mu_
};

namespace {

class HubWatcher : public Watcher {
 public:
  explicit HubWatcher(std::shared_ptr<WatchHub::Queue> queue)
      : queue_(std::move(queue)) {}
  ~HubWatcher() override { Stop(); }

  absl::StatusOr<Event> Next(absl::Time deadline) override {
    return queue_->Next(deadline);
  }
  void Stop() override { queue_->Stop(); }
  bool NotifyWhenReady(std::function<void()> ready) override {
    queue_->NotifyWhenReady(std::move(ready));
    return true;
  }

 private:
  std::shared_ptr<WatchHub::Queue> queue_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Watcher>> WatchHub::NewWatcher(
    WatchOptions options) {
  if (!options.service.empty()) {
    MN_RETURN_IF_ERROR(ValidateServiceName(options.service));
  }
  auto queue = std::make_shared<Queue>(buffer_, std::move(options));
  std::lock_guard<std::mutex> lock(mu_);
  // Forget watchers that are gone while we are here.
  std::erase_if(queues_, [](const auto& weak) { return weak.expired(); });
  queues_.push_back(queue);
  return std::make_unique<HubWatcher>(std::move(queue));
}

void WatchHub::Lost(const std::string& why) {
  std::vector<std::shared_ptr<Queue>> queues;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& weak : queues_) {
      if (auto queue = weak.lock()) queues.push_back(std::move(queue));
    }
  }
  for (const auto& queue : queues) queue->Lost(why);
}

void WatchHub::Publish(const Event& event) {
  std::vector<std::shared_ptr<Queue>> queues;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& weak : queues_) {
      if (auto queue = weak.lock()) queues.push_back(std::move(queue));
    }
  }
  for (const auto& queue : queues) queue->Push(event);
}

absl::StatusOr<std::vector<Service>> VersionsOf(std::vector<Service> answers,
                                                absl::string_view name) {
  std::vector<Service> matching;
  for (Service& s : answers) {
    if (s.name == name) matching.push_back(std::move(s));
  }
  if (matching.empty()) {
    return absl::NotFoundError(absl::StrCat("service '", name, "' not found"));
  }
  return MergeByVersion(matching);
}

}  // namespace micro_nats::registry::registry_internal
