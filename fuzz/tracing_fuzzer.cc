// Copyright 2026 The micro-nats Authors.
//
// W3C trace context headers as the tracing observer reads them from every
// request, message and event: traceparent must parse strictly or be refused
// with InvalidArgument, and a parsed one must format back to the same
// context; tracestate is cleaned within the spec's bounds and cleaning the
// result again changes nothing.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "tracing/tracer.h"

namespace tracing = micro_nats::tracing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view value = micro_nats::fuzz::AsView(data, size);

  if (auto context = tracing::ParseTraceparent(value); context.ok()) {
    FUZZ_CHECK(context->valid(), std::string(value));
    const std::string formatted = tracing::FormatTraceparent(*context);
    FUZZ_CHECK(formatted.size() == 55, formatted);
    auto again = tracing::ParseTraceparent(formatted);
    FUZZ_CHECK(again.ok(), again.status().ToString());
    FUZZ_CHECK(again->trace_id == context->trace_id &&
                   again->span_id == context->span_id &&
                   again->flags == context->flags,
               formatted);
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(context.status()),
               context.status().ToString());
  }

  int dropped = -1;
  const std::string state = tracing::ParseTracestate(value, &dropped);
  FUZZ_CHECK(dropped >= 0, "dropped not set");
  FUZZ_CHECK(state.size() <= 512, state);
  int dropped_again = -1;
  FUZZ_CHECK(tracing::ParseTracestate(state, &dropped_again) == state, state);
  FUZZ_CHECK(dropped_again == 0, state);
  return 0;
}
