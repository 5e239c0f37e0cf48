// Copyright 2026 The micro-nats Authors.

#include "subject/subject.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "text/shown.h"

namespace micro_nats {

namespace {

// One pass, no allocation: true when every token is non-empty and made of
// plain subject characters (no wildcards). Publishing checks every subject,
// so this is the common case; anything else takes the detailed path below.
bool IsPlainSubject(absl::string_view subject) {
  char previous = '.';
  for (char c : subject) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (c == '*' || c == '>' || !IsSubjectChar(c)) {
      return false;
    }
    previous = c;
  }
  return previous != '.';
}

}  // namespace

absl::Status ValidateSubject(absl::string_view subject, SubjectKind kind,
                             absl::string_view what) {
  if (subject.size() <= kMaxSubjectLength && IsPlainSubject(subject)) {
    return absl::OkStatus();
  }
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", what, " '", ShownInError(subject), "': ", why));
  };
  if (subject.empty()) return invalid("empty");
  if (subject.size() > kMaxSubjectLength) {
    return invalid(absl::StrCat("longer than ", kMaxSubjectLength, " bytes"));
  }
  for (absl::string_view token : absl::StrSplit(subject, '.')) {
    if (token.empty()) return invalid("empty token");
    for (char c : token) {
      if (!IsSubjectChar(c)) return invalid("spaces or control characters");
    }
    const bool star = token == "*";
    const bool tail = token == ">";
    if (star || tail) {
      if (kind == SubjectKind::kConcrete) {
        return invalid("wildcards are for subscribing");
      }
      const bool last = token.end() == subject.end();
      if (tail && !last) return invalid("'>' must be the last token");
    } else if (token.find_first_of("*>") != absl::string_view::npos) {
      return invalid("'*' and '>' must be whole tokens");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQueueName(absl::string_view queue) {
  if (!queue.empty() && queue.size() <= kMaxSubjectLength &&
      std::all_of(queue.begin(), queue.end(), IsSubjectChar)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid queue group '", ShownInError(queue), "': 1 to ",
      kMaxSubjectLength, " printable ASCII characters without spaces"));
}

bool SubjectMatches(absl::string_view pattern, absl::string_view subject) {
  std::vector<absl::string_view> p = absl::StrSplit(pattern, '.');
  std::vector<absl::string_view> s = absl::StrSplit(subject, '.');
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return s.size() > i;
    if (i >= s.size()) return false;
    if (p[i] != "*" && p[i] != s[i]) return false;
  }
  return p.size() == s.size();
}

}  // namespace micro_nats
