// Copyright 2026 The micro-nats Authors.

#include "registry/memory/memory_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "registry/internal/service_store.h"
#include "registry/internal/swept_store.h"
#include "registry/internal/watch_hub.h"
#include "status/status_macros.h"

namespace micro_nats::registry {
namespace {

using registry_internal::ServiceStore;
using registry_internal::SweptStore;
using registry_internal::ValidateRegistration;
using registry_internal::WatchHub;

class MemoryRegistry : public Registry {
 public:
  explicit MemoryRegistry(MemoryRegistryOptions options)
      : hub_(options.watch_buffer),
        store_(
            options.clock, options.sweep_interval,
            [this](const std::vector<Event>& events) {
              hub_.Publish(events);
              return absl::OkStatus();
            },
            options.scheduler) {}

  absl::Status Register(const Service& service,
                        RegisterOptions options) override {
    MN_RETURN_IF_ERROR(ValidateRegistration(service, options));
    return store_.Apply([&](ServiceStore& store, absl::Time now) {
      return store.Register(service, options.ttl, now);
    });
  }

  absl::Status Deregister(const Service& service) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    return store_.Apply([&](ServiceStore& store, absl::Time) {
      return store.Deregister(service);
    });
  }

  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    MN_RETURN_IF_ERROR(ValidateServiceName(name));
    std::vector<Service> found = store_.Get(name);
    if (found.empty()) {
      return absl::NotFoundError(
          absl::StrCat("service '", name, "' not found"));
    }
    return found;
  }

  absl::StatusOr<std::vector<Service>> ListServices() override {
    return store_.List();
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options) override {
    return hub_.NewWatcher(std::move(options));
  }

 private:
  WatchHub hub_;
  SweptStore store_;  // after hub_: its sweep announces to hub_
};

}  // namespace

std::unique_ptr<Registry> NewMemoryRegistry(MemoryRegistryOptions options) {
  return std::make_unique<MemoryRegistry>(std::move(options));
}

}  // namespace micro_nats::registry
