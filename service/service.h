// Copyright 2026 The micro-nats Authors.
//
// service.h: a microservice — a Server and a Client on one registry,
// transport and broker.
//
// What a user writes a service with. Pick the blocks with
// service/nats (NewNatsService: one NATS connection for all three) or
// service/memory (NewMemoryService: every service of a test in one
// process), or give your own here:
//
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Service> service,
//       NewNatsService({.servers = {"nats://127.0.0.1:4222"},
//                       .identity = {.name = "greeter"}}));
//   MN_RETURN_IF_ERROR(service->server().Handle<HelloRequest, HelloReply>(
//       "Greeter.Hello", Hello));
//   MN_RETURN_IF_ERROR(service->Start());
//   ...
//   absl::StatusOr<HelloReply> reply =
//       service->client().Call<HelloRequest, HelloReply>(
//           "greeter", "Greeter.Hello", request);

#ifndef MICRO_NATS_SERVICE_SERVICE_H_
#define MICRO_NATS_SERVICE_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/broker.h"
#include "events/events.h"
#include "registry/cache/cache.h"
#include "registry/registry.h"
#include "service/client.h"
#include "service/scatter.h"
#include "service/server.h"
#include "transport/transport.h"

namespace micro_nats::service {

struct ServiceOptions {
  ServiceIdentity identity;  // the name is required, here or in `server`

  // Where the client looks services up and the server registers, behind
  // its cache (CachingRegistry::Create of any registry; the memory stack
  // shares one between services).
  std::shared_ptr<registry::CachingRegistry> registry;  // required
  std::shared_ptr<transport::Transport> transport;      // required
  std::shared_ptr<broker::Broker> broker;  // optional: no pub/sub without
  // Durable events (events.h) for Server::Consume and Client::Emit;
  // optional: neither without. The server stops its consumers before it
  // lets go of them.
  std::shared_ptr<events::Events> events;

  // The server's options and the client's. An identity field set both
  // above and in server.identity must agree (MergeIdentity).
  ServerOptions server;
  ClientOptions client;
  // Scatter-gather (scatter.h): the stack's wire (null: none; the stacks
  // set it) and how this service scatters and answers scatters.
  std::shared_ptr<ScatterWire> scatter_wire;
  ScatterConfig scatter;
};

// The identity a service's server gets: `service`'s fields, each empty one
// taken from `server`. InvalidArgument naming both values when both set a
// field (name, version or metadata) differently.
absl::StatusOr<ServiceIdentity> MergeIdentity(ServiceIdentity service,
                                              const ServiceIdentity& server);

// Service
//
// Thread-safe.
class Service {
 public:
  // InvalidArgument for a missing block, an invalid name, or an identity
  // that options.identity and options.server.identity disagree on.
  static absl::StatusOr<std::unique_ptr<Service>> Create(
      ServiceOptions options);
  // Stops (10 s deadline) if running.
  ~Service();

  Server& server() { return *server_; }
  Client& client() { return *client_; }
  // One request to every instance of a service (FailedPrecondition
  // without a scatter wire).
  Scatter& scatter() { return *scatter_; }
  const std::string& name() const { return server_->name(); }
  // The caching registry the client looks services up in.
  registry::CachingRegistry& registry() { return *registry_; }
  // The durable events the server consumes and the client emits; null
  // when the service has none.
  const std::shared_ptr<events::Events>& events() const { return events_; }

  absl::Status Start() { return server_->Start(); }
  absl::Status Stop(absl::Time deadline) { return server_->Stop(deadline); }

 private:
  Service() = default;

  std::shared_ptr<registry::CachingRegistry> registry_;
  std::shared_ptr<events::Events> events_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Scatter> scatter_;
  std::unique_ptr<Server> server_;  // stopped first
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_SERVICE_H_
