// Copyright 2026 The micro-nats Authors.

#include "registry/nats/internal/gather.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "concurrency/wait.h"
#include "nats/message.h"
#include "status/status_macros.h"

namespace micro_nats::registry::registry_internal {
namespace {

// The answers to one query, as they arrive.
struct Answers {
  explicit Answers(AnswerJudge judge) : on_answer(std::move(judge)) {}

  void Add(natsMsg* msg) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    const absl::string_view body = nats::Body(msg);
    payloads.emplace_back(body);
    last = absl::Now();
    if (on_answer) {
      verdict = on_answer(body, nats::ReadHeaders(msg), last - sent);
      complete_at = verdict.complete_after == absl::InfiniteDuration()
                        ? absl::InfiniteFuture()
                        : last + verdict.complete_after;
    }
    cv.notify_all();
  }

  const AnswerJudge on_answer;  // called under mu
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> payloads;  // guarded by mu
  absl::Time sent;                    // guarded by mu
  absl::Time last;                    // guarded by mu
  // When the answers so far count as complete, unless another comes.
  absl::Time complete_at = absl::InfiniteFuture();  // guarded by mu
  Verdict verdict;                                  // guarded by mu
  bool closed = false;  // guarded by mu: the query returned, late answers go
};

}  // namespace

absl::StatusOr<GatherResult> Gather(
    nats::InboxMux& mux, const std::string& subject, absl::string_view body,
    const GatherRule& rule, absl::string_view what, AnswerJudge on_answer) {
  nats::Connection& conn = mux.connection();
  if (!conn.IsConnected()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": not connected to NATS (",
                     absl::StrJoin(conn.options().servers, ","), ")"));
  }
  auto answers = std::make_shared<Answers>(std::move(on_answer));
  const std::string inbox =
      mux.Register([answers](natsMsg* msg) { answers->Add(msg); });
  const absl::Time deadline = absl::Now() + rule.timeout;
  {
    std::lock_guard<std::mutex> lock(answers->mu);
    answers->sent = absl::Now();
  }
  absl::Status sent = conn.Publish(subject, body, {.reply = inbox});
  GatherResult result;
  if (sent.ok()) {
    std::unique_lock<std::mutex> lock(answers->mu);
    while (true) {
      const size_t count = answers->payloads.size();
      if (absl::Now() >= answers->complete_at) {
        result.complete = true;
        break;
      }
      if (rule.quorum > 0 && count >= static_cast<size_t>(rule.quorum)) break;
      absl::Time until = std::min(deadline, answers->complete_at);
      if (answers->verdict.more_expected) {
        until = std::min(until, answers->last + answers->verdict.patience);
      } else if (count > 0 && rule.idle_gap > absl::ZeroDuration()) {
        until = std::min(until, answers->last + rule.idle_gap);
      }
      if (absl::Now() >= until && until != answers->complete_at) break;
      concurrency::WaitUntil(answers->cv, lock, until,
                             [&] { return answers->payloads.size() != count; });
    }
    result.payloads = std::move(answers->payloads);
    answers->closed = true;
  }
  mux.Unregister(inbox);
  MN_RETURN_IF_ERROR(sent);
  if (result.payloads.empty() && !conn.IsConnected()) {
    // The connection dropped while we waited: "down", not "nobody".
    return absl::UnavailableError(
        absl::StrCat(what, ": lost the connection to NATS (",
                     absl::StrJoin(conn.options().servers, ","), ")"));
  }
  return result;
}

}  // namespace micro_nats::registry::registry_internal
