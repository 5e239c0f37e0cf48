// Copyright 2026 The micro-nats Authors.

#include "srv/protocol.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
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
using ::testing::Not;

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

// GreeterStats with a latency distribution in `data`.
StatsResponse GreeterStatsWithLatency() {
  StatsResponse stats = GreeterStats();
  stats.endpoints[0].latency = LatencyData{
      .count = 3,
      .sum = absl::Microseconds(250),
      .p50 = absl::Microseconds(70),
      .p90 = absl::Microseconds(110),
      .p99 = absl::Microseconds(119),
      .buckets = {{.below = absl::Nanoseconds(81920), .count = 2},
                  {.below = absl::Nanoseconds(122880), .count = 1}}};
  return stats;
}

// A STATS answer whose one endpoint's `data` is `data`.
std::string StatsWithData(absl::string_view data) {
  return absl::StrCat(
      R"({"type":"io.nats.micro.v1.stats_response","name":"g","id":"i",)",
      R"("version":"1.0.0","started":"2026-11-28T12:00:00Z","endpoints":[)",
      R"({"name":"e","subject":"g.e","num_requests":1,"data":)", data, "}]}");
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

TEST(EncodeTest, LatencyDataRoundTripsAndMatchesTheSchema) {
  const std::string json = EncodeStats(GreeterStatsWithLatency());
  EXPECT_THAT(json, HasSubstr(R"("data":{"latency":{"count":3,)"));
  EXPECT_THAT(json, HasSubstr(R"("le_ns":[81920,122880])"));
  EXPECT_THAT(json, HasSubstr(R"("p99_ns":119000)"));
  EXPECT_THAT(DecodeStats(json), IsOkAndHolds(GreeterStatsWithLatency()));
  EXPECT_THAT(testing::CheckAgainstSchema(Verb::kStats, json), IsOk());
  // Without latency there is no `data`.
  EXPECT_THAT(EncodeStats(GreeterStats()), Not(HasSubstr("\"data\"")));
}

// Review 22: ~2.5 KB of buckets per busy endpoint; a few hundred of them
// would not fit a NATS message. Past the budget the buckets go, the
// percentiles stay.
TEST(EncodeTest, LatencyBucketsAreLeftOutPastTheSizeBudget) {
  StatsResponse stats = GreeterStatsWithLatency();
  const std::string whole = EncodeStats(stats);
  EXPECT_EQ(EncodeStats(stats, whole.size()), whole);

  const std::string trimmed = EncodeStats(stats, whole.size() - 1);
  EXPECT_LT(trimmed.size(), whole.size());
  EXPECT_THAT(trimmed, Not(HasSubstr("le_ns")));
  EXPECT_THAT(testing::CheckAgainstSchema(Verb::kStats, trimmed), IsOk());
  auto decoded = DecodeStats(trimmed);
  ASSERT_THAT(decoded, IsOk());
  ASSERT_TRUE(decoded->endpoints[0].latency.has_value());
  const LatencyData& latency = *decoded->endpoints[0].latency;
  EXPECT_FALSE(latency.has_buckets);
  EXPECT_TRUE(latency.buckets.empty());
  EXPECT_EQ(latency.count, 3);
  EXPECT_EQ(latency.p99, absl::Microseconds(119));

  // 600 busy endpoints: over srv's own read limit whole, well within it
  // trimmed.
  StatsResponse many{.identity = Greeter()};
  LatencyData busy{.count = 0};
  for (int i = 1; i <= 104; ++i) {
    busy.buckets.push_back(
        {.below = absl::Nanoseconds(1000000 + i), .count = 1000000});
    busy.count += 1000000;
  }
  for (int i = 0; i < 600; ++i) {
    many.endpoints.push_back({.name = absl::StrCat("Endpoint_", i),
                              .subject = absl::StrCat("greeter.e", i),
                              .latency = busy});
  }
  EXPECT_GT(EncodeStats(many).size(), kMaxResponseBytes);
  const std::string fits = EncodeStats(many, kMaxResponseBytes / 2);
  EXPECT_LE(fits.size(), kMaxResponseBytes / 2);
  auto read = DecodeStats(fits);
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->endpoints.size(), 256u);  // DecodeLimits' default
  EXPECT_EQ(read->endpoints[255].latency->count, 104000000);
}

