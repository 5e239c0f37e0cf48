// Copyright 2026 The micro-nats Authors.
//
// key.h: the key-value registry's keys, one per registered node:
//
//   <name>.<version>.<node id>
//
// each part spelled in KV key characters ([-/_=.a-zA-Z0-9]) so that any
// valid service name, version and node id maps to exactly one key and back:
//   - letters, digits, '-' and '/' stand for themselves;
//   - '.' (common in names and versions) is '=';
//   - every other byte, '=' and '_' included, is '_' and two upper-case hex
//     digits;
//   - an empty part (an unversioned service) is a lone '_'.
// Decoding refuses anything that encoding cannot have made.

#ifndef MICRO_NATS_REGISTRY_KV_INTERNAL_KEY_H_
#define MICRO_NATS_REGISTRY_KV_INTERNAL_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace micro_nats::registry::kv_internal {

// One part of a key (a KV key token).
std::string EncodeKeyPart(absl::string_view part);
// InvalidArgument for a token EncodeKeyPart cannot have made.
absl::StatusOr<std::string> DecodeKeyPart(absl::string_view token);

struct NodeKey {
  std::string name;
  std::string version;
  std::string node_id;

  friend bool operator==(const NodeKey&, const NodeKey&) = default;
};

std::string EncodeKey(const NodeKey& key);
// InvalidArgument unless `key` is three tokens EncodeKeyPart can have made.
absl::StatusOr<NodeKey> DecodeKey(absl::string_view key);

// The prefix of every key of service `name` ("<name>."), and of one
// version ("<name>.<version>.").
std::string ServicePrefix(absl::string_view name);
std::string VersionPrefix(absl::string_view name, absl::string_view version);

}  // namespace micro_nats::registry::kv_internal

#endif  // MICRO_NATS_REGISTRY_KV_INTERNAL_KEY_H_
