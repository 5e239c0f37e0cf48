// Copyright 2026 The micro-nats Authors.
//
// The resilience suite (service/testing/resilience_suite.h) on the NATS
// stack: every service on a connection of its own to a real nats-server.

#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/testing/resilience_suite.h"

namespace micro_nats::service {
namespace {

class NatsResilienceEnvironment : public ResilienceEnvironment,
                                  public NatsServices {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    return NewOnServer({.identity = {.name = name},
                        .server = std::move(server),
                        .client = std::move(client)});
  }
};

INSTANTIATE_TEST_SUITE_P(Nats, ResilienceTest,
                         ::testing::Values(ResilienceBackend{
                             "Nats",
                             &NatsServices::Start<NatsResilienceEnvironment>}),
                         ResilienceBackendName);

}  // namespace
}  // namespace micro_nats::service