TEST(DecodeTest, LatencyDataThatIsNotWellFormedIsLeftOut) {
  const std::string good =
      R"({"latency":{"count":3,"sum_ns":9,"p50_ns":1,"p90_ns":2,"p99_ns":3,)"
      R"("le_ns":[1024,2048],"counts":[1,1],"over":1}})";
  auto decoded = DecodeStats(StatsWithData(good));
  ASSERT_THAT(decoded, IsOk());
  ASSERT_EQ(decoded->endpoints.size(), 1u);
  ASSERT_TRUE(decoded->endpoints[0].latency.has_value());
  EXPECT_EQ(decoded->endpoints[0].latency->over, 1);
  EXPECT_EQ(decoded->endpoints[0].latency->buckets.size(), 2u);

  for (const char* bad : {
           // counts that do not add up to count
           R"({"latency":{"count":9,"le_ns":[1024],"counts":[1]}})",
           // bounds out of order, or repeated
           R"({"latency":{"count":2,"le_ns":[2048,1024],"counts":[1,1]}})",
           R"({"latency":{"count":2,"le_ns":[1024,1024],"counts":[1,1]}})",
           // negative numbers
           R"({"latency":{"count":1,"le_ns":[-5],"counts":[1]}})",
           R"({"latency":{"count":0,"le_ns":[1024],"counts":[-1]}})",
           R"({"latency":{"count":0,"p50_ns":-1,"le_ns":[],"counts":[]}})",
           // percentiles out of order
           R"({"latency":{"count":0,"p50_ns":5,"p90_ns":1,"le_ns":[],)"
           R"("counts":[]}})",
           // arrays of different lengths, or missing, or not numbers
           R"({"latency":{"count":1,"le_ns":[1024,2048],"counts":[1]}})",
           R"({"latency":{"count":1,"counts":[1]}})",
           R"({"latency":{"count":1,"le_ns":["1024"],"counts":[1]}})",
           R"({"latency":{"count":1,"le_ns":[[1024]],"counts":[1]}})",
           // counts whose sum wraps int64
           R"({"latency":{"count":1,"le_ns":[1,2],)"
           R"("counts":[9223372036854775807,2]}})",
           R"({"latency":[1,2]})",
           R"("fast")",
       }) {
    auto stats = DecodeStats(StatsWithData(bad));
    ASSERT_THAT(stats, IsOk()) << bad;
    ASSERT_EQ(stats->endpoints.size(), 1u) << bad;
    EXPECT_EQ(stats->endpoints[0].num_requests, 1) << bad;
    EXPECT_FALSE(stats->endpoints[0].latency.has_value()) << bad;
  }
}

