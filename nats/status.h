// Copyright 2026 The micro-nats Authors.
//
// status.h: the one place that maps nats.c's natsStatus to absl::Status.
//
//   natsStatus s = natsConnection_Publish(conn, subject, data, len);
//   MN_RETURN_IF_ERROR(FromNatsStatus(s, "publish to orders.new"));

#ifndef MICRO_NATS_NATS_STATUS_H_
#define MICRO_NATS_NATS_STATUS_H_

#include <nats/nats.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace micro_nats::nats {

// Returns the absl code for `status`: unreachable servers, closed
// connections and "no responders" are Unavailable; timeouts are
// DeadlineExceeded; bad subjects, arguments and oversized payloads are
// InvalidArgument; slow consumers are ResourceExhausted.
absl::StatusCode ToStatusCode(natsStatus status);

// Returns OK for NATS_OK, otherwise a Status with the mapped code and the
// message "<context>: <nats.c text>", plus nats.c's last error detail when
// it adds anything.
absl::Status FromNatsStatus(natsStatus status, absl::string_view context);

}  // namespace micro_nats::nats

#endif  // MICRO_NATS_NATS_STATUS_H_
