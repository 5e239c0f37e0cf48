// Copyright 2026 The micro-nats Authors.

#include "registry/internal/merge.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace micro_nats::registry::registry_internal {

std::vector<Service> MergeByVersion(const std::vector<Service>& services) {
  std::map<std::pair<std::string, std::string>, Service> merged;
  std::map<std::pair<std::string, std::string>, std::map<std::string, Node>>
      nodes;
  for (const Service& service : services) {
    const auto key = std::make_pair(service.name, service.version);
    auto [it, created] = merged.try_emplace(key, service);
    if (created) {
      it->second.nodes.clear();
    } else {
      // Every answer's endpoints count, the first of a name winning: an
      // answer that lists fewer (a peer's, its bad endpoints dropped) must
      // not hide those another node of the version serves.
      std::vector<Endpoint>& endpoints = it->second.endpoints;
      for (const Endpoint& endpoint : service.endpoints) {
        const bool known = std::any_of(
            endpoints.begin(), endpoints.end(),
            [&](const Endpoint& e) { return e.name == endpoint.name; });
        if (!known) endpoints.push_back(endpoint);
      }
    }
    for (const Node& node : service.nodes) nodes[key][node.id] = node;
  }
  std::vector<Service> result;
  for (auto& [key, service] : merged) {
    for (auto& [id, node] : nodes[key]) service.nodes.push_back(node);
    result.push_back(std::move(service));
  }
  return result;
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
