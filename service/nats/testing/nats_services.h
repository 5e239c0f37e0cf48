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
#include "testing/sanitizers.h"

namespace micro_nats::service {

// The registries' lookup windows, where left at their defaults, widened
// for tests: in one test process every service's registry answers on
// nats.c's two shared delivery threads, where separate processes would
// answer in parallel. On a loaded 2-core machine a query took up to 90 ms
// to reach a service in the same process under TSan (p99 26 ms), and over
// 100 ms in a plain build beside other builds, so the first Call after
// Start missed the 100 ms timeout ("service not found"), and a lookup of
// three instances, answered over 10 ms apart, missed the idle gap twice (a
// guess the cache keeps for partial_ttl). Wider under a sanitizer. Windows
// a test sets itself are kept.
inline void WidenLookupWindows(NatsServiceOptions& options) {
  const absl::Duration timeout = absl::Seconds(1);
  const absl::Duration idle_gap = ::micro_nats::testing::UnderSanitizers(
      absl::Milliseconds(50), absl::Milliseconds(100));
  const registry::NatsRegistryOptions micro;
  if (options.registry.timeout == micro.timeout) {
    options.registry.timeout = timeout;
  }
  if (options.registry.idle_gap == micro.idle_gap) {
    options.registry.idle_gap = idle_gap;
  }
  const registry::SrvRegistryOptions srv;
  if (options.srv_registry.timeout == srv.timeout) {
    options.srv_registry.timeout = timeout;
  }
  if (options.srv_registry.idle_gap == srv.idle_gap) {
    options.srv_registry.idle_gap = idle_gap;
  }
}

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
  // started; lookup windows as WidenLookupWindows says.
  absl::StatusOr<std::unique_ptr<Service>> NewOnServer(
      NatsServiceOptions options) const {
    options.servers = {server_->url()};
    WidenLookupWindows(options);
    return NewNatsService(std::move(options));
  }

  const ::micro_nats::testing::NatsServer& server() const { return *server_; }

 private:
  std::unique_ptr<::micro_nats::testing::NatsServer> server_;
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_NATS_TESTING_NATS_SERVICES_H_
