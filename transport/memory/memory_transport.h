// Copyright 2026 The micro-nats Authors.
//
// memory_transport.h: an in-process transport, for unit tests.
//
// Listeners register their address in one table per process, so any
// MemoryTransport in the process can dial them, as processes on one NATS
// server can. It keeps the transport contract of transport.h, including its
// limits (messages over kMemoryMaxMessageBytes are InvalidArgument, as over
// NATS's default max_payload) and its errors (Dial to nothing is
// Unavailable).

#ifndef MICRO_NATS_TRANSPORT_MEMORY_MEMORY_TRANSPORT_H_
#define MICRO_NATS_TRANSPORT_MEMORY_MEMORY_TRANSPORT_H_

#include <cstddef>
#include <memory>

#include "transport/transport.h"

namespace micro_nats::transport {

inline constexpr size_t kMemoryMaxMessageBytes = 1 << 20;

std::unique_ptr<Transport> NewMemoryTransport();

}  // namespace micro_nats::transport

#endif  // MICRO_NATS_TRANSPORT_MEMORY_MEMORY_TRANSPORT_H_
