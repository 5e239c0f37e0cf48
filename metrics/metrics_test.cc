// Copyright 2026 The micro-nats Authors.
//
// Metrics on the memory stack: the Prometheus backend's families and
// bounds, the observer's numbers for real calls (parsed back with
// python3-prometheus-client), the HTTP endpoint, and readiness turning
// 503 at Stop's start, before the registry entry goes.

#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/http_server.h"
#include "metrics/observer.h"
#include "metrics/prometheus.h"
#include "metrics/service_metrics.h"
#include "metrics/testing/http_get.h"
#include "registry/cache/cache.h"
#include "registry/memory/memory_registry.h"
#include "service/memory/memory_service.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::metrics {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;
using testing::HttpGet;
using testing::LabelValues;
using testing::ParseWithPrometheusClient;
using testing::SumOf;

TEST(PrometheusMetrics, FamiliesAreFoundAgainAndLabelValuesBounded) {
  auto metrics = NewPrometheusMetrics();
  auto family = metrics->Counters({.name = "things_total",
                                   .help = "Things.",
                                   .labels = {"kind"},
                                   .max_label_values = 3});
  ASSERT_THAT(family.status(), IsOk());
  EXPECT_EQ(
      *metrics->Counters(
          {.name = "things_total", .help = "Things.", .labels = {"kind"}}),
      *family);
  EXPECT_THAT(
      metrics->Gauges({.name = "things_total", .labels = {"kind"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      metrics->Counters({.name = "things_total", .labels = {"x"}}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(metrics->Counters({.name = "bad name"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(metrics->Counters({.name = "ok_total", .labels = {"__reserved"}})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (int i = 0; i < 10; ++i) {
    (*family)->With({absl::StrCat("k", i)})->Add(1);
  }
  (*family)->With({"k0"})->Add(1);
  (*family)->With({"a", "b"})->Add(100);  // wrong count: "other"
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics->Text()));
  EXPECT_EQ(samples["things_total{kind=\"k0\"}"], 2);
  EXPECT_EQ(samples["things_total{kind=\"k2\"}"], 1);
  EXPECT_EQ(samples["things_total{kind=\"other\"}"], 107);
  EXPECT_EQ(LabelValues(samples, "things_total", "kind").size(), 4u);
}

TEST(PrometheusMetrics, CollectorsRunAtScrapeUntilTheirHandleGoes) {
  auto metrics = NewPrometheusMetrics();
  int reads = 0;
  auto handle = metrics->AddCollector([&](std::vector<Sample>* out) {
    ++reads;
    out->push_back({.name = "read_total",
                    .help = "Reads.",
                    .type = Sample::Type::kCounter,
                    .labels = {{"who", "me"}},
                    .value = static_cast<double>(reads)});
    out->push_back({.name = "level", .help = "Level.", .value = 7});
  });
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics->Text()));
  EXPECT_EQ(samples["read_total{who=\"me\"}"], 1);
  EXPECT_EQ(samples["level{}"], 7);
  handle.reset();
  MN_ASSERT_OK_AND_ASSIGN(samples, ParseWithPrometheusClient(metrics->Text()));
  EXPECT_EQ(samples.count("read_total{who=\"me\"}"), 0u);
  EXPECT_EQ(reads, 1);
}

TEST(NoopMetrics, TakesEverything) {
  auto metrics = NewNoopMetrics();
  MN_ASSERT_OK_AND_ASSIGN(CounterFamily * counters,
                          metrics->Counters({.name = "x_total"}));
  counters->With({"a"})->Add(1);
  MN_ASSERT_OK_AND_ASSIGN(HistogramFamily * histograms,
                          metrics->Histograms({.name = "h"}, {1, 2}));
  histograms->With({})->Observe(1);
  auto observer = NewMetricsObserver(nullptr);
  observer->ServerCall(service::CallKind::kUnary, "s", "m", {})
      ->End(absl::OkStatus());
}

// The greeter on the memory stack, its caller, one observer for both.
class ObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_ = NewPrometheusMetrics();
    observer_ = NewMetricsObserver(metrics_);
    network_ = service::NewMemoryNetwork();
    MN_ASSERT_OK_AND_ASSIGN(
        greeter_, service::NewMemoryService({.identity = {.name = "greeter"},
                                             .network = network_,
                                             .observer = observer_}));
    ASSERT_THAT(greeter::RegisterGreeterHandler(greeter_->server(), handler_),
                IsOk());
    ASSERT_THAT(greeter_->Start(), IsOk());
    MN_ASSERT_OK_AND_ASSIGN(
        caller_, service::NewMemoryService({.identity = {.name = "caller"},
                                            .network = network_,
                                            .observer = observer_}));
  }

  absl::Status Hello(const std::string& name) {
    greeter::HelloRequest request;
    request.set_name(name);
    return caller_->client()
        .Call<greeter::HelloRequest, greeter::HelloReply>(
            "greeter", "Greeter.Hello", request)
        .status();
  }

  greeter::Greeter handler_{"memory-1"};
  std::shared_ptr<PrometheusMetrics> metrics_;
  std::shared_ptr<service::Observer> observer_;
  std::shared_ptr<service::MemoryNetwork> network_;
  std::unique_ptr<service::Service> greeter_;
  std::unique_ptr<service::Service> caller_;
};

TEST_F(ObserverTest, CountsCallsByOutcomeWithHistograms) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Hello("ada"), IsOk());
  EXPECT_THAT(Hello(""), StatusIs(absl::StatusCode::kInvalidArgument));
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics_->Text()));
  const std::string hello = "rpc_method=\"Greeter.Hello\"";
  const std::string svc = "rpc_service=\"greeter\"";
  for (const char* side : {"server", "client"}) {
    SCOPED_TRACE(side);
    const std::string requests = absl::StrCat("rpc_", side, "_requests_total");
    const std::string duration =
        absl::StrCat("rpc_", side, "_duration_seconds");
    EXPECT_EQ(SumOf(samples, requests, {hello, svc, "code=\"200\""}), 3);
    EXPECT_EQ(SumOf(samples, requests, {hello, svc, "code=\"400\""}), 1);
    EXPECT_EQ(SumOf(samples, duration + "_count", {hello, "code=\"200\""}), 3);
    EXPECT_EQ(SumOf(samples, duration + "_bucket",
                    {hello, "code=\"200\"", "le=\"+Inf\""}),
              3);
    EXPECT_GT(SumOf(samples, duration + "_sum", {hello, "code=\"200\""}), 0);
    // Cumulative: every bucket holds at most the count, the last all.
    EXPECT_EQ(LabelValues(samples, duration + "_bucket", "le").size(),
              DefaultLatencyBuckets().size() + 1);
  }
  EXPECT_EQ(
      SumOf(samples, "rpc_client_attempts_total", {hello, "code=\"200\""}), 3);
  EXPECT_EQ(SumOf(samples, "rpc_server_in_flight_requests", {hello}), 0);
}

