// Copyright 2026 The micro-nats Authors.

#include "registry/mock/mock_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::registry {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::Eq;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;

// A consumer under test: the address of the first node of a service.
absl::StatusOr<std::string> FirstAddress(Registry& registry,
                                         absl::string_view name) {
  auto services = registry.GetService(name);
  if (!services.ok()) return services.status();
  for (const Service& s : *services) {
    if (!s.nodes.empty()) return s.nodes.front().address;
  }
  return absl::NotFoundError("no nodes");
}

TEST(MockRegistryTest, ScriptedLookup) {
  MockRegistry registry;
  EXPECT_CALL(registry, GetService(Eq("greeter")))
      .WillOnce(Return(std::vector<Service>{
          {.name = "greeter", .nodes = {{.id = "1", .address = "addr-1"}}}}));
  EXPECT_THAT(FirstAddress(registry, "greeter"), IsOkAndHolds("addr-1"));
}

TEST(MockRegistryTest, ExpectationsOnRegister) {
  MockRegistry registry;
  EXPECT_CALL(registry, Register(Field(&Service::name, "svc"), _));
  EXPECT_THAT(registry.Register({.name = "svc"}, {}), IsOk());
}

TEST(MockRegistryTest, DefaultsAreNotFoundAndEmpty) {
  NiceMock<MockRegistry> registry;
  EXPECT_THAT(FirstAddress(registry, "x"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry.ListServices(), IsOkAndHolds(::testing::IsEmpty()));
  auto watcher = registry.Watch({});
  ASSERT_THAT(watcher, IsOk());
  EXPECT_THAT((*watcher)->Next(absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kCancelled));
}

}  // namespace
}  // namespace micro_nats::registry
