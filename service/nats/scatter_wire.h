// Copyright 2026 The micro-nats Authors.
//
// scatter_wire.h: scatter-gather (service/scatter.h) on NATS.
//
// A request is one publish on "<subject_prefix>.<service>", to which every
// instance of the service subscribes without a queue group (on nats.c's
// delivery thread, which only hands the request to the scatter frontend's
// pool); its answers come back on one inbox of an InboxMux the wire opens
// on first use. NewNatsService wires it in.
//
//   MN_ASSIGN_OR_RETURN(std::shared_ptr<ScatterWire> wire,
//                       NewNatsScatterWire(connection));

#ifndef MICRO_NATS_SERVICE_NATS_SCATTER_WIRE_H_
#define MICRO_NATS_SERVICE_NATS_SCATTER_WIRE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nats/connection.h"
#include "service/scatter.h"

namespace micro_nats::service {

struct NatsScatterOptions {
  std::string subject_prefix = kDefaultScatterPrefix;
  // Failures nobody else hears of (a request without a reply subject,
  // requests NATS dropped). Unset: the process error sink
  // (status/error_sink.h) as "service/nats/scatter".
  std::function<void(const absl::Status&)> on_error;
};

// InvalidArgument for a null connection or a prefix that is not a
// concrete subject.
absl::StatusOr<std::shared_ptr<ScatterWire>> NewNatsScatterWire(
    std::shared_ptr<nats::Connection> connection,
    NatsScatterOptions options = {});

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_NATS_SCATTER_WIRE_H_