TEST_F(ObserverTest, AHandlerSeesItselfInFlight) {
  // Checked from inside: the gauge reads 1 while the handler runs.
  ASSERT_THAT(greeter_->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto server, service::NewMemoryService({.identity = {.name = "probe"},
                                              .network = network_,
                                              .observer = observer_}));
  double seen = -1;
  ASSERT_THAT(server->server().Handle(
                  "Probe.Now",
                  [&](service::Context&, const Message&, Message*) {
                    auto samples = ParseWithPrometheusClient(metrics_->Text());
                    if (samples.ok()) {
                      seen = SumOf(*samples, "rpc_server_in_flight_requests",
                                   {"rpc_method=\"Probe.Now\""});
                    }
                    return absl::OkStatus();
                  }),
              IsOk());
  ASSERT_THAT(server->Start(), IsOk());
  ASSERT_THAT(
      caller_->client().CallRaw("probe", "Probe.Now", Message{}).status(),
      IsOk());
  EXPECT_EQ(seen, 1);
}

TEST_F(ObserverTest, SideCountersHaveTheirLabels) {
  observer_->Count(service::Counter::kRetry, "greeter", 4);
  observer_->Count(service::Counter::kRefusedOverload, "greeter");
  observer_->Count(service::Counter::kExpiredInQueue, "greeter", 0);  // none
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics_->Text()));
  EXPECT_EQ(samples["rpc_client_retries_total{rpc_service=\"greeter\"}"], 4);
  EXPECT_EQ(samples["rpc_server_refused_total{rpc_service=\"greeter\"}"], 1);
  EXPECT_EQ(SumOf(samples, "rpc_server_expired_in_queue_total", {"greeter"}),
            0);
}

