// Copyright 2026 The micro-nats Authors.
//
// kv_registry.h: service discovery on a JetStream key-value bucket.
//
// Broadcast discovery (registry/nats) asks every registrar on every cold
// lookup. Here each registration is a key of a KV bucket, and each client
// keeps a replica of the bucket fed by one watch, so every lookup is local
// and complete, and a change reaches every client in about one round trip:
//   - Register puts one key per node, "<name>.<version>.<node id>" spelled
//     in KV key characters (internal/key.h: any valid name, version and id
//     map to one key and back); the value is go-micro's service JSON with
//     that one node, so tools that read go-micro JSON read it. The TTL
//     travels in a header (Micro-Nats-Ttl, milliseconds). Re-registering
//     puts it again (a renewal; an event only when the value changed).
//     Deregister puts a delete marker (kvStore_Delete) that watchers see.
//   - TTL: nats-server 2.9 has no per-key TTL, and the bucket's max-age
//     removes old values without a marker anyone sees. So every reader
//     judges expiry itself, from the value's own timestamp (the server's)
//     plus its TTL, and reports it as a delete event; the bucket's max-age
//     (KvRegistryOptions::max_age) bounds every registration the same way,
//     TTL or not, and keeps the store from growing. A registration must be
//     renewed within min(TTL, max_age). Readers compare the server's
//     timestamp with their own clock: clock skew shortens or lengthens a
//     TTL by as much.
//   - The replica is fed by one ephemeral push consumer per client (last
//     value per key, then every change; idle heartbeats), delivered
//     through the client's //nats Connection on nats.c's delivery threads:
//     no thread of its own. A gap in the consumer's sequence, missed
//     heartbeats, dropped messages or a reconnect start a resync: a new
//     consumer's initial values are gathered beside the replica, then
//     replace it, watchers getting the difference as events. Blocking work
//     (making the consumer) runs on a small pool shared by every KV
//     registry of the process.
//   - Lookups and lists answer from the replica. The first waits for the
//     initial values (at most load_wait; Unavailable if they did not come:
//     a client started during an outage never says NotFound). While the
//     connection is down or a resync runs, the replica is stale: Find says
//     complete = false (registry/cache asks again sooner), and a lookup
//     that finds nothing in a stale replica is Unavailable. NotFound from
//     a live replica is confirmed by a round trip to the server first.
//   - Bounded: values over max_value_bytes, values that do not parse or do
//     not match their key, and keys past max_entries or max_replica_bytes
//     are skipped and reported (on_bad_input, with counts); a replica that
//     refused keys is not complete.
//   - The bucket is created when missing (replicas, storage, max-age, max
//     value size, max-bytes and a history of 1) and checked when present:
//     one with other settings is FailedPrecondition naming each difference.
//
// Trust: every client allowed to publish to `$KV.<bucket>.>` is trusted by
// every reader. By default that is every client of the NATS account, and
// such a client can:
//   - register a node under any service name with an address of its own (a
//     well-formed value matching its key passes every check), so callers'
//     requests, and the credentials in their metadata, go to it;
//   - overwrite a real node's key with its own address (the real node takes
//     it back at its next renewal: flapping), or delete any key (the node
//     is hidden until its next renewal);
//   - fill the bucket, and so every replica, to max_entries or
//     max_replica_bytes with junk keys: later registrations are refused on
//     every client (their nodes hidden, Find incomplete, lookups NotFound
//     or Unavailable);
//   - publish to a replica's deliver inbox (learnable from its consumer
//     request): such messages are bad input, but one forging a heartbeat
//     (`Status: 100`) hides a dead consumer from the watchdog, and one
//     naming a later sequence forces a resync (at most one per
//     retry_interval).
// So restrict writes with NATS permissions: only services may publish
// `$KV.<bucket>.>` (and only the JetStream API calls they need), and
// readers only subscribe and make their consumer, e.g. for the default
// bucket:
//   services: publish: ["$KV.micro-registry.>", "$JS.API.>"]
//             subscribe: ["_INBOX.>"]
//   clients:  publish: ["$JS.API.STREAM.INFO.KV_micro-registry",
//                       "$JS.API.CONSUMER.CREATE.KV_micro-registry",
//                       "$JS.API.CONSUMER.CREATE.KV_micro-registry.>"]
//             subscribe: ["_INBOX.>"]
//             (and deny publish "$KV.micro-registry.>")
// Per-service prefixes ("$KV.micro-registry.orders.>") narrow a
// service to its own keys (key.h spells the name). Broadcast discovery
// (registry/nats) is open to the same through its query and watch
// subjects.
//
// Conformance (registry/testing): every case, with no capability flag set
// off; watch events of a resync are the difference, not each change missed.

