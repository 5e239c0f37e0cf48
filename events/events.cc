// Copyright 2026 The micro-nats Authors.

#include "events/events.h"

#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::events {
namespace {

// JetStream's rule for stream and consumer names, kept by memory too so a
// configuration that works on one works on the other.
absl::Status ValidateName(absl::string_view name, absl::string_view what) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1 to 64 characters"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " may hold only letters, digits, '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

const char* StorageName(StreamConfig::Storage storage) {
  return storage == StreamConfig::Storage::kFile ? "file" : "memory";
}

}  // namespace

std::string DescribeStart(const Start& start) {
  switch (start.kind) {
    case Start::Kind::kUnset:
      return "unset";
    case Start::Kind::kNew:
      return "new";
    case Start::Kind::kAll:
      return "all";
    case Start::Kind::kSequence:
      return absl::StrCat("sequence ", start.sequence);
    case Start::Kind::kTime:
      return absl::StrCat("time ", absl::FormatTime(start.time));
  }
  return "?";
}

std::vector<std::string> StreamDifferences(const StreamConfig& wanted,
                                           const StreamConfig& found) {
  std::vector<std::string> diffs;
  auto differ = [&](absl::string_view field, const std::string& a,
                    const std::string& b) {
    if (a != b)
      diffs.push_back(absl::StrCat(field, ": ", a, " wanted, ", b, " found"));
  };
  differ("subjects", absl::StrJoin(wanted.subjects, ","),
         absl::StrJoin(found.subjects, ","));
  differ("storage", StorageName(wanted.storage), StorageName(found.storage));
  differ("max_messages", absl::StrCat(wanted.max_messages),
         absl::StrCat(found.max_messages));
  differ("max_bytes", absl::StrCat(wanted.max_bytes),
         absl::StrCat(found.max_bytes));
  differ("max_age", absl::FormatDuration(wanted.max_age),
         absl::FormatDuration(found.max_age));
  differ("replicas", absl::StrCat(wanted.replicas),
         absl::StrCat(found.replicas));
  differ("duplicate_window", absl::FormatDuration(wanted.duplicate_window),
         absl::FormatDuration(found.duplicate_window));
  return diffs;
}

absl::Time PublishDeadline(const PublishOptions& options,
                           absl::Duration publish_timeout, absl::Time now) {
  return options.deadline == absl::InfiniteFuture() ? now + publish_timeout
                                                    : options.deadline;
}

