// Copyright 2026 The micro-nats Authors.

#include "service/memory/memory_service.h"

#include "service/testing/e2e.h"

namespace micro_nats::service {
namespace {

class MemoryEnvironment : public ServiceEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    std::string version = server.version;
    return NewMemoryService({.name = name,
                             .version = version,
                             .network = network_,
                             .server = std::move(server),
                             .client = std::move(client)});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

std::unique_ptr<ServiceEnvironment> MakeMemoryEnvironment() {
  return std::make_unique<MemoryEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, ServiceEndToEndTest,
                         ::testing::Values(ServiceBackend{
                             "Memory", &MakeMemoryEnvironment}),
                         ServiceBackendName);

TEST(MemoryServiceTest, ServicesWithoutANetworkShareTheProcessOne) {
  auto server = NewMemoryService({.name = "process-wide"});
  ASSERT_THAT(server, ::micro_nats::testing::IsOk());
  ASSERT_THAT((*server)->server().Handle(
                  "P.Call",
                  [](Context&, const Message& request, Message* response) {
                    response->body = "got " + request.body;
                    return absl::OkStatus();
                  }),
              ::micro_nats::testing::IsOk());
  ASSERT_THAT((*server)->Start(), ::micro_nats::testing::IsOk());
  auto client = NewMemoryService({.name = "process-wide-client"});
  ASSERT_THAT(client, ::micro_nats::testing::IsOk());
  EXPECT_THAT(
      (*client)->client().CallRaw("process-wide", "P.Call", {.body = "bytes"}),
      ::micro_nats::testing::IsOkAndHolds(
          ::testing::Field(&Message::body, "got bytes")));
}

}  // namespace
}  // namespace micro_nats::service
