// Copyright 2026 The micro-nats Authors.

#include "registry/kv/internal/replica.h"

#include <utility>

#include "absl/strings/match.h"
#include "registry/kv/internal/key.h"

namespace micro_nats::registry::kv_internal {

std::vector<Event> Replica::Put(const std::string& key, ReplicaEntry entry,
                                absl::Time now, bool* refused) {
  *refused = false;
  if (entry.expires <= now) return Remove(key);
  auto it = entries_.find(key);
  const size_t others = bytes_ - (it == entries_.end() ? 0 : it->second.bytes);
  if (entry.bytes > max_bytes_ || others > max_bytes_ - entry.bytes) {
    *refused = true;
    return Remove(key);
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) {
      *refused = true;
      return {};
    }
    const bool other = VersionHasOther(entry.service, key);
    Service service = entry.service;
    bytes_ += entry.bytes;
    entries_.emplace(key, std::move(entry));
    return {Event{other ? EventType::kUpdate : EventType::kCreate,
                  std::move(service)}};
  }
  const bool same = it->second.service == entry.service;
  bytes_ = others + entry.bytes;
  it->second = std::move(entry);
  if (same) return {};  // a renewal
  return {Event{EventType::kUpdate, it->second.service}};
}

std::vector<Event> Replica::Remove(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  Event event{EventType::kDelete, std::move(it->second.service)};
  bytes_ -= it->second.bytes;
  entries_.erase(it);
  return {std::move(event)};
}

std::vector<Event> Replica::Expire(absl::Time now) {
  std::vector<Event> events;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now) {
      events.push_back(
          Event{EventType::kDelete, std::move(it->second.service)});
      bytes_ -= it->second.bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return events;
}

std::vector<Event> Replica::ReplaceWith(Replica fresh, absl::Time now) {
  std::vector<Event> events;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (fresh.entries_.count(it->first) == 0) {
      events.push_back(
          Event{EventType::kDelete, std::move(it->second.service)});
      bytes_ -= it->second.bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  // Every key left is overwritten below: count only the fresh values (what
  // `fresh` accepted fits), whatever order they come in.
  for (auto& [key, entry] : entries_) entry.bytes = 0;
  bytes_ = 0;
  for (auto& [key, entry] : fresh.entries_) {
    bool refused = false;
    for (Event& event : Put(key, std::move(entry), now, &refused)) {
      events.push_back(std::move(event));
    }
  }
  return events;
}

bool Replica::VersionHasOther(const Service& service,
                              const std::string& except) const {
  const std::string prefix = VersionPrefix(service.name, service.version);
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && absl::StartsWith(it->first, prefix); ++it) {
    if (it->first != except) return true;
  }
  return false;
}

std::vector<Service> Replica::Group(
    std::map<std::string, ReplicaEntry>::const_iterator begin,
    std::map<std::string, ReplicaEntry>::const_iterator end,
    absl::Time now) const {
  struct Version {
    Service service;
    uint64_t revision = 0;  // of the entry that describes it
  };
  std::map<std::pair<std::string, std::string>, Version> versions;
  for (auto it = begin; it != end; ++it) {
    const ReplicaEntry& entry = it->second;
    if (entry.expires <= now) continue;
    Version& version = versions[{entry.service.name, entry.service.version}];
    if (version.service.nodes.empty() || entry.revision > version.revision) {
      std::vector<Node> nodes = std::move(version.service.nodes);
      version.service = entry.service;
      version.service.nodes = std::move(nodes);
      version.revision = entry.revision;
    }
    version.service.nodes.insert(version.service.nodes.end(),
                                 entry.service.nodes.begin(),
                                 entry.service.nodes.end());
  }
  std::vector<Service> services;
  services.reserve(versions.size());
  for (auto& [name_version, version] : versions) {
    services.push_back(std::move(version.service));
  }
  return services;
}

std::vector<Service> Replica::Get(absl::string_view name,
                                  absl::Time now) const {
  const std::string prefix = ServicePrefix(name);
  auto begin = entries_.lower_bound(prefix);
  auto end = begin;
  while (end != entries_.end() && absl::StartsWith(end->first, prefix)) ++end;
  return Group(begin, end, now);
}

std::vector<Service> Replica::List(absl::Time now) const {
  return Group(entries_.begin(), entries_.end(), now);
}

std::vector<std::string> Replica::KeysOf(absl::string_view name,
                                         absl::string_view version) const {
  const std::string prefix = VersionPrefix(name, version);
  std::vector<std::string> keys;
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && absl::StartsWith(it->first, prefix); ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

}  // namespace micro_nats::registry::kv_internal
