// Copyright 2026 The micro-nats Authors.
//
// lookup_limits.h: what one lookup of a broadcast registry (registry/nats,
// registry/srv) takes in from the network, whoever answers. Anyone on the
// NATS account can answer a broadcast query, so each bound holds whatever
// the answers are; what is past one is dropped and reported (the
// registry's on_bad_input). Answers are decoded on the caller's thread,
// not NATS's, until the lookup's timeout.

#ifndef MICRO_NATS_REGISTRY_LOOKUP_LIMITS_H_
#define MICRO_NATS_REGISTRY_LOOKUP_LIMITS_H_

#include <cstddef>

#include "absl/time/time.h"

namespace micro_nats::registry {

struct LookupLimits {
  // Answers, and their bytes in all (bodies and headers): past either,
  // answers are dropped unread.
  size_t max_answers = 1024;
  size_t max_bytes = 8 << 20;
  // Nodes of one service (all its versions, counted as they come), and
  // endpoints of one answer: past them, dropped.
  size_t max_nodes = 10000;
  size_t max_endpoints = 256;
  // A lookup that got no answer at all within this long after the
  // connection came back is Unavailable, not NotFound: the answerers'
  // connections may not be back yet.
  absl::Duration reconnect_grace = absl::Seconds(5);
};

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_LOOKUP_LIMITS_H_
