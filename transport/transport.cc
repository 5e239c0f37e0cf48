// Copyright 2026 The micro-nats Authors.

#include "transport/transport.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::transport {

size_t MessageSize(const Message& message) {
  size_t size = message.body.size();
  for (const auto& [name, value] : message.headers) {
    size += name.size() + value.size() + 4;  // "name: value\r\n"
  }
  return size;
}

absl::Status ValidateMessage(const Message& message, size_t max_bytes) {
  for (const auto& [name, value] : message.headers) {
    if (absl::StartsWithIgnoreCase(name, kReservedHeaderPrefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header '", name, "' is reserved for the transport (prefix '",
          kReservedHeaderPrefix, "')"));
    }
    if (name.empty() || name.find_first_of(": \t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid header name '", name, "'"));
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("header '", name, "' has a line break in its value"));
    }
  }
  if (const size_t size = MessageSize(message); size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", size, " bytes (body and headers) is over ",
                     "the limit of ", max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace micro_nats::transport
