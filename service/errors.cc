// Copyright 2026 The micro-nats Authors.

#include "service/errors.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/internal/wire.pb.h"
#include "text/utf8.h"

namespace micro_nats::service {
namespace {

struct Mapping {
  absl::StatusCode code;
  int http;
  const char* text;  // net/http's StatusText, as go-micro fills `status`
};

constexpr Mapping kMappings[] = {
    {absl::StatusCode::kInvalidArgument, 400, "Bad Request"},
    {absl::StatusCode::kUnauthenticated, 401, "Unauthorized"},
    {absl::StatusCode::kPermissionDenied, 403, "Forbidden"},
    {absl::StatusCode::kNotFound, 404, "Not Found"},
    {absl::StatusCode::kDeadlineExceeded, 408, "Request Timeout"},
    {absl::StatusCode::kAlreadyExists, 409, "Conflict"},
    {absl::StatusCode::kFailedPrecondition, 412, "Precondition Failed"},
    {absl::StatusCode::kResourceExhausted, 429, "Too Many Requests"},
    {absl::StatusCode::kCancelled, 499, "Client Closed Request"},
    {absl::StatusCode::kInternal, 500, "Internal Server Error"},
    {absl::StatusCode::kUnimplemented, 501, "Not Implemented"},
    {absl::StatusCode::kUnavailable, 503, "Service Unavailable"},
};

const Mapping& ForCode(absl::StatusCode code) {
  for (const Mapping& m : kMappings) {
    if (m.code == code) return m;
  }
  return kMappings[9];  // Internal
}

std::string Bounded(absl::string_view text) {
  return std::string(text.substr(0, kMaxErrorDetail));
}

// `text` with each byte that is not part of well-formed UTF-8 replaced by
// '?'. protobuf 3.21's JSON printer writes invalid UTF-8 as it is (and only
// logs): the JSON then fails to parse at the caller, whose error became
// Internal with the raw JSON as its text (found by
// //fuzz:service_errors_fuzzer).
std::string ValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  uint32_t code = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceAt(text, i, &code);
    if (length == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(text.data() + i, length);
      i += length;
    }
  }
  return out;
}

}  // namespace

int HttpCodeFor(absl::StatusCode code) { return ForCode(code).http; }

absl::StatusCode StatusCodeForHttp(int http_code) {
  for (const Mapping& m : kMappings) {
    if (m.http == http_code) return m.code;
  }
  if (http_code == 504) return absl::StatusCode::kDeadlineExceeded;
  return absl::StatusCode::kInternal;
}

std::string ErrorToJson(const absl::Status& status, absl::string_view id) {
  const Mapping& m = ForCode(status.code());
  wire::Error error;
  error.set_id(ValidUtf8(id));
  error.set_code(m.http);
  error.set_detail(ValidUtf8(Bounded(status.message())));
  error.set_status(m.text);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(error, &json, options)
           .ok()) {
    // Only invalid UTF-8 in the detail gets here.
    error.set_detail("(an error whose text is not UTF-8)");
    (void)google::protobuf::util::MessageToJsonString(error, &json, options);
  }
  return json;
}

absl::Status ErrorFromJson(absl::string_view json) {
  // A detail of kMaxErrorDetail control characters is 6 times that in JSON
  // (\u0001 each).
  if (json.size() > 8 * kMaxErrorDetail) {
    return absl::InternalError(absl::StrCat(
        "the server's error was ", json.size(), " bytes, too long to read"));
  }
  wire::Error error;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(json.data(), json.size()), &error,
           options)
           .ok()) {
    return absl::InternalError(Bounded(json));
  }
  if (error.code() == 0) {  // a peer that set only a detail
    return absl::InternalError(
        Bounded(error.detail().empty() ? json : error.detail()));
  }
  absl::StatusCode code = StatusCodeForHttp(error.code());
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kInternal;
  std::string detail = Bounded(error.detail());
  if (detail.empty()) detail = error.status();
  return absl::Status(code, detail);
}

}  // namespace micro_nats::service
