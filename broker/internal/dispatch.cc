// Copyright 2026 The micro-nats Authors.

#include "broker/internal/dispatch.h"

#include "absl/strings/str_cat.h"
#include "status/error_sink.h"
#include "status/guarded.h"

namespace micro_nats::broker::broker_internal {

absl::Status ValidateSubscription(absl::string_view topic,
                                  const SubscribeOptions& options,
                                  const Handler& handler) {
  if (absl::Status s = ValidateSubscribeTopic(topic); !s.ok()) return s;
  if (absl::Status s = ValidateQueueName(options.queue); !s.ok()) return s;
  if (!handler) return absl::InvalidArgumentError("handler is empty");
  return absl::OkStatus();
}

void ReportError(const BrokerOptions& options, const absl::Status& status) {
  micro_nats::ReportError(options.on_error, {"broker"}, status);
}

void Dispatch(const Handler& handler, const Event& event,
              const BrokerOptions& options) {
  absl::Status status;
  if (absl::Status thrown = Guarded([&] { status = handler(event); });
      !thrown.ok()) {
    status = absl::InternalError(
        absl::StrCat("handler threw an exception: ", thrown.message()));
  }
  if (!status.ok()) {
    ReportError(options,
                absl::Status(status.code(),
                             absl::StrCat("handler for topic '", event.topic,
                                          "': ", status.message())));
  }
}

}  // namespace micro_nats::broker::broker_internal