// A peer's `data` is parsed only as far as the latency shape goes: more
// buckets than kMaxLatencyBuckets are not held, other nesting is skipped.
TEST(DecodeTest, LatencyDataIsBoundedWhileParsing) {
  std::string below = "[";
  std::string counts = "[";
  for (int i = 1; i <= 100000; ++i) {
    absl::StrAppend(&below, i == 1 ? "" : ",", i);
    absl::StrAppend(&counts, i == 1 ? "" : ",", 1);
  }
  below += "]";
  counts += "]";
  auto flood = DecodeStats(
      StatsWithData(absl::StrCat(R"({"latency":{"count":100000,"le_ns":)",
                                 below, R"(,"counts":)", counts, "}}")));
  ASSERT_THAT(flood, IsOk());
  ASSERT_EQ(flood->endpoints.size(), 1u);
  EXPECT_FALSE(flood->endpoints[0].latency.has_value());

  // Exactly the limit is read.
  std::string at_limit_below = "[";
  std::string at_limit_counts = "[";
  for (size_t i = 1; i <= kMaxLatencyBuckets; ++i) {
    absl::StrAppend(&at_limit_below, i == 1 ? "" : ",", i);
    absl::StrAppend(&at_limit_counts, i == 1 ? "" : ",", 1);
  }
  auto full = DecodeStats(StatsWithData(absl::StrCat(
      R"({"latency":{"count":)", kMaxLatencyBuckets, R"(,"le_ns":)",
      at_limit_below, R"(],"counts":)", at_limit_counts, "]}}")));
  ASSERT_THAT(full, IsOk());
  ASSERT_TRUE(full->endpoints[0].latency.has_value());
  EXPECT_EQ(full->endpoints[0].latency->buckets.size(), kMaxLatencyBuckets);

  const std::string deep = absl::StrCat(
      R"({"other":)", std::string(100000, '['), std::string(100000, ']'),
      R"(,"latency":{"count":1,"le_ns":[1024],"counts":[1],"x":{"y":[1]}}})");
  auto shallow = DecodeStats(StatsWithData(deep));
  ASSERT_THAT(shallow, IsOk());
  ASSERT_TRUE(shallow->endpoints[0].latency.has_value());
  EXPECT_EQ(shallow->endpoints[0].latency->count, 1);
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

TEST(DecodeTest, CountersOutOfRangeSaturate) {
  // A float, or an integer too long for 64 bits (JSON reads it as a float),
  // was converted to int64 as it was: undefined behaviour (found by
  // //fuzz:srv_protocol_fuzzer under UBSan); x86 made it INT64_MIN.
  auto stats = DecodeStats(
      R"({"name":"goecho","id":"N1","version":"1.2.3",)"
      R"("num_requests":44444444444444444444444,"num_errors":-1e300,)"
      R"("processing_time":18446744073709551615,)"
      R"("average_processing_time":2.5,"started":"2026-11-28T12:00:00Z"})");
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->endpoints.size(), 1u);
  EXPECT_EQ(stats->endpoints[0].num_requests,
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(stats->endpoints[0].num_errors,
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(stats->endpoints[0].processing_time,
            absl::Nanoseconds(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(stats->endpoints[0].average_processing_time, absl::Nanoseconds(2));
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
  // Wrong types are read as absent, not trusted: a counter as 0; an
  // endpoint without a name is dropped (and counted).
  DecodeReport report;
  auto odd = DecodeStats(
      R"({"name":"a","id":"b","endpoints":[{"name":5,"subject":"a.b"},)"
      R"({"name":"e","subject":"a.e","num_requests":"x"}]})",
      {}, &report);
  ASSERT_THAT(odd, IsOk());
  ASSERT_EQ(odd->endpoints.size(), 1u);
  EXPECT_EQ(odd->endpoints[0].name, "e");
  EXPECT_EQ(odd->endpoints[0].num_requests, 0);
  EXPECT_EQ(report.dropped, 1u);
}

// Issue 22, defect 1: an endpoint subject from the network is written into
// NATS's protocol line by whoever calls it. One with CR/LF, a space or a
// wildcard never leaves the decoder; the others of the answer do.
TEST(DecodeTest, EndpointsThatCannotBeCalledSafelyAreDroppedAndCounted) {
  InfoResponse info = GreeterInfo();
  for (const char* subject : {"a\r\nPUB injected.by.info 8\r\nINJECTED", "a b",
                              "a.*", ">", "", "a..b"}) {
    info.endpoints.push_back({.name = "Bad", .subject = subject});
  }
  info.endpoints.push_back(
      {.name = "Bad\nName", .subject = "greeter.bad", .queue_group = "q"});
  info.endpoints.push_back(
      {.name = "BadQueue", .subject = "greeter.q", .queue_group = "q q"});
  DecodeReport report;
  auto decoded = DecodeInfo(EncodeInfo(info), {}, &report);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->endpoints, GreeterInfo().endpoints);
  EXPECT_EQ(report.dropped, 8u);
  EXPECT_THAT(report.first, StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("endpoint 'Bad' subject")));
  // The draft's one subject too.
  report = {};
  auto draft =
      DecodeInfo(R"({"name":"e","id":"N1","subject":"e.*"})", {}, &report);
  ASSERT_THAT(draft, IsOk());
  EXPECT_TRUE(draft->endpoints.empty());
  EXPECT_EQ(report.dropped, 1u);
}

// Node ids and names build `$SRV.<VERB>.<name>.<id>` subjects.
TEST(DecodeTest, AnInvalidIdNameOrVersionRefusesTheAnswer) {
  for (Identity bad :
       {Identity{.name = "greeter", .id = "a.b"},
        Identity{.name = "greeter", .id = "a\r\nb"},
        Identity{.name = "greeter", .id = "*"},
        Identity{.name = "greeter", .id = std::string(129, 'i')},
        Identity{.name = "go.micro", .id = "i"},
        Identity{.name = "greeter", .id = "i", .version = "1 2"}}) {
    EXPECT_THAT(DecodePing(EncodePing(bad)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid name, id or version")))
        << bad.id;
    EXPECT_THAT(DecodeInfo(EncodeInfo({.identity = bad})),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_TRUE(IsValidId("NUID4tN5oQk1lUcVQ2bKuX"));
}

// Issue 22, defect 4: `"endpoints":[{},{},...]` of 1 MiB is ~350,000
// endpoints. Past the limit they are skipped while parsing and counted;
// nesting deeper than an answer's shape is skipped too.
TEST(DecodeTest, EndpointsPastTheLimitAreSkippedWhileParsing) {
  std::string flood =
      R"({"type":"io.nats.micro.v1.info_response","name":"f","id":"i",)"
      R"("endpoints":[)";
  while (flood.size() < kMaxResponseBytes - 64) {
    absl::StrAppend(&flood, R"({"name":"e","subject":"f.e"},)");
  }
  flood.back() = ']';
  flood += "}";
  DecodeReport report;
  auto info = DecodeInfo(flood, {.max_endpoints = 100}, &report);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->endpoints.size(), 100u);
  EXPECT_GT(report.dropped, 30000u);
  EXPECT_THAT(report.first, StatusIs(absl::StatusCode::kResourceExhausted,
                                     HasSubstr("over 100 endpoints")));
  // A lookup's deadline stops a parse under way.
  EXPECT_THAT(DecodeInfo(flood, {.deadline = absl::Now()}),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("still being parsed")));

  const std::string deep =
      R"({"name":"d","id":"i","extra":)" + std::string(100000, '[') +
      std::string(100000, ']') +
      R"(,"endpoints":[{"name":"e","subject":"d.e","metadata":{"k":"v",)"
      R"("x":[[[1]]]}}]})";
  auto shallow = DecodeInfo(deep);
  ASSERT_THAT(shallow, IsOk());
  ASSERT_EQ(shallow->endpoints.size(), 1u);
  EXPECT_EQ(shallow->endpoints[0].metadata, (Metadata{{"k", "v"}}));
}

TEST(NamesTest, NamesThatMapToOneAdrNameAreRefused) {
  EXPECT_THAT(CheckDistinctNames({"Greeter.Hello", "Greeter.Bye"}), IsOk());
  EXPECT_THAT(CheckDistinctNames({"Greeter.Hello", "Greeter.Hello"}), IsOk());
  EXPECT_THAT(CheckDistinctNames({"a.b", "x", "a_b"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'a.b' and 'a_b' are both 'a_b'")));
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
