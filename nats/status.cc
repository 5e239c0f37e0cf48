// Copyright 2026 The micro-nats Authors.

#include "nats/status.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace micro_nats::nats {

absl::StatusCode ToStatusCode(natsStatus status) {
  switch (status) {
    case NATS_OK:
      return absl::StatusCode::kOk;
    case NATS_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_DRAINING:
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
    case NATS_MISSED_HEARTBEAT:
      return absl::StatusCode::kUnavailable;
    case NATS_CONNECTION_AUTH_FAILED:
      return absl::StatusCode::kUnauthenticated;
    case NATS_NOT_PERMITTED:
      return absl::StatusCode::kPermissionDenied;
    case NATS_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case NATS_ADDRESS_MISSING:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_INVALID_TIMEOUT:
    case NATS_INVALID_QUEUE_NAME:
    case NATS_MAX_PAYLOAD:
    case NATS_LINE_TOO_LONG:
      return absl::StatusCode::kInvalidArgument;
    case NATS_INVALID_SUBSCRIPTION:
    case NATS_ILLEGAL_STATE:
    case NATS_NOT_INITIALIZED:
    case NATS_MISMATCH:
      return absl::StatusCode::kFailedPrecondition;
    case NATS_SLOW_CONSUMER:
    case NATS_MAX_DELIVERED_MSGS:
    case NATS_INSUFFICIENT_BUFFER:
    case NATS_NO_MEMORY:
      return absl::StatusCode::kResourceExhausted;
    case NATS_NO_SERVER_SUPPORT:
      return absl::StatusCode::kUnimplemented;
    case NATS_PROTOCOL_ERROR:
    case NATS_SYS_ERROR:
    case NATS_FAILED_TO_INITIALIZE:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::Status FromNatsStatus(natsStatus status, absl::string_view context) {
  if (status == NATS_OK) return absl::OkStatus();
  const char* text = natsStatus_GetText(status);
  std::string message = absl::StrCat(context, ": ", text);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  // nats.c keeps the last error per thread; only add it when it is about
  // this status and says more than the bare text.
  if (detail != nullptr && last == status && std::strcmp(detail, text) != 0 &&
      *detail != '\0') {
    absl::StrAppend(&message, " (", detail, ")");
  }
  return absl::Status(ToStatusCode(status), message);
}

}  // namespace micro_nats::nats
