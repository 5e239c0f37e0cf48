// Copyright 2026 The micro-nats Authors.
//
// codec.h: go-micro's registry JSON <-> registry types, via protobuf's JSON
// mapping (wire.proto).

#ifndef MICRO_NATS_REGISTRY_NATS_INTERNAL_CODEC_H_
#define MICRO_NATS_REGISTRY_NATS_INTERNAL_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

// A go-micro registry.Result: an action and a service.
struct Result {
  std::string action;
  Service service;
};

std::string EncodeService(const Service& service);
// At most `max_endpoints` endpoints and `max_nodes` nodes are copied out of
// the parsed message; how many were left out is added to `*dropped`.
absl::StatusOr<Service> DecodeService(absl::string_view json,
                                      size_t max_endpoints = SIZE_MAX,
                                      size_t max_nodes = SIZE_MAX,
                                      size_t* dropped = nullptr);

std::string EncodeResult(const Result& result);
absl::StatusOr<Result> DecodeResult(absl::string_view json);

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_NATS_INTERNAL_CODEC_H_
