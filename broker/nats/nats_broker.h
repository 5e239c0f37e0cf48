// Copyright 2026 The micro-nats Authors.
//
// nats_broker.h: the broker on NATS publish/subscribe.
//
// Runs on the process's shared nats::Connection. Topics are NATS subjects,
// queue names NATS queue groups; headers travel as NATS headers and the body
// as raw bytes. Slow subscribers (nats.c's slow-consumer error) are reported
// through BrokerOptions::on_error. Drain returns by its deadline.
//
//   MN_ASSIGN_OR_RETURN(auto conn, nats::Connection::Connect({...}));
//   std::unique_ptr<Broker> broker = NewNatsBroker(conn);

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
};

std::unique_ptr<Broker> NewNatsBroker(
    std::shared_ptr<nats::Connection> connection,
    NatsBrokerOptions options = {});

}  // namespace micro_nats::broker

#endif  // MICRO_NATS_BROKER_NATS_NATS_BROKER_H_
