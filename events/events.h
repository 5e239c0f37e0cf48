// Copyright 2026 The micro-nats Authors.
//
// events.h: durable events with at-least-once delivery.
//
// The broker (broker/broker.h) is fire-and-forget: what nobody listens to
// is gone. Events are stored first: Publish returns once the event is in a
// stream, with its sequence, and a consumer acknowledges each event only
// after its handler returned OK. A handler that fails (an error or an
// exception) gets the event again after a backoff; after
// ConsumeOptions::max_deliveries failures the event goes to a dead-letter
// topic, with the reason and the count, and is acknowledged there.
//
// Consumers in one named, durable group share the events (each is handled
// by one member) and the group remembers where it is: a member that comes
// back resumes where the group left off. A new group starts where
// ConsumeOptions::start says, which must be said: no backend picks a start
// position silently, and a start that contradicts an existing group's is an
// error, never applied or ignored quietly. A consumer without a group is
// ephemeral: it exists while it runs and forgets its position when it stops.
//
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Events> events,
//       NewJetStreamEvents(connection,
//                          {.streams = {{.name = "ORDERS",
//                                        .subjects = {"orders.>"}}}}));
//   MN_ASSIGN_OR_RETURN(uint64_t seq,
//                       events->Publish("orders.created", {.body = "..."}));
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Consumer> consumer,
//       events->Consume(
//           "orders.*",
//           [](const Event& e) { return Bill(e.sequence, e.body); },
//           {.group = "billing", .start = Start::All()}));
//
// Backends: events/memory (in-process, the same semantics on an injectable
// clock), events/jetstream (NATS JetStream), events/mock (gmock).
// events/testing holds the conformance suite every backend passes.
//
// Trust (JetStream): any client allowed to publish to a stream's subjects
// (by default every client of the NATS account) can publish events under
// any topic there, with any headers and body, and handlers see them as
// the real thing; one allowed the JetStream API can also delete, purge or
// reconfigure the streams and consumers. Forged messages on a consumer's
// inbox are counted as bad input, not handled. Restrict who publishes
// each stream's subjects (and `$JS.API.>`) with NATS permissions; a
// handler that acts on an event's identity authenticates its body.

#ifndef MICRO_NATS_EVENTS_EVENTS_H_
#define MICRO_NATS_EVENTS_EVENTS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "message/message.h"

namespace micro_nats::events {

using Headers = ::micro_nats::Headers;
using Message = ::micro_nats::Message;

// What a handler receives.
struct Event {
  std::string topic;       // the concrete topic it was published to
  uint64_t sequence = 0;   // its sequence in its stream (1, 2, ...)
  absl::Time timestamp;    // when the stream stored it
  int delivery_count = 0;  // 1 the first time, 2 the first redelivery...
  Headers headers;
  std::string body;
};

// Called on the backend's handler pool. OK: the event is acknowledged
// (after the call returns, never before). An error or an exception: it is
// delivered again after the backoff, or dead-lettered at max_deliveries.
// Calls of one consumer may run concurrently (up to
// ConsumeOptions::max_in_flight), so events may be handled out of order;
// max_in_flight = 1 keeps the stream's order (redeliveries aside). `event`
// is valid only during the call.
using Handler = std::function<absl::Status(const Event& event)>;

// Headers a dead-lettered event carries besides its own.
inline constexpr absl::string_view kDeadReasonHeader = "Events-Dead-Reason";
inline constexpr absl::string_view kDeliveryCountHeader =
    "Events-Delivery-Count";
inline constexpr absl::string_view kOriginalTopicHeader = "Events-Topic";
inline constexpr absl::string_view kOriginalSequenceHeader = "Events-Sequence";
// The header a de-duplication id travels in (JetStream's own).
inline constexpr absl::string_view kDedupIdHeader = "Nats-Msg-Id";

struct PublishOptions {
  // When to give up waiting for the stream to store the event
  // (DeadlineExceeded; the event may still have been stored: publish again
  // with the same dedup_id to be sure it is stored once). InfiniteFuture:
  // EventsOptions::publish_timeout from now.
  absl::Time deadline = absl::InfiniteFuture();
  // Non-empty: a second publish with the same id within the stream's
  // duplicate window stores nothing and returns the first one's sequence.
  std::string dedup_id;
};

// Called once for each PublishAsync that returned OK, with the event's
// stream sequence or why it is not known to be stored: DeadlineExceeded
// when the stream did not acknowledge it by PublishOptions::deadline (it
// may still be stored: publish again with the same dedup_id to store it
// once), NotFound, Unavailable, Cancelled (the Events was destroyed
// first). Never on the caller's thread nor the connection's reader: on
// JetStream on the thread that takes this Events' acks (one per Events; a
// slow `done` delays the acks after it), in memory on its handler pool.
// Calls may run concurrently; a `done` holds its slot of
// max_publish_in_flight until it returns.
using PublishDone = std::function<void(absl::StatusOr<uint64_t> sequence)>;

// Where a new group (or an ephemeral consumer) starts. An existing group
// resumes where it left off; a Start given for it must be the one it was
// created with (FailedPrecondition otherwise, naming both).
struct Start {
  enum class Kind {
    kUnset,     // only for an existing group: resume
    kNew,       // events published from now on
    kAll,       // every event the stream holds
    kSequence,  // from `sequence` on
    kTime,      // from the first event stored at or after `time`
  };
  Kind kind = Kind::kUnset;
  uint64_t sequence = 0;
  absl::Time time;

