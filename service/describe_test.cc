// Copyright 2026 The micro-nats Authors.

#include "service/describe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/testing/test.pb.h"

namespace micro_nats::service {
namespace {

using registry::Value;

TEST(DescribeTest, AMessageAsGoMicroDescribesIt) {
  Value pong = DescribeMessage(*testing::Pong::descriptor());
  EXPECT_EQ(pong, (Value{"Pong",
                         "Pong",
                         {{"text", "string", {}},
                          {"served_by", "string", {}},
                          {"deadline_left_ms", "int64", {}}}}));
}

TEST(DescribeTest, RepeatedMapsAndNestedMessages) {
  Value ping = DescribeMessage(*testing::Ping::descriptor());
  ASSERT_EQ(ping.values.size(), 5u);
  EXPECT_EQ(ping.values[1], (Value{"wait_for_cancel", "bool", {}}));
  EXPECT_EQ(ping.values[3], (Value{"tags", "[]string", {}}));
  EXPECT_EQ(ping.values[4], (Value{"counts", "map[string]int32", {}}));
  const Value& nested = ping.values[2];
  EXPECT_EQ(nested.name, "nested");
  EXPECT_EQ(nested.type, "Nested");
  ASSERT_EQ(nested.values.size(), 2u);
  EXPECT_EQ(nested.values[0], (Value{"depth", "int32", {}}));
}

TEST(DescribeTest, RecursiveTypesStopAtTheDepthLimit) {
  Value nested = DescribeMessage(*testing::Nested::descriptor());
  int depth = 0;
  const Value* at = &nested;
  while (true) {
    auto child = std::find_if(at->values.begin(), at->values.end(),
                              [](const Value& v) { return v.name == "child"; });
    if (child == at->values.end()) break;
    at = &*child;
    ++depth;
  }
  EXPECT_EQ(depth, kMaxDescribeDepth);
  EXPECT_TRUE(at->values.empty());
}

}  // namespace
}  // namespace micro_nats::service
