// Copyright 2026 The micro-nats Authors.
//
// broker.h: asynchronous publish/subscribe with queue groups.
//
// The broker is go-micro's building block for events: a publisher sends a
// message to a topic and returns; every subscriber of the topic gets it,
// except that subscribers sharing a queue name form a group in which one
// member gets each message. Topics follow NATS subject rules: dot-separated
// tokens; subscribers may use `*` (one token) and `>` (the rest).
//
//   MN_ASSIGN_OR_RETURN(std::unique_ptr<Broker> broker,
//                       NewNatsBroker(connection));
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Subscriber> sub,
//       broker->Subscribe(
//           "orders.*",
//           [](const Event& e) {
//             Handle(e.topic, e.message.body);
//             return absl::OkStatus();
//           },
//           {.queue = "billing"}));
//   MN_RETURN_IF_ERROR(broker->Publish(
//       "orders.created", {.headers = {{"Id", "1"}}, .body = "..."}));
//
// Backends: broker/memory (in-process, NATS semantics), broker/nats,
// broker/mock (gmock). broker/testing holds the conformance suite every
// backend passes.

#ifndef MICRO_NATS_BROKER_BROKER_H_
#define MICRO_NATS_BROKER_BROKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "message/message.h"
#include "subject/subject.h"

namespace micro_nats::broker {

// One message type and one header check for every block (message.h).
using Headers = ::micro_nats::Headers;
using Message = ::micro_nats::Message;

// What a handler receives: the concrete topic the message was published to
// (not the subscription's wildcard pattern) and the message.
struct Event {
  std::string topic;
  Message message;
};

// Called on the subscriber's own delivery thread, one message at a time and
// in publishing order per publisher. An error (or an exception) is reported
// through BrokerOptions::on_error; delivery goes on. `event` is valid only
// during the call (a backend may refill it for the next message): copy what
// you keep.
using Handler = std::function<absl::Status(const Event& event)>;

struct SubscribeOptions {
  // Non-empty: join this queue group; one member of the group gets each
  // message.
  std::string queue;
};

struct BrokerOptions {
  // Handler errors, dropped messages of slow subscribers (ResourceExhausted)
  // and other asynchronous errors. Called from delivery threads. Unset: they
  // go to the process error sink (status/error_sink.h) as "broker".
  std::function<void(const absl::Status&)> on_error;
  // Messages a subscriber may have waiting before new ones are dropped (and
  // reported through on_error).
  int max_pending_messages = 65536;
};

// Subscriber
//
// One subscription. The destructor unsubscribes.
class Subscriber {
 public:
  virtual ~Subscriber() = default;

  // The topic pattern given to Subscribe.
  virtual const std::string& topic() const = 0;
  virtual const std::string& queue() const = 0;

  // Stops delivery: when it returns, no handler call of this subscription is
  // running or will start (a handler that unsubscribes itself finishes its
  // own call), also after a Drain that ran out of time. Calling it again is
  // a no-op.
  virtual absl::Status Unsubscribe() = 0;

  // Messages dropped so far because the handler fell behind (each drop is
  // also reported through BrokerOptions::on_error, with its count).
  virtual int64_t dropped() const = 0;
};

// Broker
//
// Thread-safe.
class Broker {
 public:
  virtual ~Broker() = default;

  // Sends `message` to every subscriber of `topic` and returns without
  // waiting for them. InvalidArgument for a topic that is not a valid NATS
  // subject or has wildcards, for a header that breaks ValidateHeaders, and
  // for a body over the backend's size limit; FailedPrecondition after
  // Drain.
  virtual absl::Status Publish(absl::string_view topic,
                               const Message& message) = 0;

  // Subscribes `handler` to `topic` (wildcards allowed). InvalidArgument for
  // an invalid topic or queue name.
  virtual absl::StatusOr<std::unique_ptr<Subscriber>> Subscribe(
      absl::string_view topic, Handler handler,
      SubscribeOptions options = {}) = 0;

  // Delivers what subscribers already received, sends what was published,
  // then stops every subscription of this broker. Returns by `timeout`
  // (DeadlineExceeded when work was left). Afterwards Publish and Subscribe
  // fail with FailedPrecondition.
  virtual absl::Status Drain(absl::Duration timeout) = 0;
};

// Topic and queue validation shared by every backend.
//
// A topic is 1..kMaxTopicLength bytes of printable non-space ASCII in
// non-empty dot-separated tokens. ValidateSubscribeTopic also accepts `*` as
// a whole token and `>` as the whole last token. A queue name is empty (no
// queue group) or follows the rules of a topic without wildcards, as NATS
// requires of queue groups.
inline constexpr size_t kMaxTopicLength = kMaxSubjectLength;
absl::Status ValidatePublishTopic(absl::string_view topic);
absl::Status ValidateSubscribeTopic(absl::string_view topic);
absl::Status ValidateQueueName(absl::string_view queue);

// Whether `topic` (concrete) matches `pattern` (may have wildcards).
bool TopicMatches(absl::string_view pattern, absl::string_view topic);

}  // namespace micro_nats::broker

#endif  // MICRO_NATS_BROKER_BROKER_H_
