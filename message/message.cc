// Copyright 2026 The micro-nats Authors.

#include "message/message.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "text/shown.h"

namespace micro_nats {
namespace {

// HTTP's token characters, as a table: every header of every message sent
// is checked, so the check is one load per character.
constexpr bool IsTokenCharSlow(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

struct TokenTable {
  constexpr TokenTable() {
    for (int c = 0; c < 256; ++c) token[c] = IsTokenCharSlow(c);
  }
  bool token[256] = {};
};
constexpr TokenTable kTokenTable;

bool IsTokenChar(char c) {
  return kTokenTable.token[static_cast<unsigned char>(c)];
}

// Not allowed in a value: controls but HTAB, and DEL.
bool IsBadValueChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

// Whether `value` has a character IsBadValueChar refuses. Eight bytes at a
// time: a word with no byte under 0x20 and none equal to 0x7f is clean
// (HTAB is under 0x20: such a word is looked at byte by byte).
bool HasBadValueChar(absl::string_view value) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighs = 0x8080808080808080;
  size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, value.data() + i, 8);
    // Bytes under 0x20 (of those under 0x80), and bytes equal to 0x7f.
    const uint64_t low = (word - 0x20 * kOnes) & ~word & kHighs;
    const uint64_t del = word ^ (0x7f * kOnes);
    const uint64_t is_del = (del - kOnes) & ~del & kHighs;
    if ((low | is_del) == 0) continue;
    for (size_t j = i; j < i + 8; ++j) {
      if (IsBadValueChar(value[j])) return true;
    }
  }
  for (; i < value.size(); ++i) {
    if (IsBadValueChar(value[i])) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateHeaderName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty header name");
  bool valid = true;
  for (char c : name) valid &= IsTokenChar(c);
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid header name '", ShownInError(name),
                   "': only letters, digits and !#$%&'*+-.^_`|~ are allowed"));
}

absl::Status ValidateHeaderValue(absl::string_view name,
                                 absl::string_view value) {
  // One pass for the common, valid value; the error is worked out after.
  if (!HasBadValueChar(value)) return absl::OkStatus();
  if (value.find_first_of(absl::string_view("\r\n\0", 3)) !=
      absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("header '", ShownInError(name),
                     "' has a line break or NUL in its value"));
  }
  // Other controls (HTTP field values allow none but HTAB): nats.c treats
  // \v and \f as spaces, which misreads a value made only of them.
  return absl::InvalidArgumentError(
      absl::StrCat("header '", ShownInError(name),
                   "' has a control character in its value"));
}

absl::Status ValidateHeaders(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (absl::Status s = ValidateHeaderName(name); !s.ok()) return s;
    if (absl::Status s = ValidateHeaderValue(name, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

bool IsBlankOrPadded(absl::string_view value) {
  return value.empty() || value.front() == ' ' || value.front() == '\t' ||
         value.back() == ' ' || value.back() == '\t';
}

// `value` without the spaces and tabs around it, as nats.c reads it.
absl::string_view Trimmed(absl::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  return value;
}

}  // namespace

bool IsBlankHeaderValue(absl::string_view value) {
  return Trimmed(value).empty();
}

bool HeadersChangeOnTheWire(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (IsBlankOrPadded(value)) return true;
  }
  return false;
}

Headers WireHeaders(const Headers& headers) {
  Headers out;
  for (const auto& [name, value] : headers) {
    const absl::string_view trimmed = Trimmed(value);
    if (!trimmed.empty()) out.emplace(name, std::string(trimmed));
  }
  return out;
}

size_t MessageSize(const Message& message) {
  size_t size = message.body.size();
  for (const auto& [name, value] : message.headers) {
    size += name.size() + value.size() + 4;  // "name: value\r\n"
  }
  return size;
}

}  // namespace micro_nats
