// Copyright 2026 The micro-nats Authors.

#include "broker/memory/memory_broker.h"

#include "broker/testing/conformance.h"

namespace micro_nats::broker::testing {
namespace {

class MemoryEnvironment : public BrokerEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Broker>> NewBroker(
      BrokerOptions options) override {
    return NewMemoryBroker(std::move(options), bus_);
  }
  size_t max_body_bytes() const override { return kMemoryMaxBodyBytes; }

 private:
  std::shared_ptr<MemoryBus> bus_ = NewMemoryBus();
};

INSTANTIATE_TEST_SUITE_P(
    Memory, BrokerConformanceTest,
    ::testing::Values(BrokerBackend{
        "Memory",
        []() -> absl::StatusOr<std::unique_ptr<BrokerEnvironment>> {
          return std::make_unique<MemoryEnvironment>();
        }}),
    BrokerBackendName);

TEST(MemoryBrokerTest, BrokersOnDifferentBusesAreIsolated) {
  auto a = NewMemoryBroker();
  auto b = NewMemoryBroker();
  micro_nats::testing::Collector<Event> got;
  auto sub = a->Subscribe("x", [&](const Event& e) {
    got.Add(e);
    return absl::OkStatus();
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(b->Publish("x", {.body = "other bus"}), IsOk());
  ASSERT_THAT(a->Publish("x", {.body = "same bus"}), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(5)));
  EXPECT_EQ(got.Snapshot()[0].message.body, "same bus");
}

}  // namespace
}  // namespace micro_nats::broker::testing
