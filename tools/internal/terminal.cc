// Copyright 2026 The micro-nats Authors.

#include "tools/internal/terminal.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace micro_nats::tools_internal {
namespace {

// The length of the valid UTF-8 sequence at `text[i]` and its code point,
// or 0 when the bytes there are not one (overlong, surrogate, truncated).
size_t Utf8Sequence(absl::string_view text, size_t i, uint32_t* code) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  size_t length = 0;
  uint32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, *code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, *code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, *code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *code = (*code << 6) | (byte(i + k) & 0x3F);
  }
  if (*code < min || *code > 0x10FFFF) return 0;
  if (*code >= 0xD800 && *code <= 0xDFFF) return 0;
  return length;
}

}  // namespace

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
      const size_t length = Utf8Sequence(text, i, &code);
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
