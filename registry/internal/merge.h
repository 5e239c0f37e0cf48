// Copyright 2026 The micro-nats Authors.
//
// merge.h: what a broadcast lookup's answers (one per answering process)
// come to: one Service per version, nodes deduplicated.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_MERGE_H_
#define MICRO_NATS_REGISTRY_INTERNAL_MERGE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

// Merges services of one name from several sources (processes): one per
// version, nodes deduplicated by id (the later one wins), endpoints the
// union by name over every answer (the first of a name wins).
std::vector<Service> MergeByVersion(const std::vector<Service>& services);

// The versions of `name` among a broadcast lookup's answers (others may
// answer with other services), merged; NotFound when there is none.
absl::StatusOr<std::vector<Service>> VersionsOf(std::vector<Service> answers,
                                                absl::string_view name);

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_MERGE_H_
