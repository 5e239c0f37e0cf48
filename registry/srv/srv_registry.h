// Copyright 2026 The micro-nats Authors.
//
// srv_registry.h: service discovery through the NATS Service API (ADR-32):
// finds every service written with a NATS `micro` library (nats.go, nats.js,
// nats.c, ...) and every micro-nats service.
//
// A lookup broadcasts `$SRV.INFO.<name>` (ListServices: `$SRV.INFO`) and
// gathers the answers by the same rule as registry/nats: `idle_gap` after
// the last answer, or `quorum` answers, never past `timeout`. Answers in
// the v1 shape and in the earlier draft (Debian's nats.go 1.22) are read.
//
// An ADR-32 instance becomes a node:
//   - node id: the instance id; metadata {"protocol": "nats-micro"} (it is
//     called by request/reply on its endpoints' subjects, not dialled;
//     srv/protocol.h names these keys);
//   - version: srv::FromSemver of its version ("0.0.0+latest" is "latest");
//   - endpoints: name, and metadata with "subject" and "queue_group" added.
//
// What ADR-32 cannot carry, this backend does not keep (its conformance run
// says so): watch events (Watch is Unimplemented: poll GetService), TTLs
// (a registration stays until Deregister), node addresses and metadata,
// and endpoint request/response descriptions. Answers are checked as they
// are decoded (srv::DecodeInfo): an endpoint whose subject is not a
// concrete NATS subject never reaches a caller. Register makes this process
// answer `$SRV.PING|INFO|STATS` (all three levels) for each node, with
// zero counters; it does not serve the endpoints. Service names must be
// ADR-32 names ([A-Za-z0-9_-]).

#ifndef MICRO_NATS_REGISTRY_SRV_SRV_REGISTRY_H_
#define MICRO_NATS_REGISTRY_SRV_SRV_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nats/connection.h"
#include "registry/lookup_limits.h"
#include "registry/registry.h"

namespace micro_nats::registry {

struct SrvRegistryOptions {
  // The most a lookup waits (`nats micro ls` waits a fixed 300 ms).
  absl::Duration timeout = absl::Milliseconds(300);
  // After the first answer, a lookup returns once none came for this long.
  // Zero: wait the whole timeout.
  absl::Duration idle_gap = absl::Milliseconds(10);
  // A lookup returns once this many answers came. Zero: no quorum.
  int quorum = 0;
  // What one lookup takes in from the network (lookup_limits.h): an answer
  // is one instance; endpoints past the limit are skipped while parsing.
  LookupLimits limits;
  // Called for what is dropped from the wire (malformed answers, endpoints
  // that cannot be called safely, what is past the bounds above), with why
  // and how many; unset: told the error sink (status/error_sink.h) once,
  // counted after.
  std::function<void(const absl::Status& why, size_t count)> on_bad_input;
};

absl::StatusOr<std::unique_ptr<Registry>> NewSrvRegistry(
    std::shared_ptr<nats::Connection> connection,
    SrvRegistryOptions options = {});

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_SRV_SRV_REGISTRY_H_
