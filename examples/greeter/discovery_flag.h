// Copyright 2026 The micro-nats Authors.
//
// The greeter server's and client's --registry: how they find each other.

#ifndef MICRO_NATS_EXAMPLES_GREETER_DISCOVERY_FLAG_H_
#define MICRO_NATS_EXAMPLES_GREETER_DISCOVERY_FLAG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "service/nats/nats_service.h"

namespace greeter {

// "nats": go-micro's broadcast registry; "kv": a JetStream key-value bucket
// (nats-server -js), where a server also answers broadcast discovery
// (NatsServiceOptions::register_broadcast).
inline absl::StatusOr<micro_nats::service::NatsServiceOptions::Discovery>
DiscoveryFromFlag(const std::string& registry) {
  using Discovery = micro_nats::service::NatsServiceOptions::Discovery;
  if (registry == "nats") return Discovery::kMicroRegistry;
  if (registry == "kv") return Discovery::kKeyValue;
  return absl::InvalidArgumentError(
      absl::StrCat("--registry is nats or kv, not '", registry, "'"));
}

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_DISCOVERY_FLAG_H_
