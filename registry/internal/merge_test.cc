// Copyright 2026 The micro-nats Authors.

#include "registry/internal/merge.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace micro_nats::registry::registry_internal {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::SizeIs;

Service Answer(std::string node, std::vector<std::string> endpoints) {
  Service service{.name = "greeter", .version = "1.0"};
  for (std::string& name : endpoints) {
    service.endpoints.push_back({.name = std::move(name)});
  }
  service.nodes.push_back({.id = std::move(node)});
  return service;
}

// A peer's answer whose endpoints were all dropped as bad input came first:
// the real node's endpoints must still be found (issue 22's rule: no
// unauthenticated answer narrows a lookup).
TEST(MergeByVersionTest, AnAnswerWithFewerEndpointsHidesNone) {
  std::vector<Service> merged = MergeByVersion(
      {Answer("rogue-1", {}), Answer("real-1", {"Greeter.Hello"}),
       Answer("real-2", {"Greeter.Hello", "Greeter.Bye"})});
  ASSERT_THAT(merged, SizeIs(1));
  EXPECT_THAT(merged[0].endpoints,
              ElementsAre(Field(&Endpoint::name, "Greeter.Hello"),
                          Field(&Endpoint::name, "Greeter.Bye")));
  EXPECT_THAT(merged[0].nodes, SizeIs(3));
}

TEST(MergeByVersionTest, VersionsStaySeparate) {
  Service other = Answer("old-1", {"Greeter.Old"});
  other.version = "0.9";
  std::vector<Service> merged =
      MergeByVersion({Answer("real-1", {"Greeter.Hello"}), other});
  ASSERT_THAT(merged, SizeIs(2));
  EXPECT_THAT(merged[0].endpoints,
              ElementsAre(Field(&Endpoint::name, "Greeter.Old")));
  EXPECT_THAT(merged[1].endpoints,
              ElementsAre(Field(&Endpoint::name, "Greeter.Hello")));
}

}  // namespace
}  // namespace micro_nats::registry::registry_internal
