// Copyright 2026 The micro-nats Authors.
//
// nats_registry.h: service discovery by broadcast query on NATS.
//
// The design of go-micro's NATS registry, wire compatible with it:
//   - a process answers queries for every service it registered, with one
//     subscription on the query subject: a reply per service version
//     (go-micro's registry.Service JSON);
//   - a lookup publishes a query ({"Action":"get"|"list","Service":{...}})
//     with a reply inbox of its own and gathers the answers;
//   - Register, Deregister and expiry publish watch events
//     ({"Action":"create"|"update"|"delete","Service":{...}}) that Watch
//     receives.
//
// Beyond go-micro:
//   - a lookup returns once answers stop coming (`idle_gap` after the last
//     one) or `quorum` answers came; `timeout` only bounds it, so a lookup
//     on a quiet network does not wait the whole timeout;
//   - NATS down is Unavailable, never an empty answer; no answer at all is
//     NotFound;
//   - nodes are deduplicated by id and merged per version across processes;
//   - nodes registered with a TTL expire (a delete event) unless registered
//     again in time;
//   - malformed JSON from the wire is reported once and ignored;
//   - a lookup that knows it has every node returns at once: each
//     micro-nats process follows the watch subject and keeps a census of
//     the nodes of each service (registry/nats/internal/census.h); its
//     answers carry a `Micro-Nats-Census` header (count and hash of those
//     nodes' ids) that go-micro ignores. When the nodes received match the
//     hint of two registrars answering with nodes of their own, and no
//     answer hinted otherwise, the lookup is complete: a round trip after
//     the slowest registrar, not an idle gap after it; while fewer came
//     than the hint says, it waits for them past the idle gap (up to
//     census_patience after the last answer). A lone hint never ends a
//     lookup (nats_registry.cc's Lookup says what a liar can and cannot
//     do). Without hints (go-micro registrars, a fresh process) the idle
//     gap rule ends it, and Find says the result is a guess
//     (LookupResult::complete);
//   - what a lookup takes in is bounded (answers, bytes, nodes, endpoints)
//     and checked as it is decoded: a node with an invalid id or an
//     address that is not a NATS subject is dropped, not passed on.

#ifndef MICRO_NATS_REGISTRY_NATS_NATS_REGISTRY_H_
#define MICRO_NATS_REGISTRY_NATS_NATS_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "concurrency/scheduler.h"
#include "nats/connection.h"
#include "registry/lookup_limits.h"
#include "registry/registry.h"

namespace micro_nats::registry {

struct NatsRegistryOptions {
  // go-micro's defaults; older go-plugins used "micro.registry.nats.query"
  // and "micro.registry.nats.watch".
  std::string query_subject = "micro.nats.query";
  std::string watch_subject = "micro.nats.watch";
  // The most a lookup waits (go-micro: 100 ms, all of which it waits).
  absl::Duration timeout = absl::Milliseconds(100);
  // After the first answer, a lookup returns once no answer came for this
  // long. Zero: wait the whole timeout, as go-micro does.
  absl::Duration idle_gap = absl::Milliseconds(10);
  // A lookup returns once this many answers came. Zero: no quorum.
  int quorum = 0;
  // Census hints (see above). A process hints only after following the
  // watch subject this long without a break: longer than registrars'
  // re-register interval (30 s), so it has heard of every live node. A node
  // not heard of for census_node_ttl is left out (a killed process sends no
  // delete). Lookups end on matching hints when use_census_hints is set.
  bool send_census_hints = true;
  bool use_census_hints = true;
  // While fewer nodes came than a hint says exist, the idle gap does not
  // end a lookup: this long without an answer does (a stale hint, e.g. a
  // killed process's nodes, costs this much, and the lookup is a guess).
  absl::Duration census_patience = absl::Milliseconds(50);
  absl::Duration census_warmup = absl::Seconds(35);
  absl::Duration census_node_ttl = absl::Seconds(90);
  // How often expired registrations are removed: a task on `scheduler`
  // (null: Scheduler::Default()), which must outlive the registry.
  absl::Duration sweep_interval = absl::Seconds(1);
  concurrency::Scheduler* scheduler = nullptr;
  // Events a watcher may have waiting before it is told it fell behind.
  size_t watch_buffer = 1024;
  // Larger messages on the query subject are dropped unread: a query is a
  // name and an action (go-micro's are ~130 bytes), and decoding garbage on
  // the one thread that answers would hold up every answer.
  size_t max_query_bytes = 4096;
  // The same for watch events, and for lookup answers, which carry a whole
  // service version (endpoints included).
  size_t max_event_bytes = 256 << 10;
  // What one lookup takes in from the network (lookup_limits.h). A census
  // hint of more than limits.max_nodes nodes is ignored.
  LookupLimits limits;
  // Called for what is dropped from the wire (malformed or oversized
  // messages, invalid nodes, what is past the bounds above), with why and
  // how many; unset: told the error sink (status/error_sink.h) once,
  // counted after.
  std::function<void(const absl::Status& why, size_t count)> on_bad_input;
};

// Fails when the subscriptions cannot be made (Unavailable) or a subject is
// invalid (InvalidArgument).
absl::StatusOr<std::unique_ptr<Registry>> NewNatsRegistry(
    std::shared_ptr<nats::Connection> connection,
    NatsRegistryOptions options = {});

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_NATS_NATS_REGISTRY_H_
