// Copyright 2026 The micro-nats Authors.

#include "service/nats/nats_service.h"

#include <google/protobuf/descriptor.h>
#include <nats/nats.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/http_server.h"
#include "metrics/observer.h"
#include "metrics/service_metrics.h"
#include "nats/message.h"
#include "status/status_macros.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats::service {
namespace {

// A registry that looks up and never registers: the NATS Service API
// frontend answers `$SRV` for the server already.
class LookupOnly : public registry::Registry {
 public:
  explicit LookupOnly(std::unique_ptr<registry::Registry> target)
      : target_(std::move(target)) {}
  absl::Status Register(const registry::Service& service,
                        registry::RegisterOptions options) override {
    return registry::ValidateService(service);
  }
  absl::Status Deregister(const registry::Service& service) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<registry::Service>> GetService(
      absl::string_view name) override {
    return target_->GetService(name);
  }
  absl::StatusOr<std::vector<registry::Service>> ListServices() override {
    return target_->ListServices();
  }
  absl::StatusOr<std::unique_ptr<registry::Watcher>> Watch(
      registry::WatchOptions options) override {
    return target_->Watch(std::move(options));
  }

 private:
  const std::unique_ptr<registry::Registry> target_;
};

// Key-value discovery: registers in the bucket and, when `broadcast` is
// set, in go-micro's broadcast registry too (go-micro peers find the
// service so), and looks up in the bucket only (local and complete).
class KvDiscovery : public registry::Registry {
 public:
  KvDiscovery(std::unique_ptr<registry::Registry> kv,
              std::unique_ptr<registry::Registry> broadcast)
      : kv_(std::move(kv)), broadcast_(std::move(broadcast)) {}
  // Both are tried whatever the other said; the bucket's error first.
  absl::Status Register(const registry::Service& service,
                        registry::RegisterOptions options) override {
    absl::Status kv = Hint(kv_->Register(service, options));
    absl::Status broadcast = broadcast_ == nullptr
                                 ? absl::OkStatus()
                                 : broadcast_->Register(service, options);
    return kv.ok() ? broadcast : kv;
  }
  absl::Status Deregister(const registry::Service& service) override {
    absl::Status kv = Hint(kv_->Deregister(service));
    absl::Status broadcast = broadcast_ == nullptr
                                 ? absl::OkStatus()
                                 : broadcast_->Deregister(service);
    return kv.ok() ? broadcast : kv;
  }
  absl::StatusOr<std::vector<registry::Service>> GetService(
      absl::string_view name) override {
    return kv_->GetService(name);
  }
  absl::StatusOr<registry::LookupResult> Find(absl::string_view name) override {
    return kv_->Find(name);
  }
  absl::StatusOr<std::vector<registry::Service>> ListServices() override {
    return kv_->ListServices();
  }
  absl::StatusOr<std::unique_ptr<registry::Watcher>> Watch(
      registry::WatchOptions options) override {
    return kv_->Watch(std::move(options));
  }

 private:
  // The bucket out of reach may be a server without JetStream (nats.c's
  // "no responders"): say what it needs. The code stays: it may pass.
  static absl::Status Hint(const absl::Status& status) {
    if (!absl::IsUnavailable(status)) return status;
    return absl::UnavailableError(absl::StrCat(
        "key-value discovery (NatsServiceOptions::Discovery::kKeyValue) "
        "needs JetStream (nats-server -js): ",
        status.message()));
  }

  const std::unique_ptr<registry::Registry> kv_;
  const std::unique_ptr<registry::Registry> broadcast_;  // may be null
};

// The client's way to NATS Service API nodes: a NATS request. Holds the
// connection weakly: the service keeps it alive, and a client that outlives
// it gets Unavailable.
class NatsRequestReply : public RequestReply {
 public:
  explicit NatsRequestReply(const std::shared_ptr<nats::Connection>& connection)
      : connection_(connection) {}

