// Copyright 2026 The micro-nats Authors.

#include "text/shown.h"

#include "absl/strings/escaping.h"

namespace micro_nats {

std::string ShownInError(absl::string_view text) {
  constexpr size_t kMax = 64;
  std::string shown = absl::CEscape(text.substr(0, kMax));
  if (text.size() > kMax) shown += "...";
  return shown;
}

}  // namespace micro_nats
