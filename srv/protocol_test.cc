// Copyright 2026 The micro-nats Authors.

#include "srv/protocol.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "srv/testing/schema.h"
#include "status/status_matchers.h"

namespace micro_nats::srv {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Identity Greeter() {
  return {.name = "greeter",
          .id = "greeter-1",
          .version = "1.2.0",
          .metadata = {{"zone", "a"}}};
}

InfoResponse GreeterInfo() {
  return {.identity = Greeter(),
          .description = "says hello",
          .endpoints = {{.name = "Greeter_Hello",
                         .subject = "greeter.Greeter.Hello",
                         .queue_group = "q",
                         .metadata = {{"stream", "false"}}},
                        {.name = "Greeter_Bye",
                         .subject = "greeter.Greeter.Bye",
                         .queue_group = ""}}};
}

StatsResponse GreeterStats() {
  return {.identity = Greeter(),
          .started = absl::FromUnixSeconds(1795000000),
          .endpoints = {
              {.name = "Greeter_Hello",
               .subject = "greeter.Greeter.Hello",
               .queue_group = "q",
               .num_requests = 3,
               .num_errors = 1,
               .last_error = "NOT_FOUND: no such name",
               .processing_time = absl::Nanoseconds(6000000000000),
               .average_processing_time = absl::Nanoseconds(2000000000000)}}};
}

TEST(ControlSubjectTest, ThreeLevels) {
  EXPECT_EQ(ControlSubject(Verb::kPing), "$SRV.PING");
  EXPECT_EQ(ControlSubject(Verb::kInfo, "greeter"), "$SRV.INFO.greeter");
  EXPECT_EQ(ControlSubject(Verb::kStats, "greeter", "g1"),
            "$SRV.STATS.greeter.g1");
  EXPECT_EQ(ControlSubject(Verb::kStats, "", "g1"), "$SRV.STATS");
}

TEST(EncodeTest, V1AnswersRoundTrip) {
  EXPECT_THAT(DecodePing(EncodePing(Greeter())), IsOkAndHolds(Greeter()));
  EXPECT_THAT(DecodeInfo(EncodeInfo(GreeterInfo())),
              IsOkAndHolds(GreeterInfo()));
  EXPECT_THAT(DecodeStats(EncodeStats(GreeterStats())),
              IsOkAndHolds(GreeterStats()));
}

TEST(EncodeTest, NumbersAreJsonNumbersAndTypesAreSet) {
  const std::string stats = EncodeStats(GreeterStats());
  EXPECT_THAT(stats, HasSubstr(R"("processing_time":6000000000000)"));
  EXPECT_THAT(stats, HasSubstr(R"("num_requests":3)"));
  EXPECT_THAT(stats, HasSubstr(R"("type":"io.nats.micro.v1.stats_response")"));
  EXPECT_THAT(stats, HasSubstr(R"("started":"2026-11-18T)"));
  EXPECT_THAT(EncodePing(Identity{.name = "a", .id = "b", .version = "1.0.0"}),
              HasSubstr(R"("metadata":{})"));
  EXPECT_THAT(EncodeInfo({.identity = Greeter()}),
              HasSubstr(R"("endpoints":[])"));
}

TEST(EncodeTest, AnswersMatchTheAdr32Schemas) {
  EXPECT_THAT(testing::CheckAgainstSchema(Verb::kPing, EncodePing(Greeter())),
              IsOk());
  EXPECT_THAT(
      testing::CheckAgainstSchema(Verb::kInfo, EncodeInfo(GreeterInfo())),
      IsOk());
  EXPECT_THAT(
      testing::CheckAgainstSchema(Verb::kStats, EncodeStats(GreeterStats())),
      IsOk());
  EXPECT_THAT(testing::CheckAgainstSchema(Verb::kStats,
                                          EncodeStats({.identity = Greeter()})),
              IsOk());
}

TEST(EncodeTest, TheSchemaCheckCanFail) {
  Identity bad = Greeter();
  bad.version = "latest";  // not SemVer
  EXPECT_THAT(
      testing::CheckAgainstSchema(Verb::kPing, EncodePing(bad)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
}

TEST(EncodeTest, TextThatIsNotUtf8IsReplacedNotThrown) {
  StatsResponse stats = GreeterStats();
  stats.endpoints[0].last_error = "bad \xff byte";
  auto decoded = DecodeStats(EncodeStats(stats));
  ASSERT_THAT(decoded, IsOk());
  EXPECT_THAT(decoded->endpoints[0].last_error, HasSubstr("bad "));
}

// What Debian's nats.go 1.22.1 `micro` package answers (its Info, Ping and
// Stats structs).
TEST(DecodeTest, ReadsThePreV1Draft) {
  auto ping = DecodePing(R"({"name":"goecho","id":"N1","version":"1.2.3"})");
  ASSERT_THAT(ping, IsOk());
  EXPECT_EQ(ping->name, "goecho");
  EXPECT_EQ(ping->id, "N1");

  auto info = DecodeInfo(R"({"name":"goecho","id":"N1","version":"1.2.3",)"
                         R"("description":"echo","subject":"goecho.echo"})");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->description, "echo");
  EXPECT_THAT(info->endpoints,
              ElementsAre(EndpointInfo{.name = "goecho.echo",
                                       .subject = "goecho.echo",
                                       .queue_group = "q"}));

  auto stats = DecodeStats(
      R"({"name":"goecho","id":"N1","version":"1.2.3","num_requests":4,)"
      R"("num_errors":1,"last_error":"418:teapot","processing_time":800,)"
      R"("average_processing_time":200,"started":"2026-11-28T12:00:00Z"})");
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->endpoints.size(), 1u);
  EXPECT_EQ(stats->endpoints[0].num_requests, 4);
  EXPECT_EQ(stats->endpoints[0].num_errors, 1);
  EXPECT_EQ(stats->endpoints[0].processing_time, absl::Nanoseconds(800));
  EXPECT_EQ(stats->started,
            absl::FromCivil(absl::CivilSecond(2026, 11, 28, 12, 0, 0),
                            absl::UTCTimeZone()));
}

TEST(DecodeTest, BadInputIsAClearError) {
  EXPECT_THAT(DecodePing("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a JSON object")));
  EXPECT_THAT(DecodePing("[1,2]"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodePing(R"({"name":"a"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("without a name or an id")));
  EXPECT_THAT(DecodeInfo(EncodePing(Greeter())),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("io.nats.micro.v1.ping_response")));
  EXPECT_THAT(
      DecodeInfo(std::string(kMaxResponseBytes + 1, ' ')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the limit is")));
  // Wrong types are read as absent, not trusted.
  auto odd = DecodeStats(
      R"({"name":"a","id":"b","endpoints":[{"name":5,"num_requests":"x"}]})");
  ASSERT_THAT(odd, IsOk());
  ASSERT_EQ(odd->endpoints.size(), 1u);
  EXPECT_EQ(odd->endpoints[0].name, "");
  EXPECT_EQ(odd->endpoints[0].num_requests, 0);
}

TEST(NamesTest, ValidAndMapped) {
  EXPECT_TRUE(IsValidName("greeter-v2_x"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("go.micro.greeter"));
  EXPECT_EQ(ToName("go.micro.greeter"), "go_micro_greeter");
  EXPECT_EQ(ToName("Greeter.Hello"), "Greeter_Hello");
  EXPECT_EQ(ToName(""), "_");
}

TEST(VersionsTest, SemverStaysFreeFormIsCarried) {
  EXPECT_TRUE(IsSemver("1.2.3"));
  EXPECT_TRUE(IsSemver("1.0.0-rc.1+build.5"));
  EXPECT_FALSE(IsSemver("1.2"));
  EXPECT_FALSE(IsSemver("01.2.3"));
  EXPECT_FALSE(IsSemver("latest"));
  for (const char* v : {"1.2.3", "latest", "1", "", "1.0", "v2-beta"}) {
    const std::string adr = ToSemver(v);
    EXPECT_TRUE(IsSemver(adr)) << v << " -> " << adr;
    EXPECT_EQ(FromSemver(adr), v) << adr;
  }
  EXPECT_EQ(ToSemver("latest"), "0.0.0+latest");
  // Characters SemVer cannot carry are replaced: still valid, not reversible.
  for (const char* v : {"a_b", "1..2", ".x.", "ü"}) {
    EXPECT_TRUE(IsSemver(ToSemver(v))) << v << " -> " << ToSemver(v);
  }
}

}  // namespace
}  // namespace micro_nats::srv
