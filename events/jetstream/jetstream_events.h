// Copyright 2026 The micro-nats Authors.
//
// jetstream_events.h: durable events on NATS JetStream.
//
// Streams are JetStream streams (created or checked at start), groups are
// durable pull consumers, an ephemeral consumer is an ephemeral pull
// consumer deleted when it stops. Publish is nats.c's js_PublishMsg on the
// shared Connection (messages built by //nats, so subjects and headers pass
// its checks); PublishAsync is js_PublishMsgAsync on a JetStream context of
// its own, whose acks (parsed by nats.c as js_PublishMsg's, a timeout per
// event) come on one reply thread per Events, where `done` runs. Consumers
// pull: each asks the server for at most as many events as it has room for
// (ConsumeOptions::max_in_flight, less those in flight), on one inbox
// subscription of the shared Connection: messages come off the wire on nats.c's
// shared delivery threads and handlers run on one bounded pool per Events. No
// thread per consumer, and no blocking fetch holding a thread. Acks, naks with
// delay ("-NAK {"delay":ns}"), in-progress ("+WPI", every ack_wait / 2 while a
// handler runs) go to the event's reply subject. Redeliveries are counted by
// the server (the delivery count in the reply subject) and the dead letter is
// ours: the consumer's MaxDeliver is unlimited, and at max_deliveries the event
// is published to its dead-letter topic, then acked (or, if that publish
// fails, naked again: never dropped).
//
// Everything the server sends is checked: the reply subject's shape, its
// numbers and its stream and consumer names (nats-server itself refuses a
// client's publish with a reply under $JS.ACK, so a forged ack subject is
// stopped twice); the topic against the consumer's; headers (//nats
// ReadHeaders: invalid ones are left out and counted); the body's size
// (EventsOptions::max_event_bytes: an oversized event is terminated and
// reported, never handled). A message that fails is counted as bad_input
// and reported, neither handled nor acked.
//
// The server must run JetStream (nats-server -js); NewJetStreamEvents says
// so otherwise.

#ifndef MICRO_NATS_EVENTS_JETSTREAM_JETSTREAM_EVENTS_H_
#define MICRO_NATS_EVENTS_JETSTREAM_JETSTREAM_EVENTS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/events.h"
#include "nats/connection.h"

namespace micro_nats::events {

struct JetStreamEventsOptions {
  EventsOptions events;
  // How long a pull request waits at the server for events before it
  // expires and the consumer sends another.
  absl::Duration pull_expiry = absl::Seconds(5);
  // How often consumers whose pull was lost (a server restart) or refused
  // try again.
  absl::Duration retry_interval = absl::Milliseconds(250);
  // JetStream API calls (stream and consumer management).
  absl::Duration api_timeout = absl::Seconds(5);
};

// FailedPrecondition when the server has no JetStream, or a stream exists
// with other settings (naming the difference); InvalidArgument for invalid
// stream configurations.
absl::StatusOr<std::unique_ptr<Events>> NewJetStreamEvents(
    std::shared_ptr<nats::Connection> connection,
    JetStreamEventsOptions options = {});

// The configuration of every stream on the server behind `connection`, as
// found: for a tool that declares the streams a service made, whatever
// their settings (EventsOptions::streams). FailedPrecondition without
// JetStream.
absl::StatusOr<std::vector<StreamConfig>> JetStreamStreams(
    nats::Connection& connection, absl::Duration timeout);

}  // namespace micro_nats::events

#endif  // MICRO_NATS_EVENTS_JETSTREAM_JETSTREAM_EVENTS_H_
