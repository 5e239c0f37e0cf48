// Copyright 2026 The micro-nats Authors.
//
// service_pair.h: a micro-nats service to benchmark and one to call it
// from, on the benchmark's nats-server (request_bench, stream_bench).
//
//   auto pair = bench::ServicePair::Start(
//       "bench-echo", "bench-caller",
//       [](service::Server& server) { return server.Handle(...); });
//   if (!pair.ok()) return pair.status();
//   absl::Status first = bench::UntilFound(deadline, [&] { return Call(); });

#ifndef MICRO_NATS_BENCH_SERVICE_PAIR_H_
#define MICRO_NATS_BENCH_SERVICE_PAIR_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "service/nats/nats_service.h"
#include "service/server.h"
#include "service/service.h"

namespace micro_nats::bench {

// Two services, each on a connection of its own: `server`, started with
// the endpoints `handle` registered, and `caller`. The server stops (up to
// 5 s) when this is destroyed.
struct ServicePair {
  static absl::StatusOr<ServicePair> Start(
      const std::string& server_name, const std::string& caller_name,
      const std::function<absl::Status(service::Server&)>& handle) {
    ServicePair pair;
    auto server = service::NewNatsService(
        {.servers = {ServerUrl()}, .identity = {.name = server_name}});
    service::NatsServiceOptions caller_options = {
        .servers = {ServerUrl()}, .identity = {.name = caller_name}};
    if (SmokeRun()) {
      // A smoke run, maybe under a sanitizer on a busy machine: an evicted
      // node's lookup may take longer than the registry's 100 ms to hear
      // the service (a real run keeps the defaults).
      caller_options.registry.timeout = absl::Seconds(2);
      caller_options.registry.idle_gap = absl::Milliseconds(100);
    }
    auto caller = service::NewNatsService(std::move(caller_options));
    if (!server.ok()) return server.status();
    if (!caller.ok()) return caller.status();
    pair.server = std::move(server).value();
    pair.caller = std::move(caller).value();
    if (absl::Status handled = handle(pair.server->server()); !handled.ok()) {
      return handled;
    }
    if (absl::Status started = pair.server->Start(); !started.ok()) {
      return started;
    }
    return pair;
  }

  ServicePair() = default;
  ServicePair(ServicePair&&) = default;
  ServicePair& operator=(ServicePair&&) = delete;
  ~ServicePair() {
    if (server != nullptr) {
      server->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
    }
  }

  std::unique_ptr<service::Service> server;
  std::unique_ptr<service::Service> caller;
};

// The status of a call's result.
inline const absl::Status& StatusOf(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// The first call to a new service: until its registration is heard (slow
// under sanitizers on a busy machine) the caller's lookup finds nothing, so
// `call` (returning absl::Status or a StatusOr) is made again every 20 ms
// while it says NotFound, until `deadline`. Returns the last result.
template <typename Call>
auto UntilFound(absl::Time deadline, Call call) -> decltype(call()) {
  auto result = call();
  while (absl::IsNotFound(StatusOf(result)) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    result = call();
  }
  return result;
}

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_SERVICE_PAIR_H_