  static Start New() { return {.kind = Kind::kNew}; }
  static Start All() { return {.kind = Kind::kAll}; }
  static Start AtSequence(uint64_t sequence) {
    return {.kind = Kind::kSequence, .sequence = sequence};
  }
  static Start AtTime(absl::Time time) {
    return {.kind = Kind::kTime, .time = time};
  }
  friend bool operator==(const Start& a, const Start& b) {
    return a.kind == b.kind && a.sequence == b.sequence && a.time == b.time;
  }
};
std::string DescribeStart(const Start& start);

struct ConsumeOptions {
  // A durable group: its members share the events, and its position
  // outlives them (and, on JetStream, the server's restarts). Letters,
  // digits, '-' and '_', at most 64. Empty: an ephemeral consumer of its
  // own, which forgets its position when it stops.
  std::string group;
  // Required for a new group and for an ephemeral consumer (see Start).
  Start start;
  // Deliveries before an event is dead-lettered (at least 1).
  int max_deliveries = 5;
  // The delay before the n-th redelivery after a handler error is
  // backoff[n-1], the last step repeating. Empty: at once.
  std::vector<absl::Duration> backoff = {absl::Seconds(1), absl::Seconds(5),
                                         absl::Seconds(30)};
  // An event not acknowledged this long after delivery (the consumer died)
  // goes to another member. While a handler runs the backend tells the
  // stream it is in progress every ack_wait / 2, so a long handler keeps
  // its event. Part of a group's settings: a different value for an
  // existing group is an error.
  absl::Duration ack_wait = absl::Seconds(30);
  // Events of this consumer handed to handlers and not yet acknowledged (at
  // least 1): the consumer takes no more from the stream meanwhile, so its
  // memory stays bounded however far behind it is.
  int max_in_flight = 16;
  // Where dead-lettered events go (published as events: on JetStream a
  // stream must hold this topic). Empty: "dead." + the event's topic.
  std::string dead_letter_topic;
};

// What a consumer did so far.
struct ConsumerStats {
  int64_t delivered = 0;      // handler calls
  int64_t acked = 0;          // handler returned OK
  int64_t failed = 0;         // handler errors and exceptions
  int64_t dead_lettered = 0;  // sent to the dead-letter topic (and acked)
  int64_t in_flight = 0;      // now
  int64_t max_in_flight_seen = 0;
  int64_t bad_input = 0;  // messages from the server dropped as malformed
};

// Consumer
//
// One member of a group (or an ephemeral consumer). The destructor stops it
// (Stop with a second).
class Consumer {
 public:
  virtual ~Consumer() = default;

  virtual const std::string& topic() const = 0;
  virtual const std::string& group() const = 0;

  // Takes no more events, then waits until running handlers return (their
  // events are acknowledged or naked as usual), by `deadline`:
  // DeadlineExceeded when some still run (they finish on their own; their
  // results are dropped and the stream redelivers their events after
  // ack_wait). Idempotent. Not from a handler of this consumer.
  virtual absl::Status Stop(absl::Time deadline) = 0;

  virtual ConsumerStats stats() const = 0;
};

// The state of the stream holding a topic and, when asked, of a group:
// what `micro events info` shows.
struct GroupInfo {
  std::string name;
  // Events of the group's topic not yet delivered to it.
  int64_t pending = 0;
  // Delivered and not yet acknowledged (handlers running, and events
  // waiting for their redelivery after a failure).
  int64_t in_flight = 0;
  // Of those in flight, the ones delivered more than once.
  int64_t redelivered = 0;
  // Every event up to this stream sequence is acknowledged.
  uint64_t ack_floor = 0;
};

struct TopicInfo {
  std::string stream;  // the stream holding the topic
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  int64_t messages = 0;  // stored now, whatever their topic
  int64_t bytes = 0;
  // Events stored under the topic's default dead-letter topic ("dead." +
  // topic); 0 when no stream holds it.
  int64_t dead_lettered = 0;
  // Set when Info was asked about a group.
  std::optional<GroupInfo> group;
};

// A stream: the events of a topic space, stored.
struct StreamConfig {
  // Letters, digits, '-' and '_'.
  std::string name;
  // Topics it stores (wildcards allowed), e.g. {"orders.>"}.
  std::vector<std::string> subjects;
  enum class Storage { kFile, kMemory };
  Storage storage = Storage::kFile;
  // Retention limits; 0: unlimited. The oldest events go first.
  int64_t max_messages = 0;
  int64_t max_bytes = 0;
  absl::Duration max_age = absl::ZeroDuration();
  int replicas = 1;
  // How long dedup ids are remembered.
  absl::Duration duplicate_window = absl::Minutes(2);
};

// Differences between two stream configurations, as "field: a vs b"
// strings (empty when they agree).
std::vector<std::string> StreamDifferences(const StreamConfig& wanted,
                                           const StreamConfig& found);

struct EventsOptions {
  // Created at start, or checked when they exist: an existing stream with
  // other settings is an error (FailedPrecondition naming the difference),
  // never changed silently. Publish to a topic no stream holds: NotFound.
  std::vector<StreamConfig> streams;
  absl::Duration publish_timeout = absl::Seconds(5);
  // Asynchronous publishes sent and not yet acknowledged (or acknowledged
  // and their `done` not yet returned), at least 1; PublishAsync waits for
  // room past it.
  int max_publish_in_flight = 256;
  // Threads running handlers, shared by every consumer of this Events.
  int handler_threads = 4;
  // Bodies over this are refused by Publish and dropped (counted as
  // bad_input) when they come from the server.
  int64_t max_event_bytes = 8 << 20;
  // Handler errors, dropped malformed input and other asynchronous errors.
  // Unset: the process error sink as "events".
  std::function<void(const absl::Status&)> on_error;
};

// Events
//
// Thread-safe.
class Events {
 public:
  virtual ~Events() = default;

