// Copyright 2026 The micro-nats Authors.
//
// The stream suite (service/testing/stream_suite.h) on the memory stack.

#include "service/memory/memory_service.h"
#include "service/testing/stream_suite.h"

namespace micro_nats::service {
namespace {

class MemoryStreamEnvironment : public StreamEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    return NewMemoryService({.identity = {.name = name},
                             .network = network_,
                             .server = std::move(server),
                             .client = std::move(client)});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

std::unique_ptr<StreamEnvironment> MakeMemoryStreamEnvironment() {
  return std::make_unique<MemoryStreamEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, StreamTest,
                         ::testing::Values(StreamBackend{
                             "Memory", &MakeMemoryStreamEnvironment}),
                         StreamBackendName);

}  // namespace
}  // namespace micro_nats::service
