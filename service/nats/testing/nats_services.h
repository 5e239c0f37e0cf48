// Copyright 2026 The micro-nats Authors.
//
// nats_services.h: what the NATS environments of the service suites
// (service/testing) share: a nats-server of their own, and services on it
// each on a connection of its own, as separate processes would be.
//
//   class NatsEnvironment : public ServiceEnvironment, public NatsServices {
//    public:
//     absl::StatusOr<std::unique_ptr<Service>> NewService(
//         const std::string& name, ServerOptions server,
//         ClientOptions client) override {
//       return NewOnServer({.identity = {.name = name},
//                           .server = std::move(server),
//                           .client = std::move(client)});
//     }
//   };
//   ... ServiceBackend{"Nats", &NatsServices::Start<NatsEnvironment>} ...

#ifndef MICRO_NATS_SERVICE_NATS_TESTING_NATS_SERVICES_H_
#define MICRO_NATS_SERVICE_NATS_TESTING_NATS_SERVICES_H_

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "service/nats/nats_service.h"
#include "testing/nats_server.h"

namespace micro_nats::service {

class NatsServices {
 public:
  // An `Environment` (a NatsServices) with its nats-server started; null,
  // with a test failure saying why, when the server did not start.
  template <typename Environment>
  static std::unique_ptr<Environment> Start() {
    auto server = ::micro_nats::testing::NatsServer::Start();
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    auto environment = std::make_unique<Environment>();
    environment->server_ = std::move(server).value();
    return environment;
  }

  // A service of `options` on this server (its own connection), not
  // started.
  absl::StatusOr<std::unique_ptr<Service>> NewOnServer(
      NatsServiceOptions options) const {
    options.servers = {server_->url()};
    return NewNatsService(std::move(options));
  }

  const ::micro_nats::testing::NatsServer& server() const { return *server_; }

 private:
  std::unique_ptr<::micro_nats::testing::NatsServer> server_;
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_NATS_TESTING_NATS_SERVICES_H_
