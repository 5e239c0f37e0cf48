// Copyright 2026 The micro-nats Authors.

#include "registry/memory/memory_registry.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "registry/internal/store.h"
#include "status/status_macros.h"

namespace micro_nats::registry {
namespace {

using registry_internal::ServiceStore;
using registry_internal::WatchHub;

class MemoryRegistry : public Registry {
 public:
  explicit MemoryRegistry(MemoryRegistryOptions options)
      : options_(std::move(options)), hub_(options_.watch_buffer) {
    if (options_.sweep_interval > absl::ZeroDuration()) {
      sweeper_ = std::thread([this] { SweepLoop(); });
    }
  }

  ~MemoryRegistry() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (sweeper_.joinable()) sweeper_.join();
  }

  absl::Status Register(const Service& service,
                        RegisterOptions options) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    if (service.nodes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "service '", service.name, "' has no nodes to register"));
    }
    if (options.ttl < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("negative TTL");
    }
    Apply([&](absl::Time now) {
      return store_.Register(service, options.ttl, now);
    });
    return absl::OkStatus();
  }

  absl::Status Deregister(const Service& service) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    Apply([&](absl::Time) { return store_.Deregister(service); });
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    MN_RETURN_IF_ERROR(ValidateServiceName(name));
    std::vector<Service> found;
    Apply([&](absl::Time) {
      found = store_.Get(name);
      return std::vector<Event>{};
    });
    if (found.empty()) {
      return absl::NotFoundError(
          absl::StrCat("service '", name, "' not found"));
    }
    return found;
  }

  absl::StatusOr<std::vector<Service>> ListServices() override {
    std::vector<Service> all;
    Apply([&](absl::Time) {
      all = store_.List();
      return std::vector<Event>{};
    });
    return all;
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options) override {
    if (!options.service.empty()) {
      MN_RETURN_IF_ERROR(ValidateServiceName(options.service));
    }
    return hub_.NewWatcher(std::move(options));
  }

 private:
  // Expires what is due, runs `change` under the lock, then publishes the
  // events of both in order (outside the lock, but serialised so watchers
  // see them in the order they happened).
  template <typename Change>
  void Apply(Change change) {
    std::lock_guard<std::mutex> publish_lock(publish_mu_);
    std::vector<Event> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const absl::Time now = options_.clock();
      events = store_.Expire(now);
      std::vector<Event> more = change(now);
      events.insert(events.end(), more.begin(), more.end());
    }
    hub_.Publish(events);
  }

  void SweepLoop() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.sweep_interval),
                     [this] { return stopping_; });
        if (stopping_) return;
      }
      Apply([](absl::Time) { return std::vector<Event>{}; });
    }
  }

  const MemoryRegistryOptions options_;
  WatchHub hub_;
  std::mutex publish_mu_;  // orders event publication
  std::mutex mu_;
  std::condition_variable cv_;
  ServiceStore store_;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread sweeper_;
};

}  // namespace

std::unique_ptr<Registry> NewMemoryRegistry(MemoryRegistryOptions options) {
  return std::make_unique<MemoryRegistry>(std::move(options));
}

}  // namespace micro_nats::registry
