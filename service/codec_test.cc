// Copyright 2026 The micro-nats Authors.

#include "service/codec.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::service::testing::Ping;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

Ping Sample() {
  Ping ping;
  ping.set_text("hi");
  ping.add_tags("a");
  (*ping.mutable_counts())["x"] = 3;
  ping.mutable_nested()->set_depth(2);
  return ping;
}

TEST(CodecTest, ChosenByContentType) {
  for (const char* type :
       {"application/protobuf", "application/x-protobuf", "application/proto",
        "", "Application/Protobuf; charset=binary"}) {
    auto codec = CodecFor(type);
    ASSERT_THAT(codec, IsOk()) << type;
    EXPECT_EQ((*codec)->content_type(), kProtobufContentType) << type;
  }
  auto json = CodecFor("application/json; charset=utf-8");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ((*json)->content_type(), kJsonContentType);
}

TEST(CodecTest, AnUnknownTypeIsRefusedNamingItAndTheSupportedOnes) {
  EXPECT_THAT(CodecFor("text/xml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("text/xml"),
                                        HasSubstr(kProtobufContentType),
                                        HasSubstr(kJsonContentType))));
}

TEST(CodecTest, BothRoundTrip) {
  for (const char* type : {kProtobufContentType, kJsonContentType}) {
    const Codec* codec = CodecFor(type).value();
    auto bytes = codec->Marshal(Sample());
    ASSERT_THAT(bytes, IsOk());
    Ping back;
    ASSERT_THAT(codec->Unmarshal(*bytes, &back), IsOk());
    EXPECT_EQ(back.SerializeAsString(), Sample().SerializeAsString()) << type;
  }
}

TEST(CodecTest, JsonUsesProtoFieldNamesAndAcceptsEither) {
  const Codec* json = CodecFor(kJsonContentType).value();
  Ping ping;
  ping.set_wait_for_cancel(true);
  EXPECT_EQ(json->Marshal(ping).value(), R"({"wait_for_cancel":true})");
  Ping back;
  ASSERT_THAT(json->Unmarshal(R"({"waitForCancel":true,"other":1})", &back),
              IsOk());
  EXPECT_TRUE(back.wait_for_cancel());
  ASSERT_THAT(json->Unmarshal("", &back), IsOk());
  EXPECT_FALSE(back.wait_for_cancel());
}

TEST(CodecTest, GarbageIsInvalidArgumentNamingTheType) {
  Ping ping;
  EXPECT_THAT(CodecFor(kProtobufContentType).value()->Unmarshal("\xff", &ping),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("micro_nats.service.testing.Ping")));
  EXPECT_THAT(CodecFor(kJsonContentType).value()->Unmarshal("[1,", &ping),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("micro_nats.service.testing.Ping")));
}

TEST(CodecTest, AJsonBodyProtobufFailsACheckOnIsRefusedNotThrown) {
  // protobuf 3.21 fails a CHECK (and throws FatalException) on an Any of a
  // well-known type with a field after its "value" (found by
  // //fuzz:json_codec_fuzzer): a peer's body must not end the process.
  google::protobuf::Any any;
  EXPECT_THAT(
      CodecFor(kJsonContentType)
          .value()
          ->Unmarshal(R"({"@type":"type.googleapis.com/)"
                      R"(google.protobuf.Duration","value":"1s","x":"y"})",
                      &any),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("google.protobuf.Any")));
}

TEST(CodecTest, DeepJsonNestingIsRefusedPromptly) {
  // 20 KB of nesting into google.protobuf.Value took protobuf 3.21's parser
  // 9.7 s (quadratic in depth); the pre-scan refuses it first.
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  google::protobuf::Value value;
  const absl::Time start = absl::Now();
  EXPECT_THAT(CodecFor(kJsonContentType).value()->Unmarshal(deep, &value),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nests deeper than 64")));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  // At the limit it is protobuf's to judge (it parses this one).
  const std::string ok = std::string(20, '[') + std::string(20, ']');
  EXPECT_THAT(CodecFor(kJsonContentType).value()->Unmarshal(ok, &value),
              IsOk());
}

TEST(CodecTest, JsonLimitsCountBracketsOutsideStringsOnly) {
  const JsonLimits two{.max_bytes = 64, .max_depth = 2};
  EXPECT_THAT(CheckJsonLimits(R"({"a":[1]})", two), IsOk());
  EXPECT_THAT(
      CheckJsonLimits(R"({"a":[[1]]})", two),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeper than 2")));
  // Brackets in strings, and an escaped quote that does not end one.
  EXPECT_THAT(CheckJsonLimits(R"({"a":"[[[{{{\"[[[["})", two), IsOk());
  EXPECT_THAT(CheckJsonLimits(R"(["\\",[[1]]])", two),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Closing more than opened does not buy depth.
  EXPECT_THAT(CheckJsonLimits("]]]]][[[", two),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      CheckJsonLimits(std::string(65, ' '), two),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65 bytes")));
  // A codec with its own limits.
  Ping ping;
  EXPECT_THAT(
      NewJsonCodec({.max_bytes = 8})->Unmarshal(R"({"text":"long"})", &ping),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("over the limit of 8")));
}

}  // namespace
}  // namespace micro_nats::service
