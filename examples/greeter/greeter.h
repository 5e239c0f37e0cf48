// Copyright 2026 The micro-nats Authors.
//
// greeter.h: the greeter service's handler, shared by the server binary,
// the one-process demo and the tests. It implements the GreeterHandler
// that micro_cc_library generated from greeter.proto.

#ifndef MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
#define MICRO_NATS_EXAMPLES_GREETER_GREETER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.micro.h"
#include "service/server.h"
#include "status/status_macros.h"

namespace greeter {

// The name the greeter registers under.
inline constexpr char kServiceName[] = "greeter";
inline constexpr const char* kHelloEndpoint = GreeterNames::kHello;
inline constexpr const char* kRepeatEndpoint = GreeterNames::kRepeat;
inline constexpr const char* kChatEndpoint = GreeterNames::kChat;
// The most greetings one Repeat sends.
inline constexpr int kMaxRepeats = 1000;

// Greeter.Hello: "Hello <name>", InvalidArgument for an empty name; says
// which node answered. Greeter.Repeat streams "Hello <name> (i of n)" for
// i = 1..n (n = times, up to kMaxRepeats); Greeter.Chat answers each
// request as Hello would, and an empty name ends it with Hello's error.
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

  absl::Status Repeat(micro_nats::service::Context&,
                      const RepeatRequest& request,
                      RepeatStream& stream) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("say who to greet: name is empty");
    }
    if (request.times() < 0 || request.times() > kMaxRepeats) {
      return absl::InvalidArgumentError(absl::StrCat(
          "times is ", request.times(), ": from 0 to ", kMaxRepeats));
    }
    HelloReply reply;
    reply.set_served_by(node_id_);
    for (int i = 1; i <= request.times(); ++i) {
      reply.set_message(absl::StrCat("Hello ", request.name(), " (", i, " of ",
                                     request.times(), ")"));
      // Waits while the caller's window is full.
      MN_RETURN_IF_ERROR(stream.Send(reply));
    }
    return absl::OkStatus();
  }

  absl::Status Chat(micro_nats::service::Context& ctx,
                    ChatStream& stream) override {
    for (;;) {
      absl::StatusOr<HelloRequest> request = stream.Recv();
      if (absl::IsOutOfRange(request.status())) return absl::OkStatus();
      MN_RETURN_IF_ERROR(request.status());
      HelloReply reply;
      MN_RETURN_IF_ERROR(Hello(ctx, *request, &reply));
      MN_RETURN_IF_ERROR(stream.Send(reply));
    }
  }

 private:
  const std::string node_id_;
};

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
