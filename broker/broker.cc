// Copyright 2026 The micro-nats Authors.

#include "broker/broker.h"

#include "absl/strings/str_cat.h"
#include "subject/subject.h"

namespace micro_nats::broker {

absl::Status ValidatePublishTopic(absl::string_view topic) {
  return ValidateSubject(topic, SubjectKind::kConcrete, "topic");
}

absl::Status ValidateSubscribeTopic(absl::string_view topic) {
  return ValidateSubject(topic, SubjectKind::kPattern, "topic");
}

absl::Status ValidateQueueName(absl::string_view queue) {
  for (char c : queue) {
    if (!IsSubjectChar(c)) {
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
  return SubjectMatches(pattern, topic);
}

}  // namespace micro_nats::broker
