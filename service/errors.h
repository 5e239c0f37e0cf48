// Copyright 2026 The micro-nats Authors.
//
// errors.h: how a call's failure travels between client and server.
//
// A server answers a failed call with the header `Micro-Error` holding
// go-micro's error JSON, {"id", "code", "detail", "status"}, whose code is
// an HTTP status. This file is the one place that maps absl::Status to that
// JSON and back, so a go-micro peer and ours read each other's errors:
//
//   NotFound         <-> 404      InvalidArgument  <-> 400
//   DeadlineExceeded <-> 408      PermissionDenied <-> 403
//   Unauthenticated  <-> 401      AlreadyExists    <-> 409
//   ResourceExhausted<-> 429      FailedPrecondition <-> 412
//   Unimplemented    <-> 501      Unavailable      <-> 503
//   Cancelled        <-> 499      anything else    <-> 500 (Internal)

#ifndef MICRO_NATS_SERVICE_ERRORS_H_
#define MICRO_NATS_SERVICE_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace micro_nats::service {

// The HTTP status go-micro uses for `code`, and back.
int HttpCodeFor(absl::StatusCode code);
absl::StatusCode StatusCodeForHttp(int http_code);

// The Micro-Error JSON for `status` (not OK), from `id` (the service name).
std::string ErrorToJson(const absl::Status& status, absl::string_view id);

// The status a Micro-Error header says. A header that is not go-micro's
// JSON (a plain message, as some peers send) becomes Internal with that
// text; it is cut at kMaxErrorDetail bytes either way.
absl::Status ErrorFromJson(absl::string_view json);

inline constexpr size_t kMaxErrorDetail = 4096;

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_ERRORS_H_
