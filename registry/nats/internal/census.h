// Copyright 2026 The micro-nats Authors.
//
// census.h: the nodes of each service a NATS registry process knows of,
// from the watch events every registrar publishes (go-micro's too), so that
// its answers to a lookup can say how many nodes there are and which.
//
// A process whose census is trustworthy adds a hint to each answer:
// `Micro-Nats-Census: <count> <hash> <sender>`, the number of nodes of the
// service it knows of, a hash of their ids, and which registry instance
// says so. A lookup that has received exactly that set (same count, same
// hash), vouched for by two registrars (see nats_registry.cc's Judge for
// who counts), knows it is complete and returns at once, a round trip
// after the last registrar answered, instead of waiting out an idle gap.
// go-micro ignores the header.
//
// When is a census trustworthy? Every registrar re-registers on an
// interval (go-micro and micro-nats: 30 s), and each registration is an
// event. So a process that has watched without a break for longer than
// that interval (`warmup`) has heard of every live node. Until then, and
// again after a reconnect (events may have been missed), it gives no hint.
// A node not heard of for `node_ttl` (a SIGKILLed process publishes no
// delete) is left out.

#ifndef MICRO_NATS_REGISTRY_NATS_INTERNAL_CENSUS_H_
#define MICRO_NATS_REGISTRY_NATS_INTERNAL_CENSUS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

inline constexpr char kCensusHeader[] = "Micro-Nats-Census";

struct CensusHint {
  int64_t count = 0;
  uint64_t hash = 0;

  friend bool operator==(const CensusHint&, const CensusHint&) = default;
};

// The hash of one node id; a set's hash is the XOR of its ids' (so it can
// be kept as answers arrive, in any order). FNV-1a: the same in every
// process and build.
uint64_t NodeIdHash(absl::string_view id);

struct SenderHint {
  CensusHint hint;
  std::string sender;  // empty when the header names none
};

// "<count> <hash in hex> <sender>", and back (nullopt for anything else;
// the sender may be missing).
std::string FormatHint(const CensusHint& hint, absl::string_view sender);
absl::optional<SenderHint> ParseHint(absl::string_view text);

// The distinct node ids of a lookup's answers so far, as a hint would
// describe them.
class NodeSet {
 public:
  void Add(absl::string_view id);
  bool Contains(absl::string_view id) const { return ids_.count(id) > 0; }
  CensusHint hint() const { return hint_; }

 private:
  std::map<std::string, bool, std::less<>> ids_;
  CensusHint hint_;
};

// Census
//
// Thread-safe. Holds at most `max_nodes` nodes: past that (a flood of
// events, real or not) it forgets them all and starts again, as after a
// reconnect (no hints for a warmup), rather than give wrong ones; says so
// to the error sink (once) and counts it.
class Census {
 public:
  static constexpr size_t kDefaultMaxNodes = 100000;

  Census(absl::Duration warmup, absl::Duration node_ttl, absl::Time now,
         size_t max_nodes = kDefaultMaxNodes);

  // An event from the watch subject.
  void Apply(const Event& event, absl::Time now);
  // Events may have been missed (a reconnect, a drop): no hints for a
  // warmup.
  void Restart(absl::Time now);
  // What this process would say of `service`, or nullopt while it cannot
  // be trusted.
  absl::optional<CensusHint> Hint(absl::string_view service,
                                  absl::Time now) const;
  // The ids of the nodes of `service` heard of (and not expired), trusted
  // or not yet: a lookup that has not seen them all is not complete.
  std::vector<std::string> Known(absl::string_view service,
                                 absl::Time now) const;
  // How many times the census overflowed and started again.
  size_t overflows() const;

 private:
  // Drops the nodes not heard of for node_ttl; returns how many.
  size_t EraseExpired(std::map<std::string, absl::Time>& nodes,
                      absl::Time now) const;
  // EraseExpired for every service; mu_ held.
  void SweepAll(absl::Time now);

  const absl::Duration warmup_;
  const absl::Duration node_ttl_;
  const size_t max_nodes_;
  mutable std::mutex mu_;
  absl::Time watching_since_;  // guarded by mu_
  size_t size_ = 0;            // guarded by mu_: nodes held
  size_t overflows_ = 0;       // guarded by mu_
  // service -> node id -> last heard of; guarded by mu_
  std::map<std::string, std::map<std::string, absl::Time>, std::less<>> nodes_;
};

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_NATS_INTERNAL_CENSUS_H_
