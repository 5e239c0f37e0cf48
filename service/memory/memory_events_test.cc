// Copyright 2026 The micro-nats Authors.
//
// The service events suite on the memory stack (events/memory).

#include "service/memory/memory_service.h"
#include "service/testing/events_suite.h"

namespace micro_nats::service {
namespace {

// Each test a network of its own: its events start empty.
class MemoryEventsEnvironment : public EventsEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name) override {
    return NewMemoryService({.identity = {.name = name}, .network = network_});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

INSTANTIATE_TEST_SUITE_P(
    Memory, ServiceEventsTest,
    ::testing::Values(EventsBackend{
        "Memory", [] { return std::make_unique<MemoryEventsEnvironment>(); }}),
    EventsBackendName);

}  // namespace
}  // namespace micro_nats::service
