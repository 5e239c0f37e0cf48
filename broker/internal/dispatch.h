// Copyright 2026 The micro-nats Authors.
//
// dispatch.h: calling a broker handler the way every backend must: an error
// or an exception is reported, never propagated, and delivery goes on.

#ifndef MICRO_NATS_BROKER_INTERNAL_DISPATCH_H_
#define MICRO_NATS_BROKER_INTERNAL_DISPATCH_H_

#include "broker/broker.h"

namespace micro_nats::broker::broker_internal {

// Calls `handler(event)`; reports a non-OK status or a thrown exception
// through ReportError.
void Dispatch(const Handler& handler, const Event& event,
              const BrokerOptions& options);

// Checks Subscribe's arguments: topic, queue name, a non-empty handler.
absl::Status ValidateSubscription(absl::string_view topic,
                                  const SubscribeOptions& options,
                                  const Handler& handler);

// Sends `status` to options.on_error, or to the error sink when unset.
void ReportError(const BrokerOptions& options, const absl::Status& status);

}  // namespace micro_nats::broker::broker_internal

#endif  // MICRO_NATS_BROKER_INTERNAL_DISPATCH_H_
