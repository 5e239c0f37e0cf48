// Copyright 2026 The micro-nats Authors.

#include "transport/memory/memory_transport.h"

#include "transport/testing/conformance.h"

namespace micro_nats::transport::testing {
namespace {

class MemoryEnvironment : public TransportEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Transport>> NewTransport() override {
    return NewMemoryTransport();
  }
  size_t max_message_bytes() const override { return kMemoryMaxMessageBytes; }
  bool exclusive_listen() const override { return true; }
  bool knows_listeners_at_dial() const override { return true; }
};

INSTANTIATE_TEST_SUITE_P(
    Memory, TransportConformanceTest,
    ::testing::Values(TransportBackend{
        "Memory",
        []() -> absl::StatusOr<std::unique_ptr<TransportEnvironment>> {
          return std::make_unique<MemoryEnvironment>();
        }}),
    TransportBackendName);

TEST(MemoryTransportTest, AnAddressTakenIsAlreadyExists) {
  auto transport = NewMemoryTransport();
  auto first = transport->Listen("memory.taken");
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(NewMemoryTransport()->Listen("memory.taken"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT((*first)->Close(), IsOk());
  EXPECT_THAT(transport->Listen("memory.taken"), IsOk());
}

}  // namespace
}  // namespace micro_nats::transport::testing
