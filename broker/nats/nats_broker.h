// Copyright 2026 The micro-nats Authors.
//
// nats_broker.h: the broker on NATS publish/subscribe.
//
// Runs on the process's shared nats::Connection. Topics are NATS subjects,
// queue names NATS queue groups; headers travel as NATS headers and the body
// as raw bytes. Each subscription's handler calls run one at a time, in
// order, where NatsBrokerOptions::handlers says: by default on nats.c's
// delivery thread once they have shown that they return quickly and do
// not wait (no hand-off, as a raw nats.c callback), else on the
// connection's handler pool. A subscriber that falls behind drops what does
// not fit (BrokerOptions::max_pending_messages) and says how many through
// BrokerOptions::on_error. Drain returns by its deadline.
//
//   MN_ASSIGN_OR_RETURN(auto conn, nats::Connection::Connect({...}));
//   MN_ASSIGN_OR_RETURN(std::unique_ptr<Broker> broker, NewNatsBroker(conn));

#ifndef MICRO_NATS_BROKER_NATS_NATS_BROKER_H_
#define MICRO_NATS_BROKER_NATS_NATS_BROKER_H_

#include <memory>

#include "broker/broker.h"
#include "nats/connection.h"

namespace micro_nats::broker {

struct NatsBrokerOptions {
  BrokerOptions broker;
  // Batched (the default) buffers publishes and lets nats.c's flusher send
  // them: ~45x the throughput of kImmediate on loopback, at up to ~1 ms of
  // added delivery latency. kImmediate sends each publish at once.
  nats::Delivery delivery = nats::Delivery::kBatched;
  // Where handlers run (nats::HandlerThread). kAdaptive (the default): on
  // the handler pool until 32 calls in a row returned within inline_budget
  // without waiting in our code (a nested service call, nats::WillBlock),
  // then on nats.c's delivery thread, as a raw nats.c callback, until a
  // call waits or works long: that call delays the subscriptions sharing
  // its delivery thread once; after a wait the later ones run on the
  // handler pool for good, after a long call they prove themselves again
  // (twice as many calls each time). A nested call's reply never needs that
  // thread: the Connection routes replies on threads of their own
  // (nats::InboxMux, nats.c's requests); broker/nats/nested_call_test answers
  // on one delivery thread. kHandlerPool: always on the handler pool (a
  // hand-off per message; no call ever delays another subscription).
  nats::HandlerThread handlers = nats::HandlerThread::kAdaptive;
  absl::Duration inline_budget = absl::Milliseconds(10);
};

// InvalidArgument for a null connection, a max_pending_messages below 1 or
// handlers = kDeliveryThread (a blocked handler would stall for ever).
absl::StatusOr<std::unique_ptr<Broker>> NewNatsBroker(
    std::shared_ptr<nats::Connection> connection,
    NatsBrokerOptions options = {});

}  // namespace micro_nats::broker

#endif  // MICRO_NATS_BROKER_NATS_NATS_BROKER_H_
