// Copyright 2026 The micro-nats Authors.
//
// replica.h: a key-value registry client's copy of the bucket, one entry
// per key (per registered node), and the events each change makes.

#ifndef MICRO_NATS_REGISTRY_KV_INTERNAL_REPLICA_H_
#define MICRO_NATS_REGISTRY_KV_INTERNAL_REPLICA_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "registry/registry.h"

namespace micro_nats::registry::kv_internal {

struct ReplicaEntry {
  Service service;        // with the one node the key names
  uint64_t revision = 0;  // the stream sequence of its value
  absl::Time expires = absl::InfiniteFuture();
  size_t bytes = 0;  // the value's size, counted against max_bytes
};

// Replica
//
// Not thread-safe: the owner locks. Entries past their expiry stay until
// Expire removes them (with a delete event each) but are never returned.
class Replica {
 public:
  explicit Replica(size_t max_entries,
                   size_t max_bytes = std::numeric_limits<size_t>::max())
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // Sets `key`'s value. kCreate when the version had no node yet, kUpdate
  // when it had; nothing when only the revision or expiry changed (a
  // renewal). An entry already expired removes the key instead. A new key
  // past max_entries, or a value that would take the values' total past
  // max_bytes, is refused (`*refused` set): a new key is left out, and a
  // key that had a value loses it (that value is no longer the bucket's).
  std::vector<Event> Put(const std::string& key, ReplicaEntry entry,
                         absl::Time now, bool* refused);
  // Removes `key` (a delete marker, or a value that could not be read).
  std::vector<Event> Remove(const std::string& key);
  // Removes what expired by `now`.
  std::vector<Event> Expire(absl::Time now);
  // Becomes `fresh` (a new copy of the bucket), with the events that turn
  // what was here into it. Keys `fresh` refused (past max_entries or
  // max_bytes) stay refused.
  std::vector<Event> ReplaceWith(Replica fresh, absl::Time now);

  // The versions of `name` (nodes merged; each version described as its
  // latest registration says), or of every service.
  std::vector<Service> Get(absl::string_view name, absl::Time now) const;
  std::vector<Service> List(absl::Time now) const;
  // The keys of one version, expired ones too.
  std::vector<std::string> KeysOf(absl::string_view name,
                                  absl::string_view version) const;
  size_t size() const { return entries_.size(); }
  // The sum of the entries' value sizes.
  size_t bytes() const { return bytes_; }
  const std::map<std::string, ReplicaEntry>& entries() const {
    return entries_;
  }

 private:
  // Whether any key but `except` holds a node of `service`'s version.
  bool VersionHasOther(const Service& service, const std::string& except) const;
  // Groups live entries of keys in [begin, end) by name and version.
  std::vector<Service> Group(
      std::map<std::string, ReplicaEntry>::const_iterator begin,
      std::map<std::string, ReplicaEntry>::const_iterator end,
      absl::Time now) const;

  const size_t max_entries_;
  const size_t max_bytes_;
  std::map<std::string, ReplicaEntry> entries_;
  size_t bytes_ = 0;
};

}  // namespace micro_nats::registry::kv_internal

#endif  // MICRO_NATS_REGISTRY_KV_INTERNAL_REPLICA_H_
