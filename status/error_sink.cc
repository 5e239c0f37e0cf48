// Copyright 2026 The micro-nats Authors.

#include "status/error_sink.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "concurrency/wait.h"

namespace micro_nats {
namespace {

// At most one report per cause in this time.
constexpr absl::Duration kInterval = absl::Seconds(1);
// How long exit waits for the flusher to leave a sink (a sink that blocks
// must not hang exit).
constexpr absl::Duration kExitWait = absl::Seconds(1);
// Causes tracked at once; beyond, the rest share one limit (a flood of
// distinct messages from the wire must not grow the table).
constexpr size_t kMaxCauses = 64;

struct Cause {
  absl::Time last;     // when one was last delivered
  int64_t held = 0;    // held back since
  ErrorReport latest;  // the last held back, told when the cause goes quiet
};

struct State {
  // Shared while a sink runs, so a replacement waits for reports on their
  // way to the sink it replaces.
  std::shared_mutex sink_mu;
  std::shared_ptr<const ErrorSink> sink;  // guarded by sink_mu; null: stderr

  std::mutex limit_mu;
  std::unordered_map<std::string, Cause> causes;  // guarded by limit_mu
  Cause overflow;                                 // guarded by limit_mu
  // The flusher: a thread that tells a held-back count when its cause's
  // interval is up, if no report does first. One per process, alive only
  // while a count is held. Not the Scheduler: it reports to here while
  // holding its own lock, so arming it from a report could deadlock.
  bool flusher = false;        // guarded by limit_mu: one is running
  bool flush_at_exit = false;  // guarded by limit_mu: atexit registered
  // Guarded by limit_mu: exit began; the flusher ends and starts no more,
  // and nothing more is held back.
  bool stopping = false;
  // With limit_mu: the causes changed, exit began, or the flusher ended.
  std::condition_variable flush_cv;
};

State& GetState() {
  static State* const state = new State;  // never destroyed: reports may
                                          // come from threads at exit
  return *state;
}

std::string Key(const ErrorSource& source, const absl::Status& status) {
  return absl::StrCat(source.component, std::string(1, '\0'), source.instance,
                      std::string(1, '\0'), static_cast<int>(status.code()),
                      ":", status.message());
}

// Moves what `cause` held back, due by `now` (or at all, when `all`), to
// `out`.
void TakeTail(Cause& cause, absl::Time now, std::vector<ErrorReport>& out,
              bool all = false) {
  if (cause.held == 0 || (!all && now - cause.last < kInterval)) return;
  cause.latest.suppressed = cause.held - 1;  // `latest` is one of them
  out.push_back(std::move(cause.latest));
  cause.latest = ErrorReport();
  cause.held = 0;
  cause.last = now;
}

// Whether a report of `cause` goes out now; else it is held back.
bool Admit(Cause& cause, absl::Time now, ErrorReport& report) {
  if (now - cause.last >= kInterval) {
    report.suppressed = cause.held;
    cause.held = 0;
    cause.latest = ErrorReport();
    cause.last = now;
    return true;
  }
  ++cause.held;
  cause.latest = std::move(report);
  return false;
}

// Every tail held in `state` (due by `now`, or all) (limit_mu held).
std::vector<ErrorReport> TakeTails(State& state, absl::Time now, bool all) {
  std::vector<ErrorReport> out;
  for (auto& [key, cause] : state.causes) TakeTail(cause, now, out, all);
  TakeTail(state.overflow, now, out, all);
  return out;
}

// When the first held tail is due; InfiniteFuture when none is held
// (limit_mu held).
absl::Time NextTail(const State& state) {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [key, cause] : state.causes) {
    if (cause.held > 0) next = std::min(next, cause.last + kInterval);
  }
  if (state.overflow.held > 0) {
    next = std::min(next, state.overflow.last + kInterval);
  }
  return next;
}

// Hands `due` to the process sink.
void Deliver(const std::vector<ErrorReport>& due) {
  if (due.empty()) return;
  State& state = GetState();
  std::shared_lock<std::shared_mutex> lock(state.sink_mu);
  for (const ErrorReport& report : due) {
    if (state.sink != nullptr) {
      (*state.sink)(report);
    } else {
      WriteErrorToStderr(report);
    }
  }
}

// The flusher's thread: waits for the first held tail's time, tells what is
// due, and ends once nothing is held, or at exit (which tells the rest).
void Flush() {
  State& state = GetState();
  std::unique_lock<std::mutex> lock(state.limit_mu);
  while (!state.stopping) {
    const absl::Time next = NextTail(state);
    if (next == absl::InfiniteFuture()) break;
    // Bounded by kInterval; woken early when the sink is replaced or at exit.
    concurrency::WaitUntil(state.flush_cv, lock, next, [&] {
      return state.stopping || NextTail(state) != next;
    });
    const absl::Time now = absl::Now();
    if (state.stopping || now < NextTail(state)) continue;
    std::vector<ErrorReport> out = TakeTails(state, now, /*all=*/false);
    lock.unlock();
    Deliver(out);
    lock.lock();
  }
  state.flusher = false;
  state.flush_cv.notify_all();  // FlushAtExit may wait for this
}

// At exit: whatever is still held, due or not, so a burst just before exit
// is counted. The flusher is stopped first and waited for (it may be in a
// sink, with an older tail of a cause), so each tail goes out once and in
// order; a sink that blocks holds exit up only kExitWait.
void FlushAtExit() {
  State& state = GetState();
  std::vector<ErrorReport> out;
  {
    std::unique_lock<std::mutex> lock(state.limit_mu);
    state.stopping = true;
    state.flush_cv.notify_all();
    concurrency::WaitFor(state.flush_cv, lock, kExitWait,
                         [&] { return !state.flusher; });
    out = TakeTails(state, absl::Now(), /*all=*/true);
  }
  Deliver(out);
}

// Starts the flusher unless one runs (limit_mu held). Without a thread (none
// can start), the next report of any cause tells the tail, a sink swap or
// exit at the latest.
void EnsureFlusher(State& state) {
  if (!state.flush_at_exit) {
    state.flush_at_exit = true;
    std::atexit(FlushAtExit);
  }
  if (state.flusher || state.stopping) return;
  try {
    std::thread(Flush).detach();  // State is never destroyed
    state.flusher = true;
  } catch (const std::system_error&) {
  }
}

// Rate limits `report`; returns what is to be delivered now (it, and the
// tails of causes gone quiet).
std::vector<ErrorReport> Limit(const ErrorSource& source, ErrorReport report) {
  State& state = GetState();
  const absl::Time now = absl::Now();
  std::vector<ErrorReport> out;
  const std::string key = Key(source, report.status);
  std::lock_guard<std::mutex> lock(state.limit_mu);
  if (state.stopping) {
    // Exiting: nothing would tell a count held back now.
    out.push_back(std::move(report));
    return out;
  }
  for (auto it = state.causes.begin(); it != state.causes.end();) {
    if (it->first != key) TakeTail(it->second, now, out);
    // Quiet for a while and nothing held: forgotten (a new one goes out).
    if (it->first != key && it->second.held == 0 &&
        now - it->second.last >= kInterval) {
      it = state.causes.erase(it);
    } else {
      ++it;
    }
  }
  TakeTail(state.overflow, now, out);
  auto it = state.causes.find(key);
  Cause* cause = nullptr;
  if (it != state.causes.end()) {
    cause = &it->second;
  } else if (state.causes.size() < kMaxCauses) {
    cause = &state.causes[key];
    cause->last = absl::InfinitePast();
  } else {
    cause = &state.overflow;
  }
  if (Admit(*cause, now, report)) {
    out.push_back(std::move(report));
  } else {
    EnsureFlusher(state);
  }
  return out;
}

// Installs `sink`; returns the one replaced. What that one's reports held
// back goes to it, due or not: it is its last chance. That is after the
// swap and outside sink_mu: a sink that reports from there would take
// sink_mu again on this thread, and other reporters need not wait for it.
std::shared_ptr<const ErrorSink> Exchange(
    std::shared_ptr<const ErrorSink> sink) {
  State& state = GetState();
  std::vector<ErrorReport> held;
  {
    // Exclusive: waits for the reports on their way to the sink replaced.
    std::unique_lock<std::shared_mutex> sink_lock(state.sink_mu);
    {
      std::lock_guard<std::mutex> lock(state.limit_mu);
      held = TakeTails(state, absl::Now(), /*all=*/true);
      state.causes.clear();
      state.overflow = Cause();
      state.flush_cv.notify_all();  // the flusher: nothing held now
    }
    std::swap(state.sink, sink);
  }
  for (const ErrorReport& report : held) {
    if (sink != nullptr) {
      (*sink)(report);
    } else {
      WriteErrorToStderr(report);
    }
  }
  return sink;
}

// What came from outside may hold anything: control bytes are escaped.
void AppendEscaped(std::string& out, absl::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\\') {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

void ReportError(const ErrorSource& source, const absl::Status& status) {
  if (status.ok()) return;
  Deliver(Limit(source, ErrorReport{std::string(source.component),
                                    std::string(source.instance), status}));
}

void ReportError(const ErrorHook& hook, const ErrorSource& source,
                 const absl::Status& status) {
  if (hook) {
    hook(status);
  } else {
    ReportError(source, status);
  }
}

void SetErrorSink(ErrorSink sink) {
  Exchange(sink ? std::make_shared<const ErrorSink>(std::move(sink)) : nullptr);
}

std::string FormatErrorReport(const ErrorReport& report) {
  std::string line = "micro-nats ";
  AppendEscaped(line, report.component);
  if (!report.instance.empty()) {
    line += "(";
    AppendEscaped(line, report.instance);
    line += ")";
  }
  line += ": ";
  AppendEscaped(line, report.status.ToString());
  if (report.suppressed > 0) {
    absl::StrAppend(&line, " (", report.suppressed, " more like it held back)");
  }
  return line;
}

void WriteErrorToStderr(const ErrorReport& report) {
  std::fprintf(stderr, "%s\n", FormatErrorReport(report).c_str());
}

ScopedErrorSink::ScopedErrorSink(ErrorSink sink)
    : previous_(Exchange(std::make_shared<const ErrorSink>(std::move(sink)))) {}

ScopedErrorSink::~ScopedErrorSink() { Exchange(std::move(previous_)); }

}  // namespace micro_nats
