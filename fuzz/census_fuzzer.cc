// Copyright 2026 The micro-nats Authors.
//
// Census hints as the NATS registry reads them from a lookup's answers
// (`Micro-Nats-Census: <count> <hash> <sender>`), and the watch events
// that feed a process's own census.
//
// Input: fields separated by 0xFF (fuzz_input.h). The first is a hint
// header value; a hint that parses must format and parse back to itself.
// Each further field is a watch event's JSON, applied (when it decodes) to
// a small census that is then asked for its hints, as a registrar does.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz/fuzz_input.h"
#include "registry/nats/internal/census.h"
#include "registry/nats/internal/codec.h"

namespace {

namespace internal = micro_nats::registry::registry_internal;
using micro_nats::registry::Event;
using micro_nats::registry::EventType;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<absl::string_view> fields =
      micro_nats::fuzz::Fields(micro_nats::fuzz::AsView(data, size));

  if (auto hint = internal::ParseHint(fields[0])) {
    FUZZ_CHECK(hint->hint.count >= 1, "a hint of no nodes parsed");
    const std::string text = internal::FormatHint(hint->hint, hint->sender);
    auto again = internal::ParseHint(text);
    FUZZ_CHECK(again.has_value(), text);
    FUZZ_CHECK(again->hint == hint->hint && again->sender == hint->sender,
               text);
  }

  // A census that is past its warmup at once, and holds few nodes, so
  // that both its overflow and its expiry are reached.
  const absl::Time start = absl::UnixEpoch();
  internal::Census census(absl::ZeroDuration(), absl::Seconds(10), start,
                          /*max_nodes=*/8);
  absl::Time now = start;
  for (size_t i = 1; i < fields.size(); ++i) {
    now += absl::Seconds(1);
    absl::StatusOr<internal::Result> result = internal::DecodeResult(fields[i]);
    if (!result.ok()) continue;
    EventType type = EventType::kCreate;
    if (result->action == "update") type = EventType::kUpdate;
    if (result->action == "delete") type = EventType::kDelete;
    census.Apply(Event{type, result->service}, now);
    if (auto hint = census.Hint(result->service.name, now)) {
      FUZZ_CHECK(hint->count >= 0, "a negative count");
      FUZZ_CHECK(
          internal::ParseHint(internal::FormatHint(*hint, "me")).has_value() ||
              hint->count == 0,
          "a census hint that does not parse");
    }
  }
  return 0;
}
