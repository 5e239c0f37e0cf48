// Copyright 2026 The micro-nats Authors.
//
// greeter.h: the greeter service's handler, shared by the server binary,
// the one-process demo and the tests. It implements the GreeterHandler
// that micro_cc_library generated from greeter.proto.

#ifndef MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
#define MICRO_NATS_EXAMPLES_GREETER_GREETER_H_

#include <string>

#include "absl/status/status.h"
#include "examples/greeter/greeter.micro.h"
#include "service/server.h"

namespace greeter {

// The name the greeter registers under.
inline constexpr char kServiceName[] = "greeter";
inline constexpr const char* kHelloEndpoint = GreeterNames::kHello;

// Greeter.Hello: "Hello <name>", InvalidArgument for an empty name; says
// which node answered.
class Greeter : public GreeterHandler {
 public:
  explicit Greeter(std::string node_id) : node_id_(std::move(node_id)) {}

  absl::Status Hello(micro_nats::service::Context&, const HelloRequest& request,
                     HelloReply* reply) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("say who to greet: name is empty");
    }
    reply->set_message("Hello " + request.name());
    reply->set_served_by(node_id_);
    return absl::OkStatus();
  }

 private:
  const std::string node_id_;
};

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
