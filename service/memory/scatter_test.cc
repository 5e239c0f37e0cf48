// Copyright 2026 The micro-nats Authors.
//
// The scatter-gather contract on the memory stack.

#include "service/memory/memory_service.h"
#include "service/memory/scatter_wire.h"
#include "service/testing/scatter_suite.h"

namespace micro_nats::service {
namespace {

class MemoryScatterEnvironment : public ScatterEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ScatterConfig scatter) override {
    return NewMemoryService({.identity = {.name = name},
                             .network = network_,
                             .server = std::move(server),
                             .scatter = std::move(scatter)});
  }
  absl::StatusOr<std::shared_ptr<ScatterWire>> NewWire() override {
    return network_->scatter;
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

std::unique_ptr<ScatterEnvironment> MakeMemoryScatterEnvironment() {
  return std::make_unique<MemoryScatterEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, ScatterTest,
                         ::testing::Values(ScatterBackend{
                             "Memory", &MakeMemoryScatterEnvironment}),
                         ScatterBackendName);
INSTANTIATE_TEST_SUITE_P(Memory, ScatterCapTest,
                         ::testing::Values(ScatterBackend{
                             "Memory", &MakeMemoryScatterEnvironment}),
                         ScatterBackendName);

}  // namespace
}  // namespace micro_nats::service
