// Copyright 2026 The micro-nats Authors.

#include "transport/transport.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::transport {

absl::Status ValidateMessage(const Message& message, size_t max_bytes) {
  // Every message sent is checked: one pass over the headers when all is
  // well; the error, if any, is worked out after in the order below.
  size_t size = message.body.size();
  bool valid = true;
  for (const auto& [name, value] : message.headers) {
    valid &= !absl::StartsWithIgnoreCase(name, kReservedHeaderPrefix) &&
             ValidateHeaderName(name).ok() &&
             ValidateHeaderValue(name, value).ok();
    size += name.size() + value.size() + 4;  // as MessageSize
  }
  if (valid && size <= max_bytes) return absl::OkStatus();
  for (const auto& [name, value] : message.headers) {
    if (absl::StartsWithIgnoreCase(name, kReservedHeaderPrefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header '", name, "' is reserved for the transport (prefix '",
          kReservedHeaderPrefix, "')"));
    }
  }
  if (absl::Status s = ValidateHeaders(message.headers); !s.ok()) return s;
  return absl::InvalidArgumentError(
      absl::StrCat("message of ", size, " bytes (body and headers) is over ",
                   "the limit of ", max_bytes, " bytes"));
}

}  // namespace micro_nats::transport