  // Stores `message` under `topic` and returns its sequence once stored.
  // InvalidArgument for a topic with wildcards or an invalid one, a header
  // that breaks ValidateHeaders, a body over max_event_bytes; NotFound when
  // no stream holds `topic`; DeadlineExceeded or Unavailable when it could
  // not be stored in time (the event may still be stored: see dedup_id).
  virtual absl::StatusOr<uint64_t> Publish(
      absl::string_view topic, const Message& message,
      const PublishOptions& options = {}) = 0;

  // Sends `message` to be stored under `topic` and returns at once (once
  // it is sent), without waiting for the stream; `done` gets the sequence
  // (or the error) later. While max_publish_in_flight are unacknowledged it
  // waits for room until options.deadline (DeadlineExceeded, not sent). An
  // error returned means nothing was sent and `done` is not called:
  // InvalidArgument as Publish's (and for an empty `done`). Events of one
  // Events are stored in the order their PublishAsync calls returned.
  // Errors found only after sending (NotFound on JetStream) go to `done`.
  virtual absl::Status PublishAsync(absl::string_view topic,
                                    const Message& message,
                                    const PublishOptions& options,
                                    PublishDone done) = 0;

  // Waits until every PublishAsync so far has had its `done` return:
  // DeadlineExceeded (naming how many are left) past `deadline`.
  virtual absl::Status FlushPublishes(absl::Time deadline) = 0;

  // Starts consuming `topic` (wildcards allowed) with `handler`.
  // InvalidArgument for bad options, a new group or an ephemeral consumer
  // without a start; FailedPrecondition when the group exists with other
  // settings (topic, start, ack_wait), naming them; NotFound when no stream
  // holds `topic`.
  virtual absl::StatusOr<std::unique_ptr<Consumer>> Consume(
      absl::string_view topic, Handler handler, ConsumeOptions options) = 0;

  // The state of the stream holding `topic` (wildcards allowed) and, when
  // `group` is not empty, of that durable group. NotFound when no stream
  // holds `topic` or the group does not exist.
  virtual absl::StatusOr<TopicInfo> Info(absl::string_view topic,
                                         absl::string_view group = "") = 0;
};

// Checks shared by every backend.
//
// When a publish gives up: options.deadline, or publish_timeout from `now`
// when that is InfiniteFuture.
absl::Time PublishDeadline(const PublishOptions& options,
                           absl::Duration publish_timeout, absl::Time now);
absl::Status ValidatePublish(absl::string_view topic, const Message& message,
                             int64_t max_event_bytes);
absl::Status ValidateConsume(absl::string_view topic, const Handler& handler,
                             const ConsumeOptions& options);
absl::Status ValidateStreams(const std::vector<StreamConfig>& streams);
// The stream of `streams` that holds every topic `topic` (a pattern) can
// match, or null.
const StreamConfig* StreamFor(const std::vector<StreamConfig>& streams,
                              absl::string_view topic);
// The delay before redelivery after the `delivery_count`-th delivery
// failed.
absl::Duration BackoffFor(const ConsumeOptions& options, int delivery_count);
// The dead-letter topic for an event of `topic`.
std::string DeadLetterTopic(const ConsumeOptions& options,
                            absl::string_view topic);
// `event`'s message as dead-lettered: its headers but JetStream's own
// (Nats-*), plus the reason, the count, its topic and sequence.
Message DeadLetter(const Event& event, const absl::Status& reason);
// The handler's result; an exception becomes Internal naming it.
absl::Status CallHandler(const Handler& handler, const Event& event);

}  // namespace micro_nats::events

#endif  // MICRO_NATS_EVENTS_EVENTS_H_
