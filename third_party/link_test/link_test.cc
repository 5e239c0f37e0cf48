// Copyright 2026 The micro-nats Authors.
//
// Proves each system library links under its upstream label.

#include <CivetServer.h>
#include <nats/nats.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "third_party/link_test/link_test.pb.h"

ABSL_FLAG(int, link_test_flag, 7, "a flag that proves absl/flags links");

namespace {

using ::testing::HasSubstr;

TEST(LinkTest, Abseil) {
  absl::flat_hash_map<std::string, int> map = {{"a", 1}};
  absl::StatusOr<int> value = map.at("a");
  EXPECT_EQ(absl::StrCat("x", *value), "x1");
  EXPECT_EQ(absl::StrFormat("%03d", 7), "007");
  EXPECT_EQ(absl::GetFlag(FLAGS_link_test_flag), 7);
  EXPECT_EQ(absl::FormatDuration(absl::Milliseconds(1500)), "1.5s");
}

TEST(LinkTest, GoogleMock) {
  EXPECT_THAT(std::string("hello"), HasSubstr("ell"));
}

TEST(LinkTest, ProtobufWithJsonMappingAndWellKnownTypes) {
  micro_nats::link_test::Greeting greeting;
  greeting.set_name("ada");
  greeting.set_count(2);
  (*greeting.mutable_metadata())["k"] = "v";
  greeting.mutable_sent()->set_seconds(0);
  std::string json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(greeting, &json).ok());
  EXPECT_EQ(json, R"({"name":"ada","count":2,"Metadata":{"k":"v"},)"
                  R"("sent":"1970-01-01T00:00:00Z"})");
  micro_nats::link_test::Greeting parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), greeting.SerializeAsString());
}

int benchmark_runs = 0;
void BM_LinkTest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(++benchmark_runs);
}
BENCHMARK(BM_LinkTest)->Iterations(3);

TEST(LinkTest, GoogleBenchmark) {
  int argc = 2;
  char arg0[] = "link_test";
  char arg1[] = "--benchmark_filter=BM_LinkTest";
  char* argv[] = {arg0, arg1, nullptr};
  benchmark::Initialize(&argc, argv);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(benchmark::RunSpecifiedBenchmarks(), 1u);
  ::testing::internal::GetCapturedStdout();
  EXPECT_GE(benchmark_runs, 3);
}

TEST(LinkTest, NatsC) {
  EXPECT_THAT(std::string(nats_GetVersion()), ::testing::StartsWith("3."));
  EXPECT_STREQ(natsStatus_GetText(NATS_TIMEOUT), "Timeout");
}

TEST(LinkTest, PrometheusCpp) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("link_test_total")
      .Help("proves prometheus-cpp links")
      .Register(*registry)
      .Add({{"k", "v"}})
      .Increment(2);
  EXPECT_THAT(prometheus::TextSerializer().Serialize(registry->Collect()),
              HasSubstr("link_test_total{k=\"v\"} 2"));
  // The pull library (and civetweb beneath it): an exposer on a free port.
  prometheus::Exposer exposer("127.0.0.1:0");
  exposer.RegisterCollectable(registry);
  ASSERT_EQ(exposer.GetListeningPorts().size(), 1u);
  EXPECT_GT(exposer.GetListeningPorts()[0], 0);
}

TEST(LinkTest, Civetweb) {
  std::vector<std::string> options = {"listening_ports", "127.0.0.1:0",
                                      "num_threads", "1"};
  CivetServer server(options);
  ASSERT_EQ(server.getListeningPorts().size(), 1u);
  EXPECT_GT(server.getListeningPorts()[0], 0);
}

}  // namespace
