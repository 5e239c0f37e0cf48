// Copyright 2026 The micro-nats Authors.
//
// subject.h: NATS subject rules, shared by every block.
//
// Broker topics, transport addresses and registry subjects are NATS
// subjects: 1..kMaxSubjectLength bytes of printable, non-space ASCII in
// non-empty dot-separated tokens. Patterns may also use `*` as a whole
// token (exactly one token) and `>` as the whole last token (the rest).
// The memory backends apply the same rules, so a unit test on memory
// rejects what NATS would.
//
//   MN_RETURN_IF_ERROR(ValidateSubject(address, SubjectKind::kConcrete,
//                                      "transport address"));

#ifndef MICRO_NATS_SUBJECT_SUBJECT_H_
#define MICRO_NATS_SUBJECT_SUBJECT_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace micro_nats {

inline constexpr size_t kMaxSubjectLength = 255;

enum class SubjectKind {
  kConcrete,  // publish to it: no wildcards
  kPattern,   // subscribe to it: `*` and `>` allowed
};

// InvalidArgument, naming `what` and the reason, unless `subject` is a valid
// subject of `kind`. Allocates nothing on success: publishers call it per
// message.
absl::Status ValidateSubject(absl::string_view subject, SubjectKind kind,
                             absl::string_view what = "subject");

// InvalidArgument unless `queue` is a valid NATS queue group name: 1 to
// kMaxSubjectLength printable, non-space ASCII characters.
absl::Status ValidateQueueName(absl::string_view queue);

// Whether the concrete `subject` matches `pattern`.
bool SubjectMatches(absl::string_view pattern, absl::string_view subject);

// Whether `c` may appear in a subject token (printable, non-space ASCII).
inline bool IsSubjectChar(char c) { return c > ' ' && c < 0x7f; }

}  // namespace micro_nats

#endif  // MICRO_NATS_SUBJECT_SUBJECT_H_
