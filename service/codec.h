// Copyright 2026 The micro-nats Authors.
//
// codec.h: protobuf messages to bytes and back, chosen by Content-Type.
//
// A request says how its body is encoded with `Content-Type`; the server
// decodes it with the matching codec and answers in the same one.
//   - application/protobuf (also application/x-protobuf, application/proto):
//     the protobuf binary format;
//   - application/json: protobuf's JSON mapping (proto field names on
//     output, either name and unknown fields accepted on input), what
//     go-micro's JSON codec and `micro call` send.
// Parameters (`; charset=utf-8`) are ignored.
//
// A JSON body is checked for size and nesting depth (JsonLimits) before
// protobuf's parser sees it: protobuf 3.21's parser is quadratic in the
// nesting depth of google.protobuf.Value/Struct (20 KB of `[` took 9.7 s).
//
//   MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor("application/json"));
//   MN_ASSIGN_OR_RETURN(std::string body, codec->Marshal(reply));

#ifndef MICRO_NATS_SERVICE_CODEC_H_
#define MICRO_NATS_SERVICE_CODEC_H_

#include <google/protobuf/message.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace micro_nats::service {

inline constexpr char kProtobufContentType[] = "application/protobuf";
inline constexpr char kJsonContentType[] = "application/json";

// Codec
//
// Thread-safe and stateless.
class Codec {
 public:
  virtual ~Codec() = default;
  // The canonical Content-Type this codec writes.
  virtual absl::string_view content_type() const = 0;
  // Internal only when the message cannot be written (JSON of invalid
  // UTF-8 strings).
  virtual absl::StatusOr<std::string> Marshal(
      const google::protobuf::Message& message) const = 0;
  // Replaces `*message` with what `data` holds. InvalidArgument, naming the
  // type and why, when `data` is not a valid encoding of it.
  virtual absl::Status Unmarshal(absl::string_view data,
                                 google::protobuf::Message* message) const = 0;
};

// Bounds on a JSON body, checked by a linear pre-scan.
struct JsonLimits {
  size_t max_bytes = 4 << 20;
  // `[` and `{` open at once, outside strings. Protobuf refuses deeper
  // google.protobuf.Value trees (about 50 levels) anyway, but only after
  // parsing them.
  int max_depth = 64;
};

// OK when `json` has at most limits.max_bytes bytes and nests `[`/`{` at
// most limits.max_depth deep (counted outside strings, escapes honoured);
// InvalidArgument saying which bound it broke. It does not check that
// `json` is valid JSON. One pass, no allocation: safe on any input (the
// fuzz harness calls it directly).
absl::Status CheckJsonLimits(absl::string_view json,
                             const JsonLimits& limits = {});

// A JSON codec with other limits than CodecFor's (the defaults).
std::unique_ptr<Codec> NewJsonCodec(JsonLimits limits);

// The codec for `content_type`; InvalidArgument naming it and the types
// supported when there is none. An empty type is protobuf (go-micro's
// default).
absl::StatusOr<const Codec*> CodecFor(absl::string_view content_type);

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_CODEC_H_
