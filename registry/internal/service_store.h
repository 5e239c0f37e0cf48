// Copyright 2026 The micro-nats Authors.
//
// service_store.h: the services a backend holds, by name and version, with
// each node's expiry; every change returns the events it makes. And
// Register's checks, the same for every backend.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_SERVICE_STORE_H_
#define MICRO_NATS_REGISTRY_INTERNAL_SERVICE_STORE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
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

// Register's checks, the same for every backend: a valid service with at
// least one node, and a TTL that is not negative.
absl::Status ValidateRegistration(const Service& service,
                                  const RegisterOptions& options);

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_SERVICE_STORE_H_
