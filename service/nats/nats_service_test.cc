// Copyright 2026 The micro-nats Authors.

#include "service/nats/nats_service.h"

#include <atomic>

#include "service/nats/testing/nats_services.h"
#include "service/testing/e2e.h"
#include "testing/nats_server.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::NatsServer;

// Each service on a connection of its own, as separate processes would be.
class NatsEnvironment : public ServiceEnvironment, public NatsServices {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    return NewOnServer({.identity = {.name = name},
                        .server = std::move(server),
                        .client = std::move(client)});
  }
};

INSTANTIATE_TEST_SUITE_P(Nats, ServiceEndToEndTest,
                         ::testing::Values(ServiceBackend{
                             "Nats", &NatsServices::Start<NatsEnvironment>}),
                         ServiceBackendName);

TEST(NatsServiceTest, NoServerReachableIsUnavailableNamingTheUrl) {
  auto service = NewNatsService(
      {.servers = {"nats://127.0.0.1:1"},
       .identity = {.name = "lonely"},
       .connection_options = {.connect_timeout = absl::Seconds(1)}});
  EXPECT_THAT(service, ::micro_nats::testing::StatusIs(
                           absl::StatusCode::kUnavailable,
                           ::testing::HasSubstr("127.0.0.1:1")));
}

TEST(NatsServiceTest, ServicesOnDifferentServersOfAClusterCallEachOther) {
  auto cluster = ::micro_nats::testing::NatsCluster::Start(3);
  ASSERT_THAT(cluster, ::micro_nats::testing::IsOk());
  const std::vector<std::string> urls = (*cluster)->urls();
  // The caller is given two servers (a cluster's list), neither of them
  // the one the echo service is on.
  auto echo =
      NewNatsService({.servers = {urls[0]}, .identity = {.name = "clustered"}});
  auto caller = NewNatsService(
      {.servers = {urls[1], urls[2]}, .identity = {.name = "cluster-caller"}});
  ASSERT_THAT(echo, ::micro_nats::testing::IsOk());
  ASSERT_THAT(caller, ::micro_nats::testing::IsOk());
  ASSERT_THAT((*echo)->server().Handle(
                  "C.Call",
                  [](Context&, const Message& request, Message* response) {
                    response->body = "via cluster: " + request.body;
                    return absl::OkStatus();
                  }),
              ::micro_nats::testing::IsOk());
  ASSERT_THAT((*echo)->Start(), ::micro_nats::testing::IsOk());
  // Interest crosses the cluster routes shortly after subscribing.
  absl::StatusOr<Message> answer = absl::UnknownError("not called");
  ASSERT_TRUE(::micro_nats::testing::Eventually(
      [&] {
        answer =
            (*caller)->client().CallRaw("clustered", "C.Call", {.body = "hi"});
        return answer.ok();
      },
      absl::Seconds(20), "a call across the cluster"))
      << answer.status();
  EXPECT_EQ(answer->body, "via cluster: hi");
}

// Services found and called through the NATS Service API (`$SRV`, endpoint
// subjects), not go-micro's registry and the transport.
class ServiceApiPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = NatsServer::Start();
    ASSERT_THAT(server, ::micro_nats::testing::IsOk());
    server_ = std::move(server).value();
    auto caller = NewService("api-caller");
    ASSERT_THAT(caller, ::micro_nats::testing::IsOk());
    caller_ = std::move(caller).value();
  }

  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server = {}) {
    return NewNatsService(
        {.servers = {server_->url()},
         .identity = {.name = name},
         .discovery = NatsServiceOptions::Discovery::kServiceApi,
         .server = std::move(server)});
  }

  ::testing::AssertionResult Found(const std::string& name, size_t nodes) {
    return ::micro_nats::testing::Eventually(
        [&] {
          auto lookup = caller_->registry().GetService(name);
          return lookup.ok() && !lookup->empty() &&
                 (*lookup)[0].nodes.size() == nodes;
        },
        absl::Seconds(10), absl::StrCat(nodes, " instances of ", name));
  }

  std::unique_ptr<::micro_nats::testing::NatsServer> server_;
  std::unique_ptr<Service> caller_;
};