#ifndef MICRO_NATS_REGISTRY_KV_KV_REGISTRY_H_
#define MICRO_NATS_REGISTRY_KV_KV_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "concurrency/scheduler.h"
#include "nats/connection.h"
#include "registry/registry.h"

namespace micro_nats::registry {

enum class KvStorage { kFile, kMemory };

struct KvRegistryOptions {
  // The bucket (KV_<bucket> stream): letters, digits, '-' and '_'.
  std::string bucket = "micro-registry";
  int replicas = 1;
  KvStorage storage = KvStorage::kFile;
  // The bucket's max-age, and the longest any registration lives without
  // being renewed (see above). Zero: none.
  absl::Duration max_age = absl::Hours(1);
  // JetStream API calls and publish acknowledgements.
  absl::Duration request_timeout = absl::Seconds(2);
  // How long a lookup waits for the initial values.
  absl::Duration load_wait = absl::Seconds(2);
  // The consumer's idle heartbeat: three missed start a resync.
  absl::Duration heartbeat = absl::Seconds(1);
  // Between failed attempts to reach the bucket.
  absl::Duration retry_interval = absl::Milliseconds(500);
  // How often expired registrations are removed (with delete events): a
  // task on `scheduler` (null: Scheduler::Default()), which must outlive
  // the registry.
  absl::Duration sweep_interval = absl::Seconds(1);
  concurrency::Scheduler* scheduler = nullptr;
  // Keys the replica holds, the sum of their values' sizes, and the largest
  // value read (or written). The bucket is made with a max value size of
  // max_value_bytes (plus room for the headers this registry writes).
  size_t max_entries = 100000;
  size_t max_replica_bytes = 64 << 20;
  size_t max_value_bytes = 64 << 10;
  // The bucket's max-bytes (what the server stores: values with their keys,
  // headers and per-message overhead; a put past it is refused); 0: none.
  int64_t bucket_max_bytes = int64_t{128} << 20;
  // Endpoints of one value: more, and the value is skipped.
  size_t max_endpoints = 256;
  // Messages of the watch that may wait undelivered; past it they are
  // dropped and a resync follows. The initial load alone is up to
  // max_entries messages sent at once (the consumer has no flow control),
  // so 0 means max_entries + 1024, and a smaller value is InvalidArgument.
  // (Their bytes are bounded by the bucket's max-bytes.)
  int max_pending_msgs = 0;
  // Events a watcher may have waiting before it is told it fell behind.
  size_t watch_buffer = 1024;
  // Called for what is skipped from the bucket, with why and how many;
  // unset: told the error sink once, counted after.
  std::function<void(const absl::Status& why, size_t count)> on_bad_input;
};

// InvalidArgument for bad options; FailedPrecondition when the bucket
// exists with other settings. When JetStream cannot be reached now the
// registry is made anyway and keeps trying (its lookups are Unavailable
// until it loads).
absl::StatusOr<std::unique_ptr<Registry>> NewKvRegistry(
    std::shared_ptr<nats::Connection> connection,
    KvRegistryOptions options = {});

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_KV_KV_REGISTRY_H_