// Counters nothing reports have no family (none always empty): told of
// one anyway, the observer ignores it.
TEST_F(ObserverTest, CountersNothingReportsHaveNoFamily) {
  for (service::Counter counter :
       {service::Counter::kLookupCacheHit, service::Counter::kLookupCacheMiss,
        service::Counter::kDropped, service::Counter::kSlowConsumer,
        service::Counter::kSocketOpened, service::Counter::kSocketRefused,
        service::Counter::kSocketReaped, service::Counter::kReconnect}) {
    observer_->Count(counter, "greeter", 1, "why");
  }
  const std::string text = metrics_->Text();
  for (const char* family :
       {"rpc_client_lookups_total", "messaging_dropped_total",
        "messaging_slow_consumers_total", "transport_sockets_",
        "connection_reconnects_total"}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(family))) << family;
  }
}

TEST_F(ObserverTest, NamesFromCallersAreBounded) {
  // A client calling 1000 made-up endpoints: the server reports them as
  // "unknown" (one value), the client's own label stops at the family's
  // bound and counts the rest as "other".
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(
        caller_->client()
            .CallRaw("greeter", absl::StrCat("Greeter.No", i), Message{})
            .ok());
  }
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics_->Text()));
  std::set<std::string> server_methods =
      LabelValues(samples, "rpc_server_requests_total", "rpc_method");
  EXPECT_LE(server_methods.size(), 2u);  // "unknown" (if it got there)
  for (const std::string& method : server_methods) {
    EXPECT_THAT(method, ::testing::AnyOf("unknown", "other"));
  }
  std::set<std::string> client_methods =
      LabelValues(samples, "rpc_client_requests_total", "rpc_method");
  EXPECT_LE(client_methods.size(), 101u);
  EXPECT_TRUE(client_methods.count("other"));
  EXPECT_EQ(
      SumOf(samples, "rpc_client_requests_total", {"rpc_service=\"greeter\""}),
      1000);
}

TEST(ObserverBounds, ServerEndpointsBeyondTheBoundAreOther) {
  auto metrics = NewPrometheusMetrics();
  auto observer = NewMetricsObserver(metrics);
  for (int i = 0; i < 1000; ++i) {
    observer
        ->ServerCall(service::CallKind::kUnary, "svc", absl::StrCat("E", i), {})
        ->End(absl::NotFoundError("no"));
  }
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics->Text()));
  EXPECT_EQ(
      LabelValues(samples, "rpc_server_requests_total", "rpc_method").size(),
      101u);
  EXPECT_EQ(SumOf(samples, "rpc_server_requests_total", {"code=\"404\""}),
            1000);
}

// A ClientStream kept past its Service ends its observation after the
// observer went: the observation keeps what it counts into (ASan).
TEST(ObserverLifetime, AnObservationMayEndAfterItsObserver) {
  auto metrics = NewPrometheusMetrics();
  auto observer = NewMetricsObserver(metrics);
  auto stream =
      observer->ClientCall(service::CallKind::kStream, "svc", "Svc.Chat", {});
  auto call =
      observer->ServerCall(service::CallKind::kUnary, "svc", "Svc.Hello", {});
  observer.reset();
  stream->End(absl::OkStatus());
  call->End(absl::NotFoundError("no"));
  MN_ASSERT_OK_AND_ASSIGN(auto samples,
                          ParseWithPrometheusClient(metrics->Text()));
  EXPECT_EQ(SumOf(samples, "rpc_client_stream_duration_seconds_count"), 1);
  EXPECT_EQ(SumOf(samples, "rpc_server_requests_total", {"code=\"404\""}), 1);
  EXPECT_EQ(SumOf(samples, "rpc_server_in_flight_requests"), 0);

  // The metrics dropped too: the observation keeps them.
  observer = NewMetricsObserver(NewPrometheusMetrics());
  call =
      observer->ServerCall(service::CallKind::kUnary, "svc", "Svc.Hello", {});
  observer.reset();
  call->End(absl::OkStatus());
}

// A handler that throws answers 500 (nothing escapes into civetweb), and
// the server goes on serving.
TEST(HttpServer, AThrowingHandlerAnswers500) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto server,
      HttpServer::Start(
          {.address = "127.0.0.1:0", .metrics = []() -> std::string {
             throw std::runtime_error("serialize failed");
           }}));
  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(server->port(), "/metrics"));
  EXPECT_EQ(got.code, 500);
  EXPECT_THAT(got.body, HasSubstr("serialize failed"));
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(server->port(), "/readyz"));
  EXPECT_EQ(got.code, 200);
}

