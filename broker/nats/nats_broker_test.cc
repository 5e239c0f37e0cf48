// Copyright 2026 The micro-nats Authors.

#include "broker/nats/nats_broker.h"

#include "broker/testing/conformance.h"
#include "testing/nats_server.h"

namespace micro_nats::broker::testing {
namespace {

// A real nats-server; every broker on its own connection.
class NatsEnvironment : public BrokerEnvironment {
 public:
  explicit NatsEnvironment(std::unique_ptr<micro_nats::testing::NatsServer> s)
      : server_(std::move(s)) {}

  absl::StatusOr<std::unique_ptr<Broker>> NewBroker(
      BrokerOptions options) override {
    auto conn = nats::Connection::Connect({.servers = {server_->url()}});
    if (!conn.ok()) return conn.status();
    return NewNatsBroker(*conn, {.broker = std::move(options)});
  }

 private:
  std::unique_ptr<micro_nats::testing::NatsServer> server_;
};

absl::StatusOr<std::unique_ptr<BrokerEnvironment>> MakeNatsEnvironment() {
  auto server = micro_nats::testing::NatsServer::Start();
  if (!server.ok()) return server.status();
  return std::make_unique<NatsEnvironment>(std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(Nats, BrokerConformanceTest,
                         ::testing::Values(BrokerBackend{"Nats",
                                                         &MakeNatsEnvironment}),
                         BrokerBackendName);

}  // namespace
}  // namespace micro_nats::broker::testing
