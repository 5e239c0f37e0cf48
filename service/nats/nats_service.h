// Copyright 2026 The micro-nats Authors.
//
// nats_service.h: a service whose registry, transport and broker all run on
// one shared NATS connection.
//
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Service> greeter,
//       NewNatsService({.servers = {"nats://10.0.0.1:4222",
//                                   "nats://10.0.0.2:4222"},
//                       .identity = {.name = "greeter"}}));
//
// The registry is go-micro's NATS registry (registry/nats) behind the
// caching registry (registry/cache); go-micro services on the same NATS see
// this one and it sees them. The service also speaks the NATS Service API
// (service_api.h), so `nats micro ls` and the nats.go/nats.js micro
// clients see and call it.
//
// On a nats-server with JetStream (nats-server -js) a service can also use
// a key-value bucket for discovery (Discovery::kKeyValue, registry/kv) and
// durable events (`events`: Server::Consume, Client::Emit):
//
//   NewNatsService({.identity = {.name = "billing"},
//                   .discovery = NatsServiceOptions::Discovery::kKeyValue,
//                   .events = events::JetStreamEventsOptions{
//                       .events = {.streams = {
//                           {.name = "ORDERS", .subjects = {"orders.>"}},
//                           {.name = "DEAD", .subjects = {"dead.>"}}}}}});

#ifndef MICRO_NATS_SERVICE_NATS_NATS_SERVICE_H_
#define MICRO_NATS_SERVICE_NATS_NATS_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "broker/nats/nats_broker.h"
#include "events/jetstream/jetstream_events.h"
#include "metrics/prometheus.h"
#include "nats/connection.h"
#include "registry/kv/kv_registry.h"
#include "registry/nats/nats_registry.h"
#include "registry/srv/srv_registry.h"
#include "service/nats/scatter_wire.h"
#include "service/nats/service_api.h"
#include "service/observer.h"
#include "service/service.h"

namespace micro_nats::service {

struct NatsServiceOptions {
  // Several for a cluster.
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  // The name is required, here or in server.identity (a field set in both
  // must agree).
  ServiceIdentity identity;

  // The connection's other options (`servers` above wins; its name
  // defaults to the service's). Ignored when `connection` is given.
  nats::ConnectionOptions connection_options;
  // A connection to share with other services of the process; null: a new
  // one.
  std::shared_ptr<nats::Connection> connection;

  // Where services are looked up:
  //   - kMicroRegistry: go-micro's NATS registry (registry/nats), where
  //     this service also registers;
  //   - kServiceApi: the NATS Service API (registry/srv), which also finds
  //     services written with the nats.go/nats.js/nats.c micro libraries
  //     (called by request/reply on their endpoint subjects), but has no
  //     watch and no TTL: the client's cache then keeps what it found for
  //     `cache.node_ttl` (or until a call to a node fails). This service
  //     is then found through its own `$SRV` answers (service_api must be
  //     enabled);
  //   - kKeyValue: a JetStream key-value bucket (registry/kv, options
  //     `kv_registry`): each client keeps a local replica fed by a watch,
  //     so lookups are local and complete. Needs nats-server -js (Start
  //     is Unavailable saying so when the bucket is out of reach). The
  //     service registers there, and also in go-micro's NATS registry
  //     while `register_broadcast` holds, so go-micro peers (and this
  //     library with kMicroRegistry) find it too; lookups use the bucket
  //     only.
  // The NATS Service API (ADR-32 tools, `nats micro ls`) sees the service
  // whatever the discovery, while service_api is enabled.
  enum class Discovery { kMicroRegistry, kServiceApi, kKeyValue };
  Discovery discovery = Discovery::kMicroRegistry;
  registry::NatsRegistryOptions registry;
  registry::KvRegistryOptions kv_registry;
  bool register_broadcast = true;
  registry::SrvRegistryOptions srv_registry;
  broker::NatsBrokerOptions broker;
  registry::CacheOptions cache;
  ServerOptions server;
  ClientOptions client;
  // The NATS Service API (ADR-32): `$SRV` answers and endpoint subjects.
  // Its on_error defaults to the server's.
  ServiceApiOptions service_api;
  // Scatter-gather (service/scatter.h, scatter_wire.h): how this service
  // scatters and answers, and on which subjects. Their on_error default to
  // the server's.
  ScatterConfig scatter;
  NatsScatterOptions scatter_wire;
  // Durable events on JetStream (Server::Consume, Client::Emit): the
  // streams to create or check (a stream holding the dead-letter topics
  // too, "dead.>" by default), pull and API timeouts. Unset: no events,
  // and the service needs no JetStream. Set on a server without JetStream:
  // NewNatsService is FailedPrecondition saying to run nats-server -js.
  // Its events.on_error defaults to the server's.
  absl::optional<events::JetStreamEventsOptions> events;

  // Metrics and health over HTTP (metrics/service_metrics.h), e.g.
  // "127.0.0.1:9464": GET /metrics (Prometheus text: every call's rpc_*
  // and messaging_* families, metrics/observer.h, and the service's and
  // the connection's stats), /healthz, and /readyz (200 from registration
  // until Stop begins, while the NATS connection is up; else 503 with the
  // reason). Empty: none. A bad address is InvalidArgument; one that
  // cannot be listened on, Unavailable. The endpoint outlives Stop (so
  // /readyz says "stopped") and stops when the service is destroyed, up to
  // 2 s past Stop's deadline (civetweb's listener polls every 2 s).
  std::string metrics_address;
  // Where the metrics are kept; null: a new registry. Give your own to add
  // families of yours, or to serve it yourself (it is a
  // prometheus::Collectable) without metrics_address.
  std::shared_ptr<metrics::PrometheusMetrics> metrics;
  // Told about every call the server handles and the client makes
  // (service/observer.h) besides the metrics: tracing's, say. Combined
  // with server.observer and client.observer when those are set too.
  std::shared_ptr<Observer> observer;
};

absl::StatusOr<std::unique_ptr<Service>> NewNatsService(
    NatsServiceOptions options);

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_NATS_NATS_SERVICE_H_
