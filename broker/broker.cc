// Copyright 2026 The micro-nats Authors.

#include "broker/broker.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace micro_nats::broker {
namespace {

bool IsTopicChar(char c) { return c > ' ' && c < 0x7f; }

absl::Status ValidateTopic(absl::string_view topic, bool allow_wildcards) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid topic '", topic, "': ", why));
  };
  if (topic.empty()) return invalid("empty");
  if (topic.size() > kMaxTopicLength) {
    return invalid(absl::StrCat("longer than ", kMaxTopicLength, " bytes"));
  }
  // Publish validates every message: walk the tokens without allocating.
  for (absl::string_view token : absl::StrSplit(topic, '.')) {
    if (token.empty()) return invalid("empty token");
    for (char c : token) {
      if (!IsTopicChar(c)) return invalid("spaces or control characters");
    }
    const bool star = token == "*";
    const bool tail = token == ">";
    if (star || tail) {
      if (!allow_wildcards) return invalid("wildcards are for subscribing");
      const bool last = token.end() == topic.end();
      if (tail && !last) return invalid("'>' must be the last token");
    } else if (token.find_first_of("*>") != absl::string_view::npos) {
      return invalid("'*' and '>' must be whole tokens");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePublishTopic(absl::string_view topic) {
  return ValidateTopic(topic, /*allow_wildcards=*/false);
}

absl::Status ValidateSubscribeTopic(absl::string_view topic) {
  return ValidateTopic(topic, /*allow_wildcards=*/true);
}

absl::Status ValidateQueueName(absl::string_view queue) {
  for (char c : queue) {
    if (!IsTopicChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid queue name '", queue, "': spaces or control characters"));
    }
  }
  if (queue.size() > kMaxTopicLength) {
    return absl::InvalidArgumentError("queue name longer than 255 bytes");
  }
  return absl::OkStatus();
}

bool TopicMatches(absl::string_view pattern, absl::string_view topic) {
  std::vector<absl::string_view> p = absl::StrSplit(pattern, '.');
  std::vector<absl::string_view> t = absl::StrSplit(topic, '.');
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return t.size() > i;
    if (i >= t.size()) return false;
    if (p[i] != "*" && p[i] != t[i]) return false;
  }
  return p.size() == t.size();
}

}  // namespace micro_nats::broker
