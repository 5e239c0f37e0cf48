// Copyright 2026 The micro-nats Authors.
//
// memory_service.h: services that find and call each other inside one
// process — what users' unit tests run instead of NATS.
//
// Services on the same MemoryNetwork share a registry, a transport and a
// message bus, so a whole system of services runs in one test with the
// same server and client code as on NATS:
//
//   auto network = NewMemoryNetwork();
//   auto greeter = NewMemoryService(
//       {.identity = {.name = "greeter"}, .network = network});
//   auto caller = NewMemoryService(
//       {.identity = {.name = "caller"}, .network = network});
//   (*greeter)->server().Handle<HelloRequest, HelloReply>(...);
//   (*greeter)->Start();
//   (*caller)->client().Call<HelloRequest, HelloReply>(
//       "greeter", "Greeter.Hello", request);

#ifndef MICRO_NATS_SERVICE_MEMORY_MEMORY_SERVICE_H_
#define MICRO_NATS_SERVICE_MEMORY_MEMORY_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/memory/memory_broker.h"
#include "events/events.h"
#include "registry/cache/cache.h"
#include "service/observer.h"
#include "service/service.h"
#include "transport/transport.h"

namespace micro_nats::service {

// What the services of one in-process system share.
struct MemoryNetwork {
  std::shared_ptr<registry::CachingRegistry> registry;
  std::shared_ptr<transport::Transport> transport;
  std::shared_ptr<broker::MemoryBus> bus;
  std::shared_ptr<ScatterWire> scatter;  // scatter_wire.h
  // Durable events (events/memory: one stream holds every topic; the
  // dead letters of "t" go to "dead.t" there too).
  std::shared_ptr<events::Events> events;
};

std::shared_ptr<MemoryNetwork> NewMemoryNetwork();

struct MemoryServiceOptions {
  // The name is required, here or in server.identity (a field set in both
  // must agree).
  ServiceIdentity identity;
  // Null: one network shared by the whole process.
  std::shared_ptr<MemoryNetwork> network;
  ServerOptions server;
  ClientOptions client;
  ScatterConfig scatter;  // service/scatter.h
  // What Server::Consume and Client::Emit use; null: the network's.
  // (events/memory NewMemoryEvents on a fake clock, for backoffs in tests.)
  std::shared_ptr<events::Events> events;
  // Told about every call the server handles and the client makes
  // (service/observer.h): metrics::NewMetricsObserver, tracing's...
  // Combined with server.observer and client.observer when those are set.
  std::shared_ptr<Observer> observer;
};

absl::StatusOr<std::unique_ptr<Service>> NewMemoryService(
    MemoryServiceOptions options);

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_MEMORY_MEMORY_SERVICE_H_
