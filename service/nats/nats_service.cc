// Copyright 2026 The micro-nats Authors.

#include "service/nats/nats_service.h"

#include <google/protobuf/descriptor.h>

#include <utility>

#include "status/status_macros.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats::service {

absl::StatusOr<std::unique_ptr<Service>> NewNatsService(
    NatsServiceOptions options) {
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(options.name));
  // Protobuf makes its descriptor pool on first use; made here, before the
  // connection starts threads, its creation is ordered before their use of
  // it in a way ThreadSanitizer can see (libprotobuf is not instrumented).
  google::protobuf::DescriptorPool::generated_pool();
  std::shared_ptr<nats::Connection> connection = options.connection;
  if (connection == nullptr) {
    nats::ConnectionOptions connection_options = options.connection_options;
    connection_options.servers = options.servers;
    if (connection_options.name == nats::ConnectionOptions().name) {
      connection_options.name = options.name;
    }
    MN_ASSIGN_OR_RETURN(connection,
                        nats::Connection::Connect(connection_options));
  }
  MN_ASSIGN_OR_RETURN(std::shared_ptr<registry::Registry> registry,
                      registry::NewNatsRegistry(connection, options.registry));
  MN_ASSIGN_OR_RETURN(std::shared_ptr<transport::Transport> transport,
                      transport::NewNatsTransport(connection));
  MN_ASSIGN_OR_RETURN(std::shared_ptr<broker::Broker> broker,
                      broker::NewNatsBroker(connection, options.broker));
  if (options.service_api.enabled) {
    if (!options.service_api.on_error) {
      options.service_api.on_error = options.server.on_error;
    }
    MN_ASSIGN_OR_RETURN(std::shared_ptr<Frontend> api,
                        NewServiceApi(connection, options.service_api));
    options.server.frontends.push_back(std::move(api));
  }
  return Service::Create({.name = std::move(options.name),
                          .version = std::move(options.version),
                          .metadata = std::move(options.metadata),
                          .registry = std::move(registry),
                          .transport = std::move(transport),
                          .broker = std::move(broker),
                          .server = std::move(options.server),
                          .client = std::move(options.client),
                          .cache = std::move(options.cache),
                          .keep_alive = std::move(connection)});
}

}  // namespace micro_nats::service
