// Copyright 2026 The micro-nats Authors.
//
// The resilience suite (service/testing/resilience_suite.h) on the memory
// stack.

#include "service/memory/memory_service.h"
#include "service/testing/resilience_suite.h"

namespace micro_nats::service {
namespace {

// As NewMemoryService, but handlers run on the servers' pools, never
// inline on the caller's thread: a caller stuck in a slow or hung handler
// could not hedge or see its node die.
class MemoryResilienceEnvironment : public ResilienceEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    server.listen.inline_handlers = false;
    return Service::Create({.identity = {.name = name},
                            .registry = network_->registry,
                            .transport = network_->transport,
                            .server = std::move(server),
                            .client = std::move(client)});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

std::unique_ptr<ResilienceEnvironment> MakeMemoryResilienceEnvironment() {
  return std::make_unique<MemoryResilienceEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, ResilienceTest,
                         ::testing::Values(ResilienceBackend{
                             "Memory", &MakeMemoryResilienceEnvironment}),
                         ResilienceBackendName);

}  // namespace
}  // namespace micro_nats::service
