// Copyright 2026 The micro-nats Authors.
//
// memory_broker.h: an in-process broker with NATS semantics, for unit tests.
//
// Wildcards, queue groups (one member per message, spread round-robin),
// per-subscriber ordering and asynchronous delivery: each broker runs its
// handlers on kMemoryBrokerHandlerThreads threads, each subscriber's one at
// a time and in order, so a slow handler never blocks a publisher and a
// thousand subscribers need no thousand threads. A subscriber with more than
// BrokerOptions::max_pending_messages waiting drops new ones and reports
// ResourceExhausted with how many, as NATS reports a slow consumer.
//
// Brokers created on the same `MemoryBus` see each other's messages, as
// processes on one NATS server do:
//
//   auto bus = std::make_shared<MemoryBus>();
//   auto publisher = NewMemoryBroker({}, bus);
//   auto subscriber = NewMemoryBroker({}, bus);

#ifndef MICRO_NATS_BROKER_MEMORY_MEMORY_BROKER_H_
#define MICRO_NATS_BROKER_MEMORY_MEMORY_BROKER_H_

#include <memory>

#include "broker/broker.h"

namespace micro_nats::broker {

// Largest body the memory broker accepts, as NATS's default max_payload.
inline constexpr size_t kMemoryMaxBodyBytes = 1 << 20;

// Threads that run one memory broker's handlers (started as needed).
inline constexpr int kMemoryBrokerHandlerThreads = 4;

// The shared medium of memory brokers. Thread-safe.
class MemoryBus;

std::shared_ptr<MemoryBus> NewMemoryBus();

// A broker on `bus`; a private bus when null.
std::unique_ptr<Broker> NewMemoryBroker(
    BrokerOptions options = {}, std::shared_ptr<MemoryBus> bus = nullptr);

}  // namespace micro_nats::broker

#endif  // MICRO_NATS_BROKER_MEMORY_MEMORY_BROKER_H_
