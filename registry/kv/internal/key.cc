// Copyright 2026 The micro-nats Authors.

#include "registry/kv/internal/key.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace micro_nats::registry::kv_internal {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool Plain(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '/'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not what encoding writes
}

absl::Status Refused(absl::string_view token, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("registry key part '", absl::CEscape(token), "': ", why));
}

}  // namespace

std::string EncodeKeyPart(absl::string_view part) {
  if (part.empty()) return "_";
  std::string out;
  out.reserve(part.size());
  for (const char c : part) {
    if (Plain(c)) {
      out.push_back(c);
    } else if (c == '.') {
      out.push_back('=');
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('_');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

absl::StatusOr<std::string> DecodeKeyPart(absl::string_view token) {
  if (token.empty()) return Refused(token, "empty");
  if (token == "_") return std::string();
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (Plain(c)) {
      out.push_back(c);
    } else if (c == '=') {
      out.push_back('.');
    } else if (c == '_') {
      if (i + 2 >= token.size()) return Refused(token, "a cut escape");
      const int high = HexValue(token[i + 1]);
      const int low = HexValue(token[i + 2]);
      if (high < 0 || low < 0) return Refused(token, "a bad escape");
      const char decoded = static_cast<char>(high * 16 + low);
      // Encoding escapes only what has no spelling of its own.
      if (Plain(decoded) || decoded == '.') {
        return Refused(token, "an escape of a plain character");
      }
      out.push_back(decoded);
      i += 2;
    } else {
      return Refused(token, "a character keys do not use");
    }
  }
  return out;
}

std::string EncodeKey(const NodeKey& key) {
  return absl::StrCat(EncodeKeyPart(key.name), ".", EncodeKeyPart(key.version),
                      ".", EncodeKeyPart(key.node_id));
}

absl::StatusOr<NodeKey> DecodeKey(absl::string_view key) {
  const std::vector<absl::string_view> tokens = absl::StrSplit(key, '.');
  if (tokens.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry key '", absl::CEscape(key),
                     "' is not <name>.<version>.<node id>"));
  }
  auto name = DecodeKeyPart(tokens[0]);
  if (!name.ok()) return name.status();
  auto version = DecodeKeyPart(tokens[1]);
  if (!version.ok()) return version.status();
  auto id = DecodeKeyPart(tokens[2]);
  if (!id.ok()) return id.status();
  return NodeKey{*std::move(name), *std::move(version), *std::move(id)};
}

std::string ServicePrefix(absl::string_view name) {
  return absl::StrCat(EncodeKeyPart(name), ".");
}

std::string VersionPrefix(absl::string_view name, absl::string_view version) {
  return absl::StrCat(EncodeKeyPart(name), ".", EncodeKeyPart(version), ".");
}

}  // namespace micro_nats::registry::kv_internal