TEST_F(ServiceApiPathTest, AHandlersUnavailableRunsOnceAndEvictsNoNode) {
  std::atomic<int> runs{0};
  std::vector<std::unique_ptr<Service>> instances;
  for (int i = 0; i < 3; ++i) {
    auto service = NewService("api-backend");
    ASSERT_THAT(service, ::micro_nats::testing::IsOk());
    ASSERT_THAT((*service)->server().Handle(
                    "Backend.Charge",
                    [&runs](Context&, const Message&, Message*) {
                      ++runs;
                      return absl::UnavailableError("card network down");
                    }),
                ::micro_nats::testing::IsOk());
    ASSERT_THAT((*service)->Start(), ::micro_nats::testing::IsOk());
    instances.push_back(std::move(service).value());
  }
  ASSERT_TRUE(Found("api-backend", 3));
  EXPECT_THAT(caller_->client().CallRaw("api-backend", "Backend.Charge", {},
                                        {.retries = 2}),
              ::micro_nats::testing::StatusIs(absl::StatusCode::kUnavailable,
                                              "card network down"));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(caller_->client().stats().evicted, 0);
  EXPECT_EQ(caller_->client().stats().retries, 0);
}

TEST_F(ServiceApiPathTest, AnAnswerThatCannotBeSentFailsTheCallPromptly) {
  auto service = NewService("api-unsendable", {.on_error = [](auto&&) {}});
  ASSERT_THAT(service, ::micro_nats::testing::IsOk());
  ASSERT_THAT(
      (*service)->server().Handle(
          "U.Call",
          [](Context& ctx, const Message& request, Message* response) {
            if (request.body == "crlf") {
              ctx.response_metadata()["X-Echo"] = "1\r\nX-Injected: yes";
            } else if (request.body == "huge") {
              ctx.response_metadata()["X-Big"] = std::string(2 << 20, 'x');
            } else if (request.body == "bad-error") {
              return absl::InvalidArgumentError("no\r\nX-Injected: yes");
            }
            response->body = "answer";
            return absl::OkStatus();
          }),
      ::micro_nats::testing::IsOk());
  ASSERT_THAT((*service)->Start(), ::micro_nats::testing::IsOk());
  ASSERT_TRUE(Found("api-unsendable", 1));
  for (const char* body : {"crlf", "huge"}) {
    const absl::Time start = absl::Now();
    EXPECT_THAT(
        caller_->client().CallRaw("api-unsendable", "U.Call", {.body = body},
                                  {.timeout = absl::Seconds(20), .retries = 0}),
        ::micro_nats::testing::StatusIs(
            absl::StatusCode::kInternal,
            ::testing::HasSubstr("could not be sent")))
        << body;
    EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << body;
  }
  // Errors of the endpoint's, not successes.
  std::vector<EndpointStats> stats = (*service)->server().endpoint_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].requests, 2);
  EXPECT_EQ(stats[0].errors, 2);
  EXPECT_THAT(stats[0].last_error, ::testing::HasSubstr("could not be sent"));
  EXPECT_EQ((*service)->server().stats().errors, 2);
  // A handler's error text with CR/LF: the Nats-Service-Error header is
  // made sendable, the caller gets the status.
  EXPECT_THAT(
      caller_->client().CallRaw("api-unsendable", "U.Call",
                                {.body = "bad-error"},
                                {.timeout = absl::Seconds(20)}),
      ::micro_nats::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                      ::testing::HasSubstr("X-Injected")));
  EXPECT_THAT(
      caller_->client().CallRaw("api-unsendable", "U.Call", {.body = "ok"}),
      ::micro_nats::testing::IsOkAndHolds(
          ::testing::Field(&Message::body, "answer")));
}

TEST(NatsServiceTest, AnInvalidNameIsRefused) {
  EXPECT_THAT(
      NewNatsService({.identity = {.name = "has space"}}),
      ::micro_nats::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::service
