// Copyright 2026 The micro-nats Authors.
//
// A request as a server reads it from any caller: its headers (the
// `Timeout` deadline, Content-Type, Micro-Id...) and its body, decoded by
// the codec its Content-Type names, served as a call through the transport
// or the NATS Service API is (ServedService::serve, server.h).
//
// The answer must be one a peer can read: an error as Micro-Error JSON that
// reads back as an error, or a body in the answer's Content-Type; and when
// the request's headers were valid, so are the answer's (it can be sent).
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
#include "message/message.h"
#include "service/codec.h"
#include "service/context.h"
#include "service/errors.h"
#include "service/memory/memory_service.h"
#include "service/server.h"

namespace {

namespace service = micro_nats::service;
using micro_nats::Message;
using micro_nats::fuzz::Everything;

// Keeps what the server gives its frontends: the way in to its endpoints.
class Capture : public service::Frontend {
 public:
  absl::Status Start(service::ServedService served) override {
    served_ = std::move(served);
    return absl::OkStatus();
  }
  absl::Status Stop(absl::Time) override { return absl::OkStatus(); }
  const service::ServedService& served() const { return served_; }

 private:
  service::ServedService served_;
};

const service::ServedService& Served() {
  static const service::ServedService* const served = [] {
    auto network = service::NewMemoryNetwork();
    auto capture = std::make_shared<Capture>();
    service::ServerOptions options{.identity = {.name = "fuzz.service"}};
    options.frontends.push_back(capture);
    // Never destroyed: the harness serves until the process ends.
    absl::StatusOr<std::unique_ptr<service::Server>> created =
        service::Server::Create(
            std::move(options), network->registry, network->transport,
            micro_nats::broker::NewMemoryBroker({}, network->bus));
    FUZZ_CHECK(created.ok(), created.status().ToString());
    service::Server* server = created->release();
    absl::Status handled = server->Handle<Everything, Everything>(
        "Echo",
        [](service::Context&, const Everything& request, Everything* response) {
          *response = request;
          return absl::OkStatus();
        });
    FUZZ_CHECK(handled.ok(), handled.ToString());
    absl::Status started = server->Start();
    FUZZ_CHECK(started.ok(), started.ToString());
    return &capture->served();
  }();
  return *served;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const service::ServedService& served = Served();
  const std::vector<absl::string_view> fields =
      micro_nats::fuzz::Fields(micro_nats::fuzz::AsView(data, size));
  Message request;
  size_t i = 0;
  for (; i + 1 < fields.size(); i += 2) {
    request.headers.emplace(std::string(fields[i]), std::string(fields[i + 1]));
  }
  if (i < fields.size()) request.body = std::string(fields[i]);

  Message response;
  const absl::Status status = served.serve("Echo", request, &response);

  auto error = response.headers.find(service::kErrorHeader);
  if (!status.ok() || error != response.headers.end()) {
    FUZZ_CHECK(error != response.headers.end(),
               absl::StrCat("an error answered without Micro-Error: ",
                            status.ToString()));
    FUZZ_CHECK(!service::ErrorFromJson(error->second).ok(), error->second);
  } else {
    // An answer without Content-Type is in the request's (client.h).
    std::string content_type;
    if (auto type = response.headers.find(service::kContentTypeHeader);
        type != response.headers.end()) {
      content_type = type->second;
    } else if (auto asked = request.headers.find(service::kContentTypeHeader);
               asked != request.headers.end()) {
      content_type = asked->second;
    }
    absl::StatusOr<const service::Codec*> codec =
        service::CodecFor(content_type);
    FUZZ_CHECK(codec.ok(), codec.status().ToString());
    Everything answer;
    const absl::Status read = (*codec)->Unmarshal(response.body, &answer);
    FUZZ_CHECK(read.ok(), read.ToString());
  }
  if (micro_nats::ValidateHeaders(request.headers).ok()) {
    const absl::Status sendable = micro_nats::ValidateHeaders(response.headers);
    FUZZ_CHECK(sendable.ok(), absl::StrCat("an answer that cannot be sent: ",
                                           sendable.ToString()));
  }
  return 0;
}
