// Copyright 2026 The micro-nats Authors.
//
// memory_events.h: durable events in process, with JetStream's semantics.
//
// Streams are logs in memory with sequences, limits and a duplicate window;
// groups keep their position and their unacknowledged events; a failed
// event comes back after its backoff, and after max_deliveries goes to its
// dead-letter topic. Nothing outlives the object (no persistence across
// restarts). Handlers run on one bounded pool shared by every consumer, and
// backoffs are timers of one scheduler: no thread per consumer. Time comes
// from an injectable clock, so a test drives backoffs without sleeping:
//
//   FakeClock clock;
//   auto scheduler = std::make_shared<concurrency::Scheduler>(
//       concurrency::Scheduler::Options{.clock = clock.AsFunction()});
//   auto events = NewMemoryEvents(
//       {.clock = clock.AsFunction(), .scheduler = scheduler});
//   ...
//   clock.Advance(absl::Seconds(5));
//   scheduler->ClockAdvanced();  // redeliveries now due run
//
// With no streams configured, one stream ("EVENTS") holds every topic.
// Unlike JetStream, an event whose handler is still running is never given
// to another member (the handler cannot have died unnoticed): ack_wait only
// matters for a consumer stopped while its handler ran past Stop's
// deadline, whose events go back to the group at once.

#ifndef MICRO_NATS_EVENTS_MEMORY_MEMORY_EVENTS_H_
#define MICRO_NATS_EVENTS_MEMORY_MEMORY_EVENTS_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "concurrency/scheduler.h"
#include "events/events.h"

namespace micro_nats::events {

struct MemoryEventsOptions {
  EventsOptions events;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Runs backoff timers; must use `clock`. Null: one of its own.
  std::shared_ptr<concurrency::Scheduler> scheduler;
};

// InvalidArgument for invalid stream configurations.
absl::StatusOr<std::unique_ptr<Events>> NewMemoryEvents(
    MemoryEventsOptions options = {});

}  // namespace micro_nats::events

#endif  // MICRO_NATS_EVENTS_MEMORY_MEMORY_EVENTS_H_
