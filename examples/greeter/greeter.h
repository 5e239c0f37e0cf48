// Copyright 2026 The micro-nats Authors.
//
// greeter.h: the greeter service's handler, shared by the server binary,
// the one-process demo and the tests. It implements the GreeterHandler
// that micro_cc_library generated from greeter.proto.

#ifndef MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
#define MICRO_NATS_EXAMPLES_GREETER_GREETER_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

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
inline constexpr const char* kSignEndpoint = GreeterNames::kSign;
inline constexpr const char* kRepeatEndpoint = GreeterNames::kRepeat;
inline constexpr const char* kChatEndpoint = GreeterNames::kChat;
// The most greetings one Repeat sends.
inline constexpr int kMaxRepeats = 1000;

// Greeter.Hello: "Hello <name>", InvalidArgument for an empty name; says
// which node answered (idempotent: no side effects). Greeter.Sign adds an
// entry to this node's guest book and answers its number (not idempotent:
// each call signs once more). Greeter.Repeat streams "Hello <name> (i of n)"
// for i = 1..n (n = times, up to kMaxRepeats); Greeter.Chat answers each
// request as Hello would, and an empty name ends it with Hello's error.
class Greeter : public GreeterHandler {
 public:
  // Told of each signature as it is taken, before the answer (where a real
  // book would store it; tests count executions with it). An error fails
  // the call.
  using SignHook = std::function<absl::Status(
      micro_nats::service::Context&, const SignRequest&, int64_t entry)>;

  explicit Greeter(std::string node_id, SignHook on_sign = nullptr)
      : node_id_(std::move(node_id)), on_sign_(std::move(on_sign)) {}

  absl::Status Hello(micro_nats::service::Context&, const HelloRequest& request,
                     HelloReply* reply) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("say who to greet: name is empty");
    }
    reply->set_message("Hello " + request.name());
    reply->set_served_by(node_id_);
    return absl::OkStatus();
  }

  absl::Status Sign(micro_nats::service::Context& ctx,
                    const SignRequest& request, SignReply* reply) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("say who signs: name is empty");
    }
    int64_t entry = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      entry = ++signatures_;
    }
    if (on_sign_) MN_RETURN_IF_ERROR(on_sign_(ctx, request, entry));
    reply->set_entry(entry);
    reply->set_served_by(node_id_);
    return absl::OkStatus();
  }

  // Signatures this node took.
  int64_t signatures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return signatures_;
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
  const SignHook on_sign_;
  mutable std::mutex mu_;
  int64_t signatures_ = 0;  // guarded by mu_
};

}  // namespace greeter

#endif  // MICRO_NATS_EXAMPLES_GREETER_GREETER_H_
