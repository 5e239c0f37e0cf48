// Copyright 2026 The micro-nats Authors.

#include "tools/internal/terminal.h"

#include <cstdint>

#include "absl/strings/str_format.h"
#include "text/utf8.h"

namespace micro_nats::tools_internal {

std::string TerminalSafe(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x80) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      uint32_t code = 0;
      const size_t length = Utf8SequenceAt(text, i, &code);
      if (length == 0) {
        absl::StrAppendFormat(&out, "\\x%02x", c);
      } else if (code >= 0x80 && code <= 0x9F) {
        absl::StrAppendFormat(&out, "\\u%04x", code);  // C1: e.g. CSI
        i += length;
        continue;
      } else {
        out.append(text.data() + i, length);
        i += length;
        continue;
      }
    }
    ++i;
  }
  return out;
}

}  // namespace micro_nats::tools_internal
