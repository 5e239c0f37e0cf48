// Copyright 2026 The micro-nats Authors.

#include "registry/nats/internal/codec.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "registry/nats/internal/wire.pb.h"

namespace micro_nats::registry::registry_internal {
namespace {

namespace pbutil = ::google::protobuf::util;

void ToWire(const Value& in, wire::Value* out) {
  out->set_name(in.name);
  out->set_type(in.type);
  for (const Value& v : in.values) ToWire(v, out->add_values());
}

Value FromWire(const wire::Value& in) {
  Value out{.name = in.name(), .type = in.type()};
  for (const wire::Value& v : in.values()) out.values.push_back(FromWire(v));
  return out;
}

template <typename Map>
Metadata FromWireMap(const Map& in) {
  return Metadata(in.begin(), in.end());
}

void ToWire(const Service& in, wire::Service* out) {
  out->set_name(in.name);
  out->set_version(in.version);
  out->mutable_metadata()->insert(in.metadata.begin(), in.metadata.end());
  for (const Endpoint& e : in.endpoints) {
    wire::Endpoint* endpoint = out->add_endpoints();
    endpoint->set_name(e.name);
    if (e.request) ToWire(*e.request, endpoint->mutable_request());
    if (e.response) ToWire(*e.response, endpoint->mutable_response());
    endpoint->mutable_metadata()->insert(e.metadata.begin(), e.metadata.end());
  }
  for (const Node& n : in.nodes) {
    wire::Node* node = out->add_nodes();
    node->set_id(n.id);
    node->set_address(n.address);
    node->mutable_metadata()->insert(n.metadata.begin(), n.metadata.end());
  }
}

Service FromWire(const wire::Service& in, size_t max_endpoints = SIZE_MAX,
                 size_t max_nodes = SIZE_MAX, size_t* dropped = nullptr) {
  Service out{.name = in.name(),
              .version = in.version(),
              .metadata = FromWireMap(in.metadata())};
  const size_t endpoints =
      std::min(static_cast<size_t>(in.endpoints_size()), max_endpoints);
  const size_t nodes =
      std::min(static_cast<size_t>(in.nodes_size()), max_nodes);
  if (dropped != nullptr) {
    *dropped += (in.endpoints_size() - endpoints) + (in.nodes_size() - nodes);
  }
  for (const wire::Endpoint& e : in.endpoints()) {
    if (out.endpoints.size() == endpoints) break;
    Endpoint endpoint{.name = e.name(), .metadata = FromWireMap(e.metadata())};
    if (e.has_request()) endpoint.request = FromWire(e.request());
    if (e.has_response()) endpoint.response = FromWire(e.response());
    out.endpoints.push_back(std::move(endpoint));
  }
  for (const wire::Node& n : in.nodes()) {
    if (out.nodes.size() == nodes) break;
    out.nodes.push_back(Node{.id = n.id(),
                             .address = n.address(),
                             .metadata = FromWireMap(n.metadata())});
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  pbutil::JsonPrintOptions options;
  // go-micro writes every field; so do we (empty lists as [], maps as {}).
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string json;
  // Serialising our own well-formed message cannot fail.
  (void)pbutil::MessageToJsonString(message, &json, options);
  return json;
}

absl::Status FromJson(absl::string_view json,
                      google::protobuf::Message* message,
                      absl::string_view what) {
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // e.g. go-micro's "Timestamp"
  auto status = pbutil::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed registry ", what, " JSON: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeService(const Service& service) {
  wire::Service out;
  ToWire(service, &out);
  return ToJson(out);
}

absl::StatusOr<Service> DecodeService(absl::string_view json,
                                      size_t max_endpoints, size_t max_nodes,
                                      size_t* dropped) {
  wire::Service in;
  if (auto s = FromJson(json, &in, "service"); !s.ok()) return s;
  return FromWire(in, max_endpoints, max_nodes, dropped);
}

std::string EncodeResult(const Result& result) {
  wire::Result out;
  out.set_action(result.action);
  ToWire(result.service, out.mutable_service());
  return ToJson(out);
}

absl::StatusOr<Result> DecodeResult(absl::string_view json) {
  wire::Result in;
  if (auto s = FromJson(json, &in, "result"); !s.ok()) return s;
  return Result{in.action(), FromWire(in.service())};
}

}  // namespace micro_nats::registry::registry_internal
