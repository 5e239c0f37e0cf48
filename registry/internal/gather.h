// Copyright 2026 The micro-nats Authors.
//
// gather.h: a broadcast query and its answers — publish with a reply inbox
// of our own, collect what comes back until the rule says enough.
//
// The rule both broadcast registries (registry/nats, go-micro's query;
// registry/srv, ADR-32's `$SRV.INFO`) follow: stop `idle_gap` after the
// last answer, or once `quorum` answers came, and never later than
// `timeout`.
//
// Anyone on the NATS account can answer, so what an answer may cost is
// bounded: NATS's delivery thread only copies an answer into the query's
// queue (at most `max_answers` of them, `max_bytes` in all; the rest are
// dropped and counted), and the caller's thread decodes them, one at a time
// as they arrive, until the query's deadline.

#ifndef MICRO_NATS_REGISTRY_INTERNAL_GATHER_H_
#define MICRO_NATS_REGISTRY_INTERNAL_GATHER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nats/connection.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "registry/registry.h"

namespace micro_nats::registry::registry_internal {

struct GatherRule {
  absl::Duration timeout = absl::Milliseconds(100);
  absl::Duration idle_gap = absl::Milliseconds(10);  // zero: the timeout
  int quorum = 0;                                    // zero: none
  // Answers taken in per query, and their bytes (bodies and headers) in
  // all; past either, answers are dropped unread.
  size_t max_answers = 1024;
  size_t max_bytes = 8 << 20;
};

struct GatherResult {
  size_t answers = 0;  // handed to the judge
  // Dropped unread: past max_answers or max_bytes, or `late`.
  size_t dropped = 0;
  // Of those, the ones the deadline cut: arrived after it, or still waiting
  // (or past the bytes judged just after it) when it ended the query. Not
  // answers still waiting when the quorum, the judge or the idle gap ended
  // it: those were not needed.
  size_t late = 0;
  // True when the judge said the answers were complete; false when the
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

// Called with each answer, one at a time, on the thread that called Gather
// (never on NATS's delivery thread), with the time from the query to the
// answer's arrival; of the answers in hand together, the smallest first.
// It decodes and keeps what it needs.
using AnswerJudge = std::function<Verdict(
    absl::string_view body, const Headers& headers, absl::Duration elapsed)>;

// Publishes `body` on `subject` with a reply inbox from `mux` and hands
// each answer to `on_answer` until the rule, or the judge, ends the query.
// Unavailable (naming the servers) when not connected, or when the
// connection dropped before any answer; `what` names the lookup in those
// messages.
absl::StatusOr<GatherResult> Gather(nats::InboxMux& mux,
                                    const std::string& subject,
                                    absl::string_view body,
                                    const GatherRule& rule,
                                    absl::string_view what,
                                    const AnswerJudge& on_answer);

// What a lookup keeps of its decoded answers: at most `max_nodes` nodes of
// a service (all its versions, counted as they come, repeats included) and
// `max_endpoints` endpoints of an answer; the rest are dropped and counted.
class Collected {
 public:
  Collected(size_t max_nodes, size_t max_endpoints)
      : max_nodes_(max_nodes), max_endpoints_(max_endpoints) {}

  // Returns how many nodes and endpoints of `service` were dropped.
  size_t Add(Service service);
  std::vector<Service>& services() { return services_; }

 private:
  const size_t max_nodes_;
  const size_t max_endpoints_;
  std::map<std::string, size_t, std::less<>> nodes_of_;
  std::vector<Service> services_;
};

}  // namespace micro_nats::registry::registry_internal

#endif  // MICRO_NATS_REGISTRY_INTERNAL_GATHER_H_