// More idle connections than threads: /readyz still answers, within the
// request timeout (2 s), well before a probe's 8 s.
TEST(HttpServer, IdleConnectionsDoNotHoldProbesLong) {
  MN_ASSERT_OK_AND_ASSIGN(auto server,
                          HttpServer::Start({.address = "127.0.0.1:0"}));
  std::vector<int> idle;
  for (int i = 0; i < 6; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(server->port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    idle.push_back(fd);
  }
  MN_ASSERT_OK_AND_ASSIGN(auto got,
                          HttpGet(server->port(), "/readyz", absl::Seconds(8)));
  EXPECT_EQ(got.code, 200);
  for (int fd : idle) ::close(fd);
}

TEST(HttpServer, RefusesBadAddresses) {
  for (const char* address :
       {"", "9464", "localhost:9464", "127.0.0.1", "127.0.0.1:70000",
        "127.0.0.1:-1", "127.0.0.1:9464,127.0.0.1:9465", "127.0.0.1:94s",
        "[::1:9464", "1.2.3:9464"}) {
    SCOPED_TRACE(address);
    EXPECT_THAT(HttpServer::Start({.address = address}).status(),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(ValidateHttpAddress("0.0.0.0:9464"), IsOk());
  EXPECT_THAT(ValidateHttpAddress("[::1]:0"), IsOk());
}

TEST(HttpServer, ServesItsThreePathsAndNothingElse) {
  absl::Status ready = absl::UnavailableError("warming up");
  std::mutex mu;
  MN_ASSERT_OK_AND_ASSIGN(
      auto server, HttpServer::Start({.address = "127.0.0.1:0",
                                      .metrics = [] { return "x 1\n"; },
                                      .ready =
                                          [&] {
                                            std::lock_guard<std::mutex> l(mu);
                                            return ready;
                                          }}));
  ASSERT_GT(server->port(), 0);
  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(server->port(), "/metrics"));
  EXPECT_EQ(got.code, 200);
  EXPECT_EQ(got.body, "x 1\n");
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(server->port(), "/healthz"));
  EXPECT_EQ(got.code, 200);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(server->port(), "/readyz"));
  EXPECT_EQ(got.code, 503);
  EXPECT_THAT(got.body, HasSubstr("warming up"));
  {
    std::lock_guard<std::mutex> l(mu);
    ready = absl::OkStatus();
  }
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(server->port(), "/readyz"));
  EXPECT_EQ(got.code, 200);
  for (const char* path : {"/", "/metricsx", "/metrics/x", "/etc/passwd"}) {
    MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(server->port(), path));
    EXPECT_EQ(got.code, 404) << path;
  }
  // The port is taken now.
  EXPECT_THAT(
      HttpServer::Start({.address = absl::StrCat("127.0.0.1:", server->port())})
          .status(),
      StatusIs(absl::StatusCode::kUnavailable));
}

// A registry whose Deregister waits until released: Stop is caught
// between its start and the registry entry's going.
class HeldDeregister : public registry::Registry {
 public:
  explicit HeldDeregister(std::unique_ptr<registry::Registry> target)
      : target_(std::move(target)) {}
  absl::Status Register(const registry::Service& service,
                        registry::RegisterOptions options) override {
    return target_->Register(service, options);
  }
  absl::Status Deregister(const registry::Service& service) override {
    entered_.set_value();
    release_.get_future().wait();
    return target_->Deregister(service);
  }
  absl::StatusOr<std::vector<registry::Service>> GetService(
      absl::string_view name) override {
    return target_->GetService(name);
  }
  absl::StatusOr<std::vector<registry::Service>> ListServices() override {
    return target_->ListServices();
  }
  absl::StatusOr<std::unique_ptr<registry::Watcher>> Watch(
      registry::WatchOptions options) override {
    return target_->Watch(std::move(options));
  }
  std::future<void> Entered() { return entered_.get_future(); }
  void Release() { release_.set_value(); }

 private:
  const std::unique_ptr<registry::Registry> target_;
  std::promise<void> entered_;
  std::promise<void> release_;
};

