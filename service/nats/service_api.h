// Copyright 2026 The micro-nats Authors.
//
// service_api.h: a micro-nats server as a NATS Service API (ADR-32)
// service, so NATS tooling and the nats.go/nats.js/nats.c `micro` clients
// see and call it.
//
// A Frontend (service/server.h) that, while its server runs:
//   - answers `$SRV.PING|INFO|STATS`, `$SRV.<verb>.<name>` and
//     `$SRV.<verb>.<name>.<id>` with ADR-32 v1 JSON (srv/protocol.h); the
//     id is the node id the server registers, so both views name the same
//     instance;
//   - serves each endpoint on its own subject ("<service>.<endpoint>", e.g.
//     `greeter.Greeter.Hello`, after an optional group prefix) in queue
//     group "q", by plain request/reply: no dial, no registry. A request
//     without Content-Type is JSON. An error answer carries
//     Nats-Service-Error / Nats-Service-Error-Code and go-micro's
//     Micro-Error.
//   - leaves stream endpoints (Server::HandleStream) out: ADR-32 has no
//     streams, so they are neither served nor listed in INFO; callers
//     reach them through the registry and the transport (Client::Stream).
//
// ADR-32 names are [A-Za-z0-9_-]: a service or endpoint name with other
// characters is shown with '_' for them ("Greeter.Hello" is endpoint
// "Greeter_Hello"); a version that is not SemVer is shown as
// "0.0.0+<version>" (srv::ToSemver).
//
// NewNatsService adds one to every service (NatsServiceOptions::service_api).
//
// Threads: the subscriptions' messages arrive on nats.c's delivery threads;
// endpoint requests run on a pool of max_concurrent_requests threads, and
// beyond max_queued_requests waiting are answered ResourceExhausted.

#ifndef MICRO_NATS_SERVICE_NATS_SERVICE_API_H_
#define MICRO_NATS_SERVICE_NATS_SERVICE_API_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nats/connection.h"
#include "service/server.h"

namespace micro_nats::service {

struct ServiceApiOptions {
  // Off: the service is not visible to NATS tooling.
  bool enabled = true;
  // Prefix of every endpoint subject (ADR-32's group), e.g. "shop";
  // empty for none.
  std::string group;
  // The endpoints' queue group unless an endpoint says otherwise
  // (EndpointOptions::queue_group); empty: plain subscriptions.
  std::string queue_group = "q";
  // Requests handled at once on the endpoint subjects, and waiting before
  // new ones are refused with ResourceExhausted.
  int max_concurrent_requests = 32;
  size_t max_queued_requests = 1024;
  // Failures nobody else hears of (answers that could not be sent,
  // messages NATS dropped). Unset: the process error sink
  // (status/error_sink.h) as "service/nats/service_api", with the
  // service's name.
  std::function<void(const absl::Status&)> on_error;
};

// InvalidArgument for an invalid group or queue group.
absl::StatusOr<std::shared_ptr<Frontend>> NewServiceApi(
    std::shared_ptr<nats::Connection> connection,
    ServiceApiOptions options = {});

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_NATS_SERVICE_API_H_
