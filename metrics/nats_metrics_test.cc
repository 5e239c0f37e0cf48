// Copyright 2026 The micro-nats Authors.
//
// The greeter on a real nats-server with NatsServiceOptions::metrics_address:
// calls (OK, an error, an unknown endpoint), /metrics scraped over HTTP and
// parsed with python3-prometheus-client's parser, label values from the
// network bounded, /healthz, and /readyz through Stop.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "examples/greeter/greeter_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/testing/http_get.h"
#include "service/nats/nats_service.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::metrics {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;
using testing::HttpGet;
using testing::LabelValues;
using testing::ParseWithPrometheusClient;
using testing::SumOf;

using Samples = std::map<std::string, double>;

// Counts the server calls it is told of: NatsServiceOptions::observer is
// told besides the metrics.
class CountingObserver : public service::Observer {
 public:
  std::unique_ptr<service::Observation> ServerCall(service::CallKind,
                                                   absl::string_view,
                                                   absl::string_view,
                                                   const Headers&) override {
    class Ended : public service::Observation {
     public:
      explicit Ended(std::atomic<int>* ended) : ended_(ended) {}
      void End(const absl::Status&) override { ++*ended_; }

     private:
      std::atomic<int>* const ended_;
    };
    return std::make_unique<Ended>(&ended);
  }
  std::atomic<int> ended{0};
};

class NatsMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(greeter_port_, testing::FreePort());
    MN_ASSERT_OK_AND_ASSIGN(
        greeter_, greeter::StartGreeter({.servers = {server_->url()},
                                         .metrics_address = absl::StrCat(
                                             "127.0.0.1:", greeter_port_),
                                         .observer = counting_},
                                        "metrics-1", handler_));
    MN_ASSERT_OK_AND_ASSIGN(caller_port_, testing::FreePort());
    MN_ASSERT_OK_AND_ASSIGN(
        caller_, service::NewNatsService({.servers = {server_->url()},
                                          .identity = {.name = "caller"},
                                          .metrics_address = absl::StrCat(
                                              "127.0.0.1:", caller_port_)}));
  }

  absl::Status Hello(const std::string& name) {
    greeter::HelloRequest request;
    request.set_name(name);
    return caller_->client()
        .Call<greeter::HelloRequest, greeter::HelloReply>(
            greeter::kServiceName, greeter::kHelloEndpoint, request)
        .status();
  }

  absl::StatusOr<Samples> Scrape(int port) {
    absl::StatusOr<testing::HttpResponse> got = HttpGet(port, "/metrics");
    if (!got.ok()) return got.status();
    if (got->code != 200) {
      return absl::InternalError(absl::StrCat("/metrics: ", got->code));
    }
    return ParseWithPrometheusClient(got->body);
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<CountingObserver> counting_ =
      std::make_shared<CountingObserver>();
  greeter::Greeter handler_{"metrics-1"};
  int greeter_port_ = 0;
  int caller_port_ = 0;
  std::unique_ptr<service::Service> greeter_;
  std::unique_ptr<service::Service> caller_;
};

TEST_F(NatsMetricsTest, CallsAreCountedAndTimedOnBothSides) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Hello("ada"), IsOk());
  EXPECT_THAT(Hello(""), StatusIs(absl::StatusCode::kInvalidArgument));
  absl::Status unknown =
      caller_->client()
          .CallRaw(greeter::kServiceName, "Greeter.Nope", Message{})
          .status();
  EXPECT_FALSE(unknown.ok());

  MN_ASSERT_OK_AND_ASSIGN(Samples server, Scrape(greeter_port_));
  const std::string hello = "rpc_method=\"Greeter.Hello\"";
  const std::string svc = "rpc_service=\"greeter\"";
  EXPECT_EQ(
      SumOf(server, "rpc_server_requests_total", {svc, hello, "code=\"200\""}),
      3);
  EXPECT_EQ(
      SumOf(server, "rpc_server_requests_total", {svc, hello, "code=\"400\""}),
      1);
  EXPECT_EQ(SumOf(server, "rpc_server_duration_seconds_count",
                  {hello, "code=\"200\""}),
            3);
  // Buckets are cumulative and end at the count.
  double previous = 0;
  for (double bound : DefaultLatencyBuckets()) {
    std::string le = absl::StrCat("le=\"", bound, "\"");
    double in = SumOf(server, "rpc_server_duration_seconds_bucket",
                      {hello, "code=\"200\"", le});
    EXPECT_GE(in, previous) << le;
    previous = in;
  }
  EXPECT_EQ(SumOf(server, "rpc_server_duration_seconds_bucket",
                  {hello, "code=\"200\"", "le=\"+Inf\""}),
            3);
  EXPECT_GE(previous, 0);
  EXPECT_EQ(SumOf(server, "rpc_server_in_flight_requests", {hello}), 0);
  // An endpoint it does not have is "unknown", if it got that far.
  for (const std::string& method :
       LabelValues(server, "rpc_server_requests_total", "rpc_method")) {
    EXPECT_THAT(method, ::testing::AnyOf("Greeter.Hello", "unknown"));
  }
  // The caller's own observer was told of the same calls.
  EXPECT_EQ(counting_->ended.load(),
            SumOf(server, "rpc_server_requests_total"));
  // Its stats and connection, read at the scrape.
  EXPECT_GE(SumOf(server, "micro_server_requests_total", {svc}), 4);
  EXPECT_EQ(SumOf(server, "micro_server_errors_total", {svc}) >= 1, true);
  EXPECT_EQ(SumOf(server, "nats_connection_connected", {svc}), 1);
  EXPECT_GT(SumOf(server, "nats_connection_received_messages_total", {svc}), 0);

  MN_ASSERT_OK_AND_ASSIGN(Samples client, Scrape(caller_port_));
  EXPECT_EQ(
      SumOf(client, "rpc_client_requests_total", {svc, hello, "code=\"200\""}),
      3);
  EXPECT_EQ(
      SumOf(client, "rpc_client_requests_total", {svc, hello, "code=\"400\""}),
      1);
  EXPECT_EQ(SumOf(client, "rpc_client_requests_total",
                  {svc, "rpc_method=\"Greeter.Nope\""}),
            1);
  EXPECT_EQ(SumOf(client, "rpc_client_requests_total",
                  {svc, "rpc_method=\"Greeter.Nope\"", "code=\"200\""}),
            0);
  EXPECT_EQ(SumOf(client, "rpc_client_duration_seconds_bucket",
                  {hello, "le=\"+Inf\""}),
            4);
  EXPECT_EQ(
      SumOf(client, "micro_client_calls_total", {"rpc_service=\"caller\""}), 5);
  EXPECT_GE(SumOf(client, "micro_registry_lookups_total"), 1);
}

