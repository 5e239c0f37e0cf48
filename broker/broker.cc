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
  if (queue.empty()) return absl::OkStatus();  // no queue group
  return ValidateSubject(queue, SubjectKind::kConcrete, "queue name");
}

bool TopicMatches(absl::string_view pattern, absl::string_view topic) {
  return SubjectMatches(pattern, topic);
}

}  // namespace micro_nats::broker
