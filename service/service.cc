// Copyright 2026 The micro-nats Authors.

#include "service/service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

std::string Describe(const Metadata& metadata) {
  return absl::StrCat(
      "{", absl::StrJoin(metadata, ", ", absl::PairFormatter("=")), "}");
}

absl::Status Conflict(absl::string_view field, absl::string_view service,
                      absl::string_view server) {
  return absl::InvalidArgumentError(absl::StrCat(
      "the service's ", field, " is ", service, " but its server options say ",
      server, ": set it in one place"));
}

}  // namespace

absl::StatusOr<ServiceIdentity> MergeIdentity(ServiceIdentity service,
                                              const ServiceIdentity& server) {
  if (service.name.empty()) {
    service.name = server.name;
  } else if (!server.name.empty() && server.name != service.name) {
    return Conflict("name", absl::StrCat("'", service.name, "'"),
                    absl::StrCat("'", server.name, "'"));
  }
  if (service.version.empty()) {
    service.version = server.version;
  } else if (!server.version.empty() && server.version != service.version) {
    return Conflict("version", absl::StrCat("'", service.version, "'"),
                    absl::StrCat("'", server.version, "'"));
  }
  if (service.metadata.empty()) {
    service.metadata = server.metadata;
  } else if (!server.metadata.empty() && server.metadata != service.metadata) {
    return Conflict("metadata", Describe(service.metadata),
                    Describe(server.metadata));
  }
  return service;
}

absl::StatusOr<std::unique_ptr<Service>> Service::Create(
    ServiceOptions options) {
  MN_ASSIGN_OR_RETURN(
      options.server.identity,
      MergeIdentity(std::move(options.identity), options.server.identity));
  if (options.registry == nullptr || options.transport == nullptr) {
    return absl::InvalidArgumentError(
        "a service needs a registry and a transport");
  }
  std::unique_ptr<Service> service(new Service);
  service->registry_ = std::move(options.registry);
  service->events_ = options.events;
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
  MN_ASSIGN_OR_RETURN(
      service->client_,
      Client::Create(std::move(options.client), service->registry_,
                     options.transport, options.broker, options.events));
  MN_ASSIGN_OR_RETURN(
      service->server_,
      Server::Create(std::move(options.server), service->registry_,
                     std::move(options.transport), std::move(options.broker),
                     std::move(options.events)));
  return service;
}

Service::~Service() {
  server_.reset();  // stops: deregisters while the registry is up
  scatter_.reset();
  client_.reset();
  events_.reset();  // after the server's consumers stopped
  registry_.reset();
}

}  // namespace micro_nats::service
