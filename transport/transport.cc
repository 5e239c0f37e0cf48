// Copyright 2026 The micro-nats Authors.

#include "transport/transport.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::transport {
namespace {
constexpr absl::string_view kNotDeliveredValue = "not-delivered";
constexpr absl::string_view kMaybeDeliveredValue = "maybe-delivered";
}  // namespace

Delivery DeliveryOf(const absl::Status& failure) {
  absl::optional<absl::Cord> payload = failure.GetPayload(kDeliveryPayload);
  if (!payload.has_value()) return Delivery::kUnknown;
  if (*payload == kNotDeliveredValue) return Delivery::kNotDelivered;
  if (*payload == kMaybeDeliveredValue) return Delivery::kMaybeDelivered;
  return Delivery::kUnknown;
}

absl::Status WithDelivery(absl::Status status, Delivery delivery) {
  if (status.ok() || delivery == Delivery::kUnknown) return status;
  // A Cord this short is held inline: nothing shared between the copies
  // of the status (see socket_core.cc's Unshared).
  status.SetPayload(
      kDeliveryPayload,
      absl::Cord(delivery == Delivery::kNotDelivered ? kNotDeliveredValue
                                                     : kMaybeDeliveredValue));
  return status;
}

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
