// Copyright 2026 The micro-nats Authors.

#include "registry/internal/service_store.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace micro_nats::registry::registry_internal {

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

}  // namespace micro_nats::registry::registry_internal
