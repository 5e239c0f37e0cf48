// Copyright 2026 The micro-nats Authors.
//
// scatter_wire.h: scatter-gather (service/scatter.h) inside one process.
//
// What service/nats's wire does on NATS, in memory: a request reaches
// every listener of its service (each hands it to its scatter frontend's
// pool) and the answers go straight to the caller's gather. Subjects and
// headers follow NATS's rules, so a unit test on memory refuses what NATS
// would. One wire per MemoryNetwork; NewMemoryService wires it in.

#ifndef MICRO_NATS_SERVICE_MEMORY_SCATTER_WIRE_H_
#define MICRO_NATS_SERVICE_MEMORY_SCATTER_WIRE_H_

#include <memory>

#include "service/scatter.h"

namespace micro_nats::service {

std::shared_ptr<ScatterWire> NewMemoryScatterWire();

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_MEMORY_SCATTER_WIRE_H_
