// Copyright 2026 The micro-nats Authors.

#include "service/codec.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::service {
namespace {

class ProtobufCodec : public Codec {
 public:
  absl::string_view content_type() const override {
    return kProtobufContentType;
  }
  absl::StatusOr<std::string> Marshal(
      const google::protobuf::Message& message) const override {
    std::string out;
    if (!message.SerializeToString(&out)) {
      return absl::InternalError(
          absl::StrCat("cannot encode ", message.GetTypeName()));
    }
    return out;
  }
  absl::Status Unmarshal(absl::string_view data,
                         google::protobuf::Message* message) const override {
    if (!message->ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the body is not a valid ", message->GetTypeName(), " in ",
          kProtobufContentType, " (", data.size(), " bytes)"));
    }
    return absl::OkStatus();
  }
};

class JsonCodec : public Codec {
 public:
  explicit JsonCodec(JsonLimits limits) : limits_(limits) {}
  absl::string_view content_type() const override { return kJsonContentType; }
  absl::StatusOr<std::string> Marshal(
      const google::protobuf::Message& message) const override {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string out;
    auto status =
        google::protobuf::util::MessageToJsonString(message, &out, options);
    if (!status.ok()) {
      return absl::InternalError(absl::StrCat(
          "cannot encode ", message.GetTypeName(), " as JSON: ",
          std::string(status.message().data(), status.message().size())));
    }
    return out;
  }
  absl::Status Unmarshal(absl::string_view data,
                         google::protobuf::Message* message) const override {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    message->Clear();
    // An empty body is the empty message, as go-micro's codec reads it.
    if (absl::StripAsciiWhitespace(data).empty()) return absl::OkStatus();
    if (absl::Status checked = CheckJsonLimits(data, limits_); !checked.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the body is not a valid ", message->GetTypeName(),
                       " in ", kJsonContentType, ": ", checked.message()));
    }
    google::protobuf::util::Status status;
    try {
      status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(data.data(), data.size()), message,
          options);
    } catch (const google::protobuf::FatalException& e) {
      // protobuf 3.21 fails a CHECK on some bodies it should refuse (a
      // google.protobuf.Any of a well-known type with a field after its
      // "value"; the fuzz harness found it) and throws: a peer's body must
      // not end the process.
      message->Clear();
      return absl::InvalidArgumentError(
          absl::StrCat("the body is not a valid ", message->GetTypeName(),
                       " in ", kJsonContentType, ": ", e.message()));
    }
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the body is not a valid ", message->GetTypeName(), " in ",
          kJsonContentType, ": ",
          std::string(status.message().data(), status.message().size())));
    }
    return absl::OkStatus();
  }

 private:
  const JsonLimits limits_;
};

}  // namespace

absl::Status CheckJsonLimits(absl::string_view json, const JsonLimits& limits) {
  if (json.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the JSON is ", json.size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_bytes));
  }
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limits.max_depth) {
          return absl::InvalidArgumentError(
              absl::StrCat("the JSON nests deeper than ", limits.max_depth,
                           " levels (at byte ", i, ")"));
        }
        break;
      case ']':
      case '}':
        // Unbalanced input is the parser's to refuse.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<Codec> NewJsonCodec(JsonLimits limits) {
  return std::make_unique<JsonCodec>(limits);
}

absl::StatusOr<const Codec*> CodecFor(absl::string_view content_type) {
  static const ProtobufCodec* const protobuf = new ProtobufCodec;
  static const JsonCodec* const json = new JsonCodec(JsonLimits());
  // What our clients and servers send, found without normalizing (which
  // allocates) on every call.
  if (content_type.empty() || content_type == kProtobufContentType) {
    return protobuf;
  }
  if (content_type == kJsonContentType) return json;
  const std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';'))));
  if (type.empty() || type == kProtobufContentType ||
      type == "application/x-protobuf" || type == "application/proto") {
    return protobuf;
  }
  if (type == kJsonContentType) return json;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported Content-Type '", content_type.substr(0, 128),
                   "': this service reads ", kProtobufContentType, " and ",
                   kJsonContentType));
}

}  // namespace micro_nats::service
