// Copyright 2026 The micro-nats Authors.
//
// An answer as a client reads it from whoever answered its call: the error
// headers (go-micro's Micro-Error JSON, the NATS Service API's
// Nats-Service-Error and Nats-Service-Error-Code) and a body in the answer's
// Content-Type, through the client's NATS Service API path (a node with
// protocol "nats-micro", called through ClientOptions::request_reply), then
// decoded as a typed call decodes it.
//
// A failed call never reads as OK, and its text is bounded; an OK call's
// body decodes or fails with InvalidArgument.
//
// Input: fields separated by 0xFF (fuzz_input.h), alternately a header name
// and its value; then the body.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/memory/memory_broker.h"
#include "fuzz/fuzz.pb.h"
#include "fuzz/fuzz_input.h"
#include "registry/registry.h"
#include "service/client.h"
#include "service/codec.h"
#include "service/context.h"
#include "service/errors.h"
#include "service/memory/memory_service.h"
#include "srv/protocol.h"

namespace {

namespace service = micro_nats::service;
namespace registry = micro_nats::registry;
using micro_nats::Message;
using micro_nats::fuzz::Everything;

// The answer the next call gets (the harness calls from one thread).
Message* const next_answer = new Message;

class NextAnswer : public service::RequestReply {
 public:
  absl::StatusOr<Message> Request(const std::string&, const Message&,
                                  absl::Time) override {
    return *next_answer;
  }
};

service::Client& TheClient() {
  static service::Client* const client = [] {
    auto network = service::NewMemoryNetwork();
    registry::Service instance{
        .name = "fuzz.service",
        .version = "1.0.0",
        .endpoints = {{.name = "Echo",
                       .metadata = {{micro_nats::srv::kSubjectMetadata,
                                     "fuzz.service.Echo"}}}},
        .nodes = {{.id = "fuzz-1",
                   .address = "",
                   .metadata = {{micro_nats::srv::kProtocolMetadata,
                                 micro_nats::srv::kNatsMicroProtocol}}}}};
    absl::Status registered =
        network->registry->Register(instance, registry::RegisterOptions{});
    FUZZ_CHECK(registered.ok(), registered.ToString());
    service::ClientOptions options;
    options.retries = 0;
    options.request_reply = std::make_shared<NextAnswer>();
    // Never destroyed: the harness calls until the process ends.
    absl::StatusOr<std::unique_ptr<service::Client>> created =
        service::Client::Create(
            std::move(options), network->registry, network->transport,
            micro_nats::broker::NewMemoryBroker({}, network->bus));
    FUZZ_CHECK(created.ok(), created.status().ToString());
    return created->release();
  }();
  return *client;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  service::Client& client = TheClient();
  const std::vector<absl::string_view> fields =
      micro_nats::fuzz::Fields(micro_nats::fuzz::AsView(data, size));
  Message answer;
  size_t i = 0;
  for (; i + 1 < fields.size(); i += 2) {
    answer.headers.emplace(std::string(fields[i]), std::string(fields[i + 1]));
  }
  if (i < fields.size()) answer.body = std::string(fields[i]);
  *next_answer = answer;

  Everything request;
  request.set_text("hello");
  absl::StatusOr<Everything> reply =
      client.Call<Everything, Everything>("fuzz.service", "Echo", request);
  const bool says_error =
      answer.headers.count(service::kErrorHeader) != 0 ||
      answer.headers.count(std::string(micro_nats::srv::kErrorHeader)) != 0;
  if (says_error) {
    FUZZ_CHECK(!reply.ok(), "an error answer read as OK");
  }
  if (!reply.ok()) {
    FUZZ_CHECK(reply.status().message().size() <= 2 * service::kMaxErrorDetail,
               absl::StrCat("an error of ", reply.status().message().size(),
                            " bytes"));
  }
  return 0;
}