absl::Status ValidatePublish(absl::string_view topic, const Message& message,
                             int64_t max_event_bytes) {
  MN_RETURN_IF_ERROR(ValidateSubject(topic, SubjectKind::kConcrete, "topic"));
  MN_RETURN_IF_ERROR(ValidateHeaders(message.headers));
  if (static_cast<int64_t>(message.body.size()) > max_event_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event body of ", message.body.size(),
                     " bytes is over the limit of ", max_event_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateConsume(absl::string_view topic, const Handler& handler,
                             const ConsumeOptions& options) {
  MN_RETURN_IF_ERROR(ValidateSubject(topic, SubjectKind::kPattern, "topic"));
  if (!handler) return absl::InvalidArgumentError("handler is empty");
  if (!options.group.empty()) {
    MN_RETURN_IF_ERROR(ValidateName(options.group, "group"));
  } else if (options.start.kind == Start::Kind::kUnset) {
    return absl::InvalidArgumentError(
        "a consumer without a group needs a start (Start::New, All, "
        "AtSequence or AtTime)");
  }
  if (options.max_deliveries < 1) {
    return absl::InvalidArgumentError("max_deliveries must be at least 1");
  }
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  if (options.ack_wait < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("ack_wait must be at least 100ms");
  }
  for (absl::Duration step : options.backoff) {
    if (step < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("a backoff step is negative");
    }
  }
  if (options.start.kind == Start::Kind::kSequence &&
      options.start.sequence == 0) {
    return absl::InvalidArgumentError("sequences start at 1");
  }
  if (!options.dead_letter_topic.empty()) {
    MN_RETURN_IF_ERROR(ValidateSubject(options.dead_letter_topic,
                                       SubjectKind::kConcrete,
                                       "dead_letter_topic"));
  }
  return absl::OkStatus();
}

absl::Status ValidateStreams(const std::vector<StreamConfig>& streams) {
  for (const StreamConfig& stream : streams) {
    MN_RETURN_IF_ERROR(ValidateName(stream.name, "stream name"));
    if (stream.subjects.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stream ", stream.name, " has no subjects"));
    }
    for (const std::string& subject : stream.subjects) {
      MN_RETURN_IF_ERROR(
          ValidateSubject(subject, SubjectKind::kPattern, "stream subject"));
    }
    if (stream.max_messages < 0 || stream.max_bytes < 0 ||
        stream.max_age < absl::ZeroDuration() || stream.replicas < 1 ||
        stream.duplicate_window < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stream ", stream.name, ": limits must be >= 0, replicas >= 1"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Whether every subject `inner` matches is matched by `outer` (both may have
// wildcards).
bool Covers(absl::string_view outer, absl::string_view inner) {
  std::vector<absl::string_view> a = absl::StrSplit(outer, '.');
  std::vector<absl::string_view> b = absl::StrSplit(inner, '.');
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == ">") return i < b.size();
    if (i >= b.size()) return false;
    if (b[i] == ">") return false;
    if (a[i] == "*") continue;
    if (a[i] != b[i]) return false;
  }
  return a.size() == b.size();
}

}  // namespace

const StreamConfig* StreamFor(const std::vector<StreamConfig>& streams,
                              absl::string_view topic) {
  for (const StreamConfig& stream : streams) {
    for (const std::string& subject : stream.subjects) {
      if (Covers(subject, topic)) return &stream;
    }
  }
  return nullptr;
}

absl::Duration BackoffFor(const ConsumeOptions& options, int delivery_count) {
  if (options.backoff.empty()) return absl::ZeroDuration();
  size_t step = delivery_count < 1 ? 0 : delivery_count - 1;
  if (step >= options.backoff.size()) step = options.backoff.size() - 1;
  return options.backoff[step];
}

std::string DeadLetterTopic(const ConsumeOptions& options,
                            absl::string_view topic) {
  if (!options.dead_letter_topic.empty()) return options.dead_letter_topic;
  return absl::StrCat("dead.", topic);
}

Message DeadLetter(const Event& event, const absl::Status& reason) {
  Message message{.body = event.body};
  // Headers under Nats- are JetStream's instructions for the publish, not
  // the event's data: a dedup id (Nats-Msg-Id) would make the dead-letter
  // stream drop a second dead letter of an event re-published with the same
  // id, and a publish expectation (Nats-Expected-Stream, -Last-Sequence, ...)
  // that held for the event fails on the dead-letter stream, so the event
  // would be refused there and redelivered for ever.
  for (const auto& [name, value] : event.headers) {
    if (absl::StartsWithIgnoreCase(name, "Nats-")) continue;
    message.headers.emplace(name, value);
  }
  // The reason is text of the handler's: keep it a valid header value.
  std::string text(reason.message().substr(0, 200));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  message.headers[std::string(kDeadReasonHeader)] = absl::StrCat(
      absl::StatusCodeToString(reason.code()), text.empty() ? "" : ": ", text);
  message.headers[std::string(kDeliveryCountHeader)] =
      absl::StrCat(event.delivery_count);
  message.headers[std::string(kOriginalTopicHeader)] = event.topic;
  message.headers[std::string(kOriginalSequenceHeader)] =
      absl::StrCat(event.sequence);
  return message;
}

absl::Status CallHandler(const Handler& handler, const Event& event) {
  try {
    return handler(event);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("handler threw an exception: ", e.what()));
  } catch (...) {
    return absl::InternalError("handler threw an exception");
  }
}

}  // namespace micro_nats::events
