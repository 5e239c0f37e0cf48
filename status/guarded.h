// Copyright 2026 The micro-nats Authors.
//
// guarded.h: runs user code that might throw, where an exception must not
// end the process or the thread that runs it (a handler on a pool thread).
// No exception crosses our API: it becomes an Internal status the caller
// reports.
//
//   absl::Status thrown = Guarded([&] { handler(event); });
//   if (!thrown.ok()) Report(absl::InternalError(
//       absl::StrCat("handler threw: ", thrown.message())));

#ifndef MICRO_NATS_STATUS_GUARDED_H_
#define MICRO_NATS_STATUS_GUARDED_H_

#include <exception>

#include "absl/status/status.h"

namespace micro_nats {

// Calls `call()`. OK when it returns; Internal with the exception's what()
// (or "a non-standard exception") when it throws.
template <typename Call>
absl::Status Guarded(Call&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  } catch (...) {
    return absl::InternalError("a non-standard exception");
  }
  return absl::OkStatus();
}

}  // namespace micro_nats

#endif  // MICRO_NATS_STATUS_GUARDED_H_
