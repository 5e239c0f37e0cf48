// Copyright 2026 The micro-nats Authors.

#include "service/nats/nats_service.h"

#include "service/testing/e2e.h"
#include "testing/nats_server.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::NatsServer;

// Each service on a connection of its own, as separate processes would be.
class NatsEnvironment : public ServiceEnvironment {
 public:
  absl::Status Start() {
    auto server = NatsServer::Start();
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    std::string version = server.version;
    return NewNatsService({.servers = {server_->url()},
                           .name = name,
                           .version = version,
                           .server = std::move(server),
                           .client = std::move(client)});
  }

 private:
  std::unique_ptr<NatsServer> server_;
};

std::unique_ptr<ServiceEnvironment> MakeNatsEnvironment() {
  auto env = std::make_unique<NatsEnvironment>();
  absl::Status started = env->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  return env;
}

INSTANTIATE_TEST_SUITE_P(Nats, ServiceEndToEndTest,
                         ::testing::Values(ServiceBackend{
                             "Nats", &MakeNatsEnvironment}),
                         ServiceBackendName);

TEST(NatsServiceTest, NoServerReachableIsUnavailableNamingTheUrl) {
  auto service = NewNatsService(
      {.servers = {"nats://127.0.0.1:1"},
       .name = "lonely",
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
  auto echo = NewNatsService({.servers = {urls[0]}, .name = "clustered"});
  auto caller =
      NewNatsService({.servers = {urls[1], urls[2]}, .name = "cluster-caller"});
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

TEST(NatsServiceTest, AnInvalidNameIsRefused) {
  EXPECT_THAT(
      NewNatsService({.name = "has space"}),
      ::micro_nats::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::service
