// Copyright 2026 The micro-nats Authors.
//
// error_sink.h: where an error goes that no caller is waiting for.
//
// A handler that fails on a pool thread, a socket refused because the
// listener is full, bad input dropped from the wire: no call returns these,
// so they are reported. Every block reports through here, naming itself
// (the component, and the instance when there are several: a service's
// name). A block whose options hold an `on_error` hook hands the status to
// that hook when it is set, and to the process sink when it is not.
//
// The process sink writes one line to stderr; a program or test replaces
// it. Before the process sink, reports are rate limited per cause (the same
// reporter, code and message), as drops are (concurrency/drop_reporter.h):
// the first goes out at once, then at most one a second while they go on,
// each saying how many like it were held back since the last. A count held
// back is told even when no report follows: when its second is up (by a
// flusher thread, one per process, alive only while a count is held; not
// the Scheduler, which reports here under its own lock), to the sink
// replaced when the sink is replaced, and at exit (once: the flusher is
// stopped first, and waited for up to a second if it is in a sink).
//
//   micro_nats::ReportError(options.on_error, {"broker"}, status);
//
//   ScopedErrorSink sink([&](const ErrorReport& r) { got.Add(r); });  // tests

#ifndef MICRO_NATS_STATUS_ERROR_SINK_H_
#define MICRO_NATS_STATUS_ERROR_SINK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace micro_nats {

// ErrorSource
//
// Who reports: the component ("broker", "transport", "nats",
// "registry/nats", "scheduler", "service", ...) and, where a process has
// several, which one (a service's name; empty when there is one).
struct ErrorSource {
  absl::string_view component;
  absl::string_view instance = {};
};

// ErrorReport
//
// What the process sink is given.
struct ErrorReport {
  std::string component;
  std::string instance;
  absl::Status status;
  // Reports of this cause held back by the rate limit since the last one
  // delivered (0 for the first).
  int64_t suppressed = 0;
};

// ErrorSink
//
// Called on the reporting thread, which may hold locks of the reporting
// block: it returns quickly and does not call back into micro-nats (hand the
// report to a queue of your own for anything more). It must not report, nor
// replace the sink.
using ErrorSink = std::function<void(const ErrorReport&)>;

// ErrorHook
//
// A block's `on_error` option: given every report of that block (no rate
// limit: the hook's owner chose to see them), with the same rules as a sink.
using ErrorHook = std::function<void(const absl::Status&)>;

// ReportError
//
// Sends `status` (not OK) from `source` to the process sink, rate limited.
// Thread-safe.
void ReportError(const ErrorSource& source, const absl::Status& status);

// Sends `status` to `hook` when it is set, else as above.
void ReportError(const ErrorHook& hook, const ErrorSource& source,
                 const absl::Status& status);

// SetErrorSink
//
// Replaces the process sink; an empty one restores the default
// (WriteErrorToStderr). The sink replaced is then given the counts held
// back for it, due or not, with no lock of ours held (a report it makes
// then goes to the new sink); when SetErrorSink returns, no report is still
// on its way to it. The rate limit starts afresh. Thread-safe.
void SetErrorSink(ErrorSink sink);

// WriteErrorToStderr
//
// The default sink: one line, "micro-nats <component>[(<instance>)]:
// <status>", with what came from outside escaped, and "(N more like it held
// back)" when some were.
void WriteErrorToStderr(const ErrorReport& report);

// FormatErrorReport
//
// That line, without its newline.
std::string FormatErrorReport(const ErrorReport& report);

// ScopedErrorSink
//
// Installs `sink` for its lifetime, then puts back the sink it replaced
// (tests); `sink` is given what it held back when the scope ends. Scopes
// nest; destroy them in the reverse order.
class ScopedErrorSink {
 public:
  explicit ScopedErrorSink(ErrorSink sink);
  ~ScopedErrorSink();

  ScopedErrorSink(const ScopedErrorSink&) = delete;
  ScopedErrorSink& operator=(const ScopedErrorSink&) = delete;

 private:
  std::shared_ptr<const ErrorSink> previous_;
};

}  // namespace micro_nats

#endif  // MICRO_NATS_STATUS_ERROR_SINK_H_