// The greeter on `network`, `metrics` its frontend and observer, attached.
absl::StatusOr<std::unique_ptr<service::Service>> GreeterWithMetrics(
    const std::shared_ptr<service::MemoryNetwork>& network,
    const std::shared_ptr<ServiceMetrics>& metrics, greeter::Greeter& handler) {
  service::ServerOptions server_options;
  server_options.frontends.push_back(metrics);
  MN_ASSIGN_OR_RETURN(auto service, service::NewMemoryService(
                                        {.identity = {.name = "greeter"},
                                         .network = network,
                                         .server = std::move(server_options),
                                         .observer = metrics->observer()}));
  metrics->Attach(service.get());
  MN_RETURN_IF_ERROR(
      greeter::RegisterGreeterHandler(service->server(), handler));
  return service;
}

TEST(ServiceMetrics, ReadyOnlyFromRegistrationUntilStopBegins) {
  auto held = std::make_shared<HeldDeregister>(registry::NewMemoryRegistry());
  auto network = service::NewMemoryNetwork();
  MN_ASSERT_OK_AND_ASSIGN(network->registry,
                          registry::CachingRegistry::Create(held));
  MN_ASSERT_OK_AND_ASSIGN(auto metrics,
                          ServiceMetrics::Create({.address = "127.0.0.1:0"}));
  const int port = metrics->port();
  greeter::Greeter handler("memory-1");
  MN_ASSERT_OK_AND_ASSIGN(auto service,
                          GreeterWithMetrics(network, metrics, handler));

  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(port, "/readyz"));
  EXPECT_EQ(got.code, 503);
  EXPECT_THAT(got.body, HasSubstr("not started"));
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(port, "/healthz"));
  EXPECT_EQ(got.code, 200);

  ASSERT_THAT(service->Start(), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(port, "/readyz"));
  EXPECT_EQ(got.code, 200);
  EXPECT_EQ(got.body, "ready\n");

  std::future<void> entered = held->Entered();
  std::thread stopper([&] {
    EXPECT_THAT(service->Stop(absl::Now() + absl::Seconds(10)), IsOk());
  });
  // Stop waits in Deregister: the registry entry is still there, and the
  // service already says it is not ready.
  ASSERT_EQ(entered.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  MN_ASSERT_OK_AND_ASSIGN(auto listed, held->GetService("greeter"));
  EXPECT_EQ(listed.size(), 1u);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(port, "/readyz"));
  EXPECT_EQ(got.code, 503);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(port, "/metrics"));
  EXPECT_EQ(got.code, 200);
  EXPECT_THAT(got.body, HasSubstr("micro_server_requests_total"));
  held->Release();
  stopper.join();
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(port, "/readyz"));
  EXPECT_EQ(got.code, 503);
  EXPECT_THAT(got.body, HasSubstr("stopped"));
}

// The frontend outlives its service (the caller holds it): scrapes during
// the service's destruction and after it read no freed memory (ASan) and
// show the last stats.
TEST(ServiceMetrics, ScrapesDuringAndAfterTheServicesDestruction) {
  auto network = service::NewMemoryNetwork();
  MN_ASSERT_OK_AND_ASSIGN(auto metrics,
                          ServiceMetrics::Create({.address = "127.0.0.1:0"}));
  greeter::Greeter handler("memory-1");
  MN_ASSERT_OK_AND_ASSIGN(auto service,
                          GreeterWithMetrics(network, metrics, handler));
  ASSERT_THAT(service->Start(), IsOk());
  greeter::HelloRequest request;
  request.set_name("x");
  ASSERT_THAT((service->client()
                   .Call<greeter::HelloRequest, greeter::HelloReply>(
                       "greeter", "Greeter.Hello", request)
                   .status()),
              IsOk());

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done.load()) {
      EXPECT_THAT(metrics->metrics()->Text(),
                  HasSubstr("micro_client_calls_total"));
      scrapes.fetch_add(1);
    }
  });
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return scrapes.load() > 0; }, absl::Seconds(10)));
  service.reset();
  const int after = scrapes.load();
  ASSERT_TRUE(micro_nats::testing::Eventually(
      [&] { return scrapes.load() > after + 1; }, absl::Seconds(10)));
  done = true;
  scraper.join();
  const std::string text = metrics->metrics()->Text();
  EXPECT_THAT(text,
              HasSubstr("micro_client_calls_total{rpc_service=\"greeter\"} 1"));
  MN_ASSERT_OK_AND_ASSIGN(auto got, HttpGet(metrics->port(), "/metrics"));
  EXPECT_EQ(got.code, 200);
  MN_ASSERT_OK_AND_ASSIGN(got, HttpGet(metrics->port(), "/readyz"));
  EXPECT_EQ(got.code, 503);
}

}  // namespace
}  // namespace micro_nats::metrics
