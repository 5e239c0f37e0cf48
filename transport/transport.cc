// Copyright 2026 The micro-nats Authors.

#include "transport/transport.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::transport {

absl::Status ValidateMessage(const Message& message, size_t max_bytes) {
  for (const auto& [name, value] : message.headers) {
    if (absl::StartsWithIgnoreCase(name, kReservedHeaderPrefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header '", name, "' is reserved for the transport (prefix '",
          kReservedHeaderPrefix, "')"));
    }
  }
  if (absl::Status s = ValidateHeaders(message.headers); !s.ok()) return s;
  if (const size_t size = MessageSize(message); size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", size, " bytes (body and headers) is over ",
                     "the limit of ", max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace micro_nats::transport
