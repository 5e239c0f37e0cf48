// Copyright 2026 The micro-nats Authors.

#include "service/service.h"

#include <utility>

#include "status/status_macros.h"

namespace micro_nats::service {

absl::StatusOr<std::unique_ptr<Service>> Service::Create(
    ServiceOptions options) {
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(options.name));
  if (options.registry == nullptr || options.transport == nullptr) {
    return absl::InvalidArgumentError(
        "a service needs a registry and a transport");
  }
  std::unique_ptr<Service> service(new Service);
  service->keep_alive_ = std::move(options.keep_alive);
  service->registry_ =
      std::dynamic_pointer_cast<registry::CachingRegistry>(options.registry);
  if (service->registry_ == nullptr) {
    MN_ASSIGN_OR_RETURN(service->registry_,
                        registry::CachingRegistry::Create(
                            std::move(options.registry), options.cache));
  }
  options.server.name = options.name;
  options.server.version = options.version;
  options.server.metadata = options.metadata;
  if (options.scatter_wire != nullptr) {
    if (!options.scatter.on_error) {
      options.scatter.on_error = options.server.on_error;
    }
    options.server.frontends.push_back(
        Scatter::NewFrontend(options.scatter_wire, options.scatter));
  }
  service->scatter_ =
      std::make_unique<Scatter>(std::move(options.scatter), service->registry_,
                                std::move(options.scatter_wire));
  service->client_ =
      std::make_unique<Client>(std::move(options.client), service->registry_,
                               options.transport, options.broker);
  service->server_ = std::make_unique<Server>(
      std::move(options.server), service->registry_,
      std::move(options.transport), std::move(options.broker));
  return service;
}

Service::~Service() {
  server_.reset();  // stops: deregisters while the registry is up
  scatter_.reset();
  client_.reset();
  registry_.reset();
}

}  // namespace micro_nats::service
