// Copyright 2026 The micro-nats Authors.

#include "registry/internal/lookup.h"

#include "absl/strings/str_cat.h"
#include "status/error_sink.h"
#include "status/status_macros.h"

namespace micro_nats::registry::registry_internal {

void BadInput::Report(const absl::Status& status, size_t count) {
  Tell(count_, "dropped bad input from NATS: ", status, count);
}

void BadInput::ReportLate(const absl::Status& status, size_t count) {
  Tell(late_, "dropped late answers from NATS: ", status, count);
}

void BadInput::Tell(std::atomic<size_t>& counter, absl::string_view what,
                    const absl::Status& status, size_t count) {
  const size_t before = counter.fetch_add(count);
  if (on_bad_input_) {
    on_bad_input_(status, count);
    return;
  }
  if (before == 0) {
    ReportError({component_},
                absl::Status(status.code(),
                             absl::StrCat(what, status.message(),
                                          " (reported once; later ones are "
                                          "counted)")));
  }
}

absl::StatusOr<GatherResult> GatherLookup(
    nats::InboxMux& mux, const std::string& subject, absl::string_view body,
    const LookupRule& rule, const ReconnectStamp& reconnected,
    const AnswerJudge& on_answer, const BadTally& judged, BadInput& bad) {
  MN_ASSIGN_OR_RETURN(
      GatherResult gathered,
      Gather(mux, subject, body, rule.gather, rule.what, on_answer));
  judged.ReportTo(bad);
  if (const size_t over = gathered.dropped - gathered.late; over > 0) {
    bad.Report(
        absl::ResourceExhaustedError(absl::StrCat(
            "a ", rule.what, "'s answers over ", rule.gather.max_answers,
            " answers or ", rule.gather.max_bytes, " bytes: dropped unread")),
        over);
  }
  if (gathered.late > 0) {
    bad.ReportLate(absl::DeadlineExceededError(absl::StrCat(
                       "a ", rule.what, "'s answers that came after its ",
                       absl::FormatDuration(rule.gather.timeout),
                       " deadline, or were still waiting when it passed: "
                       "dropped unread")),
                   gathered.late);
  }
  if (gathered.answers == 0 && gathered.dropped == 0 &&
      reconnected.Within(rule.reconnect_grace)) {
    return absl::UnavailableError(absl::StrCat(
        rule.what,
        ": no answer, and this process reconnected to NATS less than ",
        absl::FormatDuration(rule.reconnect_grace), " ago (", rule.answerers,
        " may not have resubscribed yet)"));
  }
  return gathered;
}

}  // namespace micro_nats::registry::registry_internal