TEST_F(NatsMetricsTest, EndpointNamesFromTheNetworkAreOneLabelValue) {
  ASSERT_THAT(Hello("ada"), IsOk());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(caller_->client()
                     .CallRaw(greeter::kServiceName,
                              absl::StrCat("Greeter.Made", i), Message{})
                     .ok());
  }
  MN_ASSERT_OK_AND_ASSIGN(Samples server, Scrape(greeter_port_));
  std::set<std::string> methods =
      LabelValues(server, "rpc_server_requests_total", "rpc_method");
  EXPECT_LE(methods.size(), 2u);
  EXPECT_TRUE(methods.count("Greeter.Hello"));
  MN_ASSERT_OK_AND_ASSIGN(Samples client, Scrape(caller_port_));
  std::set<std::string> called =
      LabelValues(client, "rpc_client_requests_total", "rpc_method");
  EXPECT_LE(called.size(), 101u);
  EXPECT_TRUE(called.count("other"));
  EXPECT_EQ(SumOf(client, "rpc_client_requests_total"), 1001);
}

TEST_F(NatsMetricsTest, HealthAndReadinessThroughStop) {
  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(greeter_port_, "/healthz"));
  EXPECT_EQ(got.code, 200);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(greeter_port_, "/readyz"));
  EXPECT_EQ(got.code, 200);
  // The caller never started its server: alive, not ready.
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(caller_port_, "/readyz"));
  EXPECT_EQ(got.code, 503);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(caller_port_, "/healthz"));
  EXPECT_EQ(got.code, 200);

  ASSERT_THAT(greeter_->Stop(absl::Now() + absl::Seconds(10)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(greeter_port_, "/readyz"));
  EXPECT_EQ(got.code, 503);
  EXPECT_THAT(got.body, HasSubstr("stopped"));
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(greeter_port_, "/healthz"));
  EXPECT_EQ(got.code, 200);
  MN_ASSERT_OK_AND_ASSIGN(Samples after, Scrape(greeter_port_));
  EXPECT_EQ(SumOf(after, "nats_connection_connected"), 1);
  // The endpoint goes with the service.
  greeter_.reset();
  EXPECT_FALSE(HttpGet(greeter_port_, "/healthz").ok());
}

TEST_F(NatsMetricsTest, ReadinessFollowsTheConnection) {
  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(greeter_port_, "/readyz"));
  ASSERT_EQ(got.code, 200);
  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] {
        absl::StatusOr<testing::HttpResponse> r =
            HttpGet(greeter_port_, "/readyz");
        return r.ok() && r->code == 503 &&
               r->body.find("connection") != std::string::npos;
      },
      absl::Seconds(10), "/readyz 503 for the connection"));
}

TEST(NatsMetrics, AnAddressThatIsNotIpPortIsInvalidArgument) {
  // Checked before connecting: no server needed.
  EXPECT_THAT(service::NewNatsService({.servers = {"nats://127.0.0.1:1"},
                                       .identity = {.name = "x"},
                                       .metrics_address = "localhost:9464"})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NatsMetrics, ATakenPortIsUnavailable) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  MN_ASSERT_OK_AND_ASSIGN(int port, testing::FreePort());
  const std::string address = absl::StrCat("127.0.0.1:", port);
  MN_ASSERT_OK_AND_ASSIGN(
      auto first, service::NewNatsService({.servers = {server->url()},
                                           .identity = {.name = "one"},
                                           .metrics_address = address}));
  EXPECT_THAT(service::NewNatsService({.servers = {server->url()},
                                       .identity = {.name = "two"},
                                       .metrics_address = address})
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace micro_nats::metrics
