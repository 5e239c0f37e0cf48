// Copyright 2026 The micro-nats Authors.
//
// greeter.h: the greeter service's handler, shared by the server binary,
// the one-process demo and the tests.

#ifndef MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
#define MICRO_NATS_EXAMPLES_GREETER_GREETER_H_

#include "absl/status/status.h"
#include "examples/greeter/greeter.pb.h"
#include "service/server.h"

namespace greeter {

inline constexpr char kServiceName[] = "greeter";
inline constexpr char kHelloEndpoint[] = "Greeter.Hello";

// Registers Greeter.Hello on `server`: "Hello <name>", InvalidArgument for
// an empty name.
inline absl::Status RegisterGreeter(micro_nats::service::Server& server) {
  return server.Handle<HelloRequest, HelloReply>(
      kHelloEndpoint,
      [&server](micro_nats::service::Context&, const HelloRequest& request,
                HelloReply* reply) {
        if (request.name().empty()) {
          return absl::InvalidArgumentError("say who to greet: name is empty");
        }
        reply->set_message("Hello " + request.name());
        reply->set_served_by(server.id());
        return absl::OkStatus();
      });
}

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
