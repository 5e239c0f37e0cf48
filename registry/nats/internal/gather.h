// Copyright 2026 The micro-nats Authors.
//
// gather.h: a broadcast query and its answers — publish with a reply inbox
// of our own, collect what comes back until the rule says enough.
//
// The rule both broadcast registries (registry/nats, go-micro's query;
// registry/srv, ADR-32's `$SRV.INFO`) follow: stop `idle_gap` after the
// last answer, or once `quorum` answers came, and never later than
// `timeout`.

#ifndef MICRO_NATS_REGISTRY_NATS_INTERNAL_GATHER_H_
#define MICRO_NATS_REGISTRY_NATS_INTERNAL_GATHER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nats/connection.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"

namespace micro_nats::registry::registry_internal {

struct GatherRule {
  absl::Duration timeout = absl::Milliseconds(100);
  absl::Duration idle_gap = absl::Milliseconds(10);  // zero: the timeout
  int quorum = 0;                                    // zero: none
};

struct GatherResult {
  std::vector<std::string> payloads;
  // True when `on_answer` said the answers were complete; false when the
  // rule's guess (idle gap, quorum, timeout) ended the query.
  bool complete = false;
};

// What a judge makes of the answers so far.
struct Verdict {
  // How much longer to wait for an answer that would change its mind
  // before the answers count as all there are: zero for "complete now",
  // InfiniteDuration for "not known".
  absl::Duration complete_after = absl::InfiniteDuration();
  // More answers are known to be on their way: the idle gap does not end
  // the query, `patience` after the last answer (and the timeout) do.
  bool more_expected = false;
  absl::Duration patience = absl::ZeroDuration();
};

// Called with each answer as it arrives, in order, one at a time, with the
// time since the query went out.
using AnswerJudge = std::function<Verdict(
    absl::string_view body, const Headers& headers, absl::Duration elapsed)>;

// Publishes `body` on `subject` with a reply inbox from `mux` and returns
// the answers' bodies, at once when `on_answer` (optional) says they are
// complete. Unavailable (naming the servers) when not connected, or when
// the connection dropped before any answer; `what` names the lookup in
// those messages.
absl::StatusOr<GatherResult> Gather(nats::InboxMux& mux,
                                    const std::string& subject,
                                    absl::string_view body,
                                    const GatherRule& rule,
                                    absl::string_view what,
                                    AnswerJudge on_answer = nullptr);

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_NATS_INTERNAL_GATHER_H_
