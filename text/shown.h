// Copyright 2026 The micro-nats Authors.
//
// shown.h: text from callers or the network as an error message shows it.
//
//   return absl::InvalidArgumentError(
//       absl::StrCat("invalid subject '", ShownInError(subject), "'"));

#ifndef MICRO_NATS_TEXT_SHOWN_H_
#define MICRO_NATS_TEXT_SHOWN_H_

#include <string>

#include "absl/strings/string_view.h"

namespace micro_nats {

// `text` C-escaped and cut to its first 64 bytes ("..." after it when cut):
// it may be a hostile peer's, long or binary, and error messages end up in
// logs and in error answers.
std::string ShownInError(absl::string_view text);

}  // namespace micro_nats

#endif  // MICRO_NATS_TEXT_SHOWN_H_
