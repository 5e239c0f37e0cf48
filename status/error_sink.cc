// Copyright 2026 The micro-nats Authors.

#include "status/error_sink.h"

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace micro_nats {
namespace {

// At most one report per cause in this time.
constexpr absl::Duration kInterval = absl::Seconds(1);
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

// Moves what `cause` held back, due by `now`, to `out`.
void TakeTail(Cause& cause, absl::Time now, std::vector<ErrorReport>& out) {
  if (cause.held == 0 || now - cause.last < kInterval) return;
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

// Rate limits `report`; returns what is to be delivered now (it, and the
// tails of causes gone quiet).
std::vector<ErrorReport> Limit(const ErrorSource& source, ErrorReport report) {
  State& state = GetState();
  const absl::Time now = absl::Now();
  std::vector<ErrorReport> out;
  const std::string key = Key(source, report.status);
  std::lock_guard<std::mutex> lock(state.limit_mu);
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
  if (Admit(*cause, now, report)) out.push_back(std::move(report));
  return out;
}

std::shared_ptr<const ErrorSink> Exchange(
    std::shared_ptr<const ErrorSink> sink) {
  State& state = GetState();
  std::unique_lock<std::shared_mutex> sink_lock(state.sink_mu);
  std::swap(state.sink, sink);
  std::lock_guard<std::mutex> lock(state.limit_mu);
  state.causes.clear();
  state.overflow = Cause();
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
  std::vector<ErrorReport> due =
      Limit(source, ErrorReport{std::string(source.component),
                                std::string(source.instance), status});
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
