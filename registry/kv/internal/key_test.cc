// Copyright 2026 The micro-nats Authors.

#include "registry/kv/internal/key.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::registry::kv_internal {
namespace {

using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;

TEST(KeyTest, PartsRoundTripInKeyCharacters) {
  for (const std::string& part :
       {std::string("greeter"), std::string("go.micro.srv.greeter"),
        std::string("1.0.0"), std::string(""), std::string("a_b=c"),
        std::string("x~y:z@w#%!"), std::string("caf\xc3\xa9"),
        std::string("_41"), std::string("=")}) {
    const std::string token = EncodeKeyPart(part);
    EXPECT_THAT(token, ::testing::MatchesRegex("[-/_=a-zA-Z0-9]+")) << part;
    EXPECT_THAT(DecodeKeyPart(token), IsOkAndHolds(part)) << token;
  }
  EXPECT_EQ(EncodeKeyPart("go.micro"), "go=micro");
  EXPECT_EQ(EncodeKeyPart("a_b"), "a_5Fb");
  EXPECT_EQ(EncodeKeyPart(""), "_");
}

TEST(KeyTest, DecodingRefusesWhatEncodingCannotMake) {
  for (const std::string& token : std::vector<std::string>{
           "", "a.b", "_4", "_4g", "_41", "_2E", "_6a", "a b", "a*", "_"}) {
    if (token == "_") continue;  // the empty part
    EXPECT_THAT(DecodeKeyPart(token),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << token;
  }
}

TEST(KeyTest, KeysAreThreeParts) {
  const NodeKey key{"go.micro.greeter", "", "node_1"};
  const std::string encoded = EncodeKey(key);
  EXPECT_EQ(encoded, "go=micro=greeter._.node_5F1");
  EXPECT_THAT(DecodeKey(encoded), IsOkAndHolds(key));
  EXPECT_TRUE(encoded.rfind(ServicePrefix("go.micro.greeter"), 0) == 0);
  EXPECT_TRUE(encoded.rfind(VersionPrefix("go.micro.greeter", ""), 0) == 0);
  EXPECT_THAT(DecodeKey("a.b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeKey("a.b.c.d"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeKey("a..c"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::registry::kv_internal
