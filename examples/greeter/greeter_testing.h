// Copyright 2026 The micro-nats Authors.
//
// greeter_testing.h: what the greeter's tests on a real nats-server share.
//
//   MN_ASSERT_OK_AND_ASSIGN(
//       greeter_, StartGreeter({.servers = {server_->url()}}, "real-1",
//                              handler_));

#ifndef MICRO_NATS_EXAMPLES_GREETER_GREETER_TESTING_H_
#define MICRO_NATS_EXAMPLES_GREETER_GREETER_TESTING_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "examples/greeter/greeter.h"
#include "service/nats/nats_service.h"
#include "status/status_macros.h"

namespace greeter {

// A greeter instance, started: `options` as the greeter's, its node id
// `id`, serving `handler` (which must outlive it).
inline absl::StatusOr<std::unique_ptr<micro_nats::service::Service>>
StartGreeter(micro_nats::service::NatsServiceOptions options,
             const std::string& id, GreeterHandler& handler) {
  options.identity.name = kServiceName;
  options.server.id = id;
  MN_ASSIGN_OR_RETURN(std::unique_ptr<micro_nats::service::Service> service,
                      micro_nats::service::NewNatsService(std::move(options)));
  MN_RETURN_IF_ERROR(RegisterGreeterHandler(service->server(), handler));
  MN_RETURN_IF_ERROR(service->Start());
  return service;
}

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_GREETER_TESTING_H_