  absl::StatusOr<Message> Request(const std::string& subject,
                                  const Message& request,
                                  absl::Time deadline) override {
    std::shared_ptr<nats::Connection> c = connection_.lock();
    if (c == nullptr) return absl::UnavailableError("the connection is gone");
    MN_ASSIGN_OR_RETURN(
        nats::NatsMsgPtr reply,
        c->Request(subject, request.body, request.headers, deadline));
    return Message{.headers = nats::ReadHeaders(reply.get()),
                   .body = std::string(nats::Body(reply.get()))};
  }

 private:
  const std::weak_ptr<nats::Connection> connection_;
};

// The connection's own counts, read at scrape time (nats.c's statistics).
metrics::Collector ConnectionCollector(std::weak_ptr<nats::Connection> weak,
                                       std::string service) {
  return [weak = std::move(weak),
          service = std::move(service)](std::vector<metrics::Sample>* out) {
    std::shared_ptr<nats::Connection> connection = weak.lock();
    if (connection == nullptr) return;
    auto add = [&](const char* name, const char* help,
                   metrics::Sample::Type type, double value) {
      out->push_back({.name = name,
                      .help = help,
                      .type = type,
                      .labels = {{"rpc_service", service}},
                      .value = value});
    };
    constexpr auto kCounter = metrics::Sample::Type::kCounter;
    add("nats_connection_connected",
        "1 while the NATS connection is up, else 0.",
        metrics::Sample::Type::kGauge, connection->IsConnected() ? 1 : 0);
    natsStatistics* stats = nullptr;
    if (natsStatistics_Create(&stats) != NATS_OK) return;
    uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0,
             reconnects = 0;
    if (natsConnection_GetStats(connection->get(), stats) == NATS_OK &&
        natsStatistics_GetCounts(stats, &in_msgs, &in_bytes, &out_msgs,
                                 &out_bytes, &reconnects) == NATS_OK) {
      add("nats_connection_received_messages_total",
          "Messages the connection received.", kCounter, in_msgs);
      add("nats_connection_received_bytes_total",
          "Payload bytes the connection received.", kCounter, in_bytes);
      add("nats_connection_sent_messages_total",
          "Messages the connection sent.", kCounter, out_msgs);
      add("nats_connection_sent_bytes_total",
          "Payload bytes the connection sent.", kCounter, out_bytes);
      add("nats_connection_reconnects_total",
          "Times the connection reconnected.", kCounter, reconnects);
    }
    natsStatistics_Destroy(stats);
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<Service>> NewNatsService(
    NatsServiceOptions options) {
  // Checked before connecting (Server::Create would, but only after).
  MN_ASSIGN_OR_RETURN(
      options.identity,
      MergeIdentity(std::move(options.identity), options.server.identity));
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(options.identity.name));
  if (!options.metrics_address.empty()) {
    MN_RETURN_IF_ERROR(metrics::ValidateHttpAddress(options.metrics_address));
  }
  // Protobuf makes its descriptor pool on first use; made here, before the
  // connection starts threads, its creation is ordered before their use of
  // it in a way ThreadSanitizer can see (libprotobuf is not instrumented).
  google::protobuf::DescriptorPool::generated_pool();
  std::shared_ptr<nats::Connection> connection = options.connection;
  if (connection == nullptr) {
    nats::ConnectionOptions connection_options = options.connection_options;
    connection_options.servers = options.servers;
    if (connection_options.name == nats::ConnectionOptions().name) {
      connection_options.name = options.identity.name;
    }
    MN_ASSIGN_OR_RETURN(connection,
                        nats::Connection::Connect(connection_options));
  }
  std::shared_ptr<registry::Registry> registry;
  if (options.discovery == NatsServiceOptions::Discovery::kServiceApi) {
    if (!options.service_api.enabled) {
      return absl::InvalidArgumentError(
          "discovery through the NATS Service API needs service_api enabled");
    }
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<registry::Registry> srv,
        registry::NewSrvRegistry(connection, options.srv_registry));
    registry = std::make_shared<LookupOnly>(std::move(srv));
  } else if (options.discovery == NatsServiceOptions::Discovery::kKeyValue) {
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<registry::Registry> kv,
        registry::NewKvRegistry(connection, std::move(options.kv_registry)));
    std::unique_ptr<registry::Registry> broadcast;
    if (options.register_broadcast) {
      MN_ASSIGN_OR_RETURN(
          broadcast, registry::NewNatsRegistry(connection, options.registry));
    }
    registry =
        std::make_shared<KvDiscovery>(std::move(kv), std::move(broadcast));
  } else {
    MN_ASSIGN_OR_RETURN(
        registry, registry::NewNatsRegistry(connection, options.registry));
  }
  std::shared_ptr<events::Events> events;
  if (options.events.has_value()) {
    if (!options.events->events.on_error) {
      options.events->events.on_error = options.server.on_error;
    }
    absl::StatusOr<std::unique_ptr<events::Events>> made =
        events::NewJetStreamEvents(connection, std::move(*options.events));
    if (!made.ok()) {
      return absl::Status(
          made.status().code(),
          absl::StrCat("service '", options.identity.name,
                       "' asks for events (NatsServiceOptions::events): ",
                       made.status().message()));
    }
    events = std::move(made).value();
  }
  if (options.client.request_reply == nullptr) {
    options.client.request_reply =
        std::make_shared<NatsRequestReply>(connection);
  }
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
  if (!options.scatter_wire.on_error) {
    options.scatter_wire.on_error = options.server.on_error;
  }
  MN_ASSIGN_OR_RETURN(
      std::shared_ptr<ScatterWire> scatter_wire,
      NewNatsScatterWire(connection, std::move(options.scatter_wire)));
  MN_ASSIGN_OR_RETURN(std::shared_ptr<registry::CachingRegistry> cached,
                      registry::CachingRegistry::Create(
                          std::move(registry), std::move(options.cache)));
  // Metrics: the HTTP endpoint is a frontend of the server, which keeps
  // it for the service's life.
  std::shared_ptr<metrics::ServiceMetrics> service_metrics;
  std::shared_ptr<Observer> metrics_observer;
  if (!options.metrics_address.empty()) {
    std::weak_ptr<nats::Connection> weak = connection;
    MN_ASSIGN_OR_RETURN(
        service_metrics,
        metrics::ServiceMetrics::Create(
            {.address = options.metrics_address,
             .metrics = std::move(options.metrics),
             .ready = [weak]() -> absl::Status {
               std::shared_ptr<nats::Connection> c = weak.lock();
               if (c == nullptr || !c->IsConnected()) {
                 return absl::UnavailableError("the NATS connection is down");
               }
               return absl::OkStatus();
             },
             .collectors = {
                 ConnectionCollector(weak, options.identity.name)}}));
    metrics_observer = service_metrics->observer();
    options.server.frontends.push_back(service_metrics);
  } else if (options.metrics != nullptr) {
    metrics_observer = metrics::NewMetricsObserver(std::move(options.metrics));
  }
  std::shared_ptr<Observer> observer =
      CombineObservers({std::move(options.observer), metrics_observer});
  options.server.observer =
      CombineObservers({std::move(options.server.observer), observer});
  options.client.observer =
      CombineObservers({std::move(options.client.observer), observer});
  // The blocks hold the connection they run on: nothing else keeps it.
  MN_ASSIGN_OR_RETURN(std::unique_ptr<Service> service,
                      Service::Create({.identity = std::move(options.identity),
                                       .registry = std::move(cached),
                                       .transport = std::move(transport),
                                       .broker = std::move(broker),
                                       .events = std::move(events),
                                       .server = std::move(options.server),
                                       .client = std::move(options.client),
                                       .scatter_wire = std::move(scatter_wire),
                                       .scatter = std::move(options.scatter)}));
  if (service_metrics != nullptr) service_metrics->Attach(service.get());
  return service;
}

}  // namespace micro_nats::service
