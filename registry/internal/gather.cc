// Copyright 2026 The micro-nats Authors.

#include "registry/internal/gather.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
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

// What may still be decoded just after the deadline (see late_grace), of
// answers that arrived before it.
constexpr size_t kLateBytes = 64 << 10;

struct Arrived {
  std::string body;
  Headers headers;
  absl::Time at;
};

// The answers to one query that arrived and were not yet judged. Filled on
// NATS's delivery thread, which only copies (within the caps) and wakes the
// caller.
struct Inbox {
  Inbox(size_t max_answers, size_t max_bytes)
      : max_answers(max_answers), max_bytes(max_bytes) {}

  void Add(natsMsg* msg) {
    const absl::Time at = absl::Now();
    const absl::string_view body = nats::Body(msg);
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    if (taken >= max_answers || bytes + body.size() > max_bytes) {
      ++dropped;
      return;
    }
    Headers headers = nats::ReadHeaders(msg);
    size_t size = body.size();
    for (const auto& [key, value] : headers) size += key.size() + value.size();
    if (bytes + size > max_bytes) {
      ++dropped;
      return;
    }
    bytes += size;
    ++taken;
    pending.push_back({std::string(body), std::move(headers), at});
    cv.notify_all();
  }

  const size_t max_answers;
  const size_t max_bytes;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Arrived> pending;  // guarded by mu
  size_t taken = 0;             // guarded by mu
  size_t bytes = 0;             // guarded by mu
  size_t dropped = 0;           // guarded by mu
  bool closed = false;  // guarded by mu: the query returned, late answers go
};

}  // namespace

absl::StatusOr<GatherResult> Gather(nats::InboxMux& mux,
                                    const std::string& subject,
                                    absl::string_view body,
                                    const GatherRule& rule,
                                    absl::string_view what,
                                    const AnswerJudge& on_answer) {
  nats::Connection& conn = mux.connection();
  if (!conn.IsConnected()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": not connected to NATS (",
                     absl::StrJoin(conn.options().servers, ","), ")"));
  }
  auto inbox = std::make_shared<Inbox>(rule.max_answers, rule.max_bytes);
  const std::string reply =
      mux.Register([inbox](natsMsg* msg) { inbox->Add(msg); });
  const absl::Time sent = absl::Now();
  const absl::Time deadline = sent + rule.timeout;
  absl::Status published = conn.Publish(subject, body, {.reply = reply});
  GatherResult result;
  if (published.ok()) {
    Verdict verdict;
    absl::Time last = absl::InfinitePast();  // the last answer's arrival
    absl::Time complete_at = absl::InfiniteFuture();
    std::deque<Arrived> batch;
    size_t late_bytes = 0;
    const absl::Duration late_grace = std::clamp(
        rule.timeout / 10, absl::Milliseconds(5), absl::Milliseconds(50));
    bool ended = false;  // the rule's time is up: judge what is in hand, stop
    bool deadline_ended = false;  // the deadline ended the query
    while (true) {
      // Judged here, one at a time, while the deadline allows. Just past
      // it (a slow wake-up must not lose them), answers that arrived in
      // time are still judged, smallest first, up to kLateBytes in all;
      // the rest (a flood's large answers) are dropped.
      for (; !batch.empty(); batch.pop_front()) {
        Arrived& answer = batch.front();
        const absl::Time now = absl::Now();
        if (now >= deadline) {
          ended = true;
          if (now >= deadline + late_grace ||
              late_bytes + answer.body.size() > kLateBytes) {
            result.late += batch.size();
            batch.clear();
            break;
          }
          if (answer.at >= deadline) {
            ++result.late;
            continue;
          }
          late_bytes += answer.body.size();
        }
        verdict = on_answer(answer.body, answer.headers, answer.at - sent);
        ++result.answers;
        last = std::max(last, answer.at);
        complete_at = verdict.complete_after == absl::InfiniteDuration()
                          ? absl::InfiniteFuture()
                          : last + verdict.complete_after;
      }
      const absl::Time now = absl::Now();
      if (now >= complete_at) {
        result.complete = true;
        break;
      }
      if (ended) {
        deadline_ended = now >= deadline;
        break;
      }
      if (rule.quorum > 0 &&
          result.answers >= static_cast<size_t>(rule.quorum)) {
        break;
      }
      absl::Time until = std::min(deadline, complete_at);
      if (verdict.more_expected) {
        until = std::min(until, last + verdict.patience);
      } else if (result.answers > 0 && rule.idle_gap > absl::ZeroDuration()) {
        until = std::min(until, last + rule.idle_gap);
      }
      std::unique_lock<std::mutex> lock(inbox->mu);
      concurrency::WaitUntil(inbox->cv, lock, until,
                             [&] { return !inbox->pending.empty(); });
      batch.swap(inbox->pending);
      // Small answers first: a flood of large ones (costly to decode) does
      // not use up the deadline before the ones in hand with them.
      std::stable_sort(batch.begin(), batch.end(),
                       [](const Arrived& a, const Arrived& b) {
                         return a.body.size() < b.body.size();
                       });
      // Answers that raced the end are judged, but do not extend it.
      ended = absl::Now() >= until;
    }
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->closed = true;
    // Answers that arrived while the last batch was judged were never
    // taken: dropped too when the deadline ended the query. When the
    // quorum, the judge or the idle gap did, they are spare: not needed.
    if (deadline_ended) result.late += inbox->pending.size();
    result.dropped += inbox->dropped + result.late;
  }
  mux.Unregister(reply);
  MN_RETURN_IF_ERROR(published);
  if (result.answers == 0 && result.dropped == 0 && !conn.IsConnected()) {
    // The connection dropped while we waited: "down", not "nobody".
    return absl::UnavailableError(
        absl::StrCat(what, ": lost the connection to NATS (",
                     absl::StrJoin(conn.options().servers, ","), ")"));
  }
  return result;
}

size_t Collected::Add(Service service) {
  size_t dropped = 0;
  if (service.endpoints.size() > max_endpoints_) {
    dropped += service.endpoints.size() - max_endpoints_;
    service.endpoints.resize(max_endpoints_);
  }
  auto [it, added] = nodes_of_.try_emplace(service.name, 0);
  const size_t room = max_nodes_ - std::min(it->second, max_nodes_);
  if (service.nodes.size() > room) {
    dropped += service.nodes.size() - room;
    service.nodes.resize(room);
  }
  it->second += service.nodes.size();
  // An answer whose every node was cut says nothing more.
  if (!service.nodes.empty() || room > 0)
    services_.push_back(std::move(service));
  return dropped;
}

}  // namespace micro_nats::registry::registry_internal
