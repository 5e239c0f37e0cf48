// Copyright 2026 The micro-nats Authors.
//
// lookup.h: what the broadcast registries (registry/nats, registry/srv) do
// around a Gather, the same for both:
//
//   BadInput       what is dropped from the wire, told once and counted;
//   BadTally       the bad input of one lookup, told after it;
//   ReconnectStamp when the connection last came back;
//   GatherLookup   a Gather whose answers dropped unread are told (past the
//                  caps as bad input, past the deadline as late), and that
//                  says Unavailable, not "nothing", when no answer came
//                  shortly after a reconnect.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_LOOKUP_H_
#define MICRO_NATS_REGISTRY_INTERNAL_LOOKUP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nats/inbox_mux.h"
#include "registry/internal/gather.h"

namespace micro_nats::registry::registry_internal {

// BadInput
//
// Bad input from the wire, dropped: handed to `on_bad_input`, or told the
// error sink once (as `component`) and counted after. Thread-safe.
class BadInput {
 public:
  using Callback = std::function<void(const absl::Status& why, size_t count)>;

  BadInput(absl::string_view component, Callback on_bad_input)
      : component_(component), on_bad_input_(std::move(on_bad_input)) {}

  void Report(const absl::Status& status, size_t count = 1);
  // Answers dropped unread because they came too late: not bad input, but
  // what a lookup lost. The same callback, or told the sink once as what
  // they are (the first of these does not hide the first bad input).
  void ReportLate(const absl::Status& status, size_t count);

 private:
  void Tell(std::atomic<size_t>& counter, absl::string_view what,
            const absl::Status& status, size_t count);

  const std::string component_;
  const Callback on_bad_input_;
  std::atomic<size_t> count_{0};
  std::atomic<size_t> late_{0};
};

// BadTally
//
// The bad input of one lookup, gathered while its answers are judged and
// told (the first cause, and how many) once it is over. Not thread-safe.
class BadTally {
 public:
  void Add(absl::Status status, size_t count = 1) {
    if (count_ == 0) first_ = std::move(status);
    count_ += count;
  }
  // Tells `bad` what was added, if anything.
  void ReportTo(BadInput& bad) const {
    if (count_ > 0) bad.Report(first_, count_);
  }

 private:
  size_t count_ = 0;
  absl::Status first_;
};

// ReconnectStamp
//
// When the connection last came back; shared with the reconnect listener,
// which may run once more after its registry is gone. Thread-safe.
class ReconnectStamp {
 public:
  void Stamp() {
    at_ns_.store(absl::ToUnixNanos(absl::Now()), std::memory_order_relaxed);
  }
  // Came back less than `grace` ago.
  bool Within(absl::Duration grace) const {
    const int64_t at = at_ns_.load(std::memory_order_relaxed);
    return at != 0 && absl::Now() - absl::FromUnixNanos(at) < grace;
  }

 private:
  std::atomic<int64_t> at_ns_{0};  // 0: never lost
};

struct LookupRule {
  GatherRule gather;
  // No answer at all within this long after a reconnect is Unavailable:
  // the answerers' connections may not be back yet.
  absl::Duration reconnect_grace = absl::Seconds(5);
  // Names the lookup in messages ("registry lookup"), and who answers it
  // ("registrars").
  absl::string_view what;
  absl::string_view answerers;
};

// The rule of a registry whose options have `timeout`, `idle_gap`, `quorum`
// and `limits` as NatsRegistryOptions and SrvRegistryOptions do.
template <typename RegistryOptions>
LookupRule LookupRuleOf(const RegistryOptions& options, absl::string_view what,
                        absl::string_view answerers) {
  return {.gather = {.timeout = options.timeout,
                     .idle_gap = options.idle_gap,
                     .quorum = options.quorum,
                     .max_answers = options.limits.max_answers,
                     .max_bytes = options.limits.max_bytes},
          .reconnect_grace = options.limits.reconnect_grace,
          .what = what,
          .answerers = answerers};
}

// Gather (see gather.h), then: what `on_answer` added to `judged`, and the
// answers dropped unread (past the caps, and late ones as such), are told
// to `bad`; no answer at all while `reconnected` is within the grace is
// Unavailable.
absl::StatusOr<GatherResult> GatherLookup(
    nats::InboxMux& mux, const std::string& subject, absl::string_view body,
    const LookupRule& rule, const ReconnectStamp& reconnected,
    const AnswerJudge& on_answer, const BadTally& judged, BadInput& bad);

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_LOOKUP_H_
