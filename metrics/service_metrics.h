// Copyright 2026 The micro-nats Authors.
//
// service_metrics.h: a service's metrics and health on HTTP for its whole
// life (http_server.h): /metrics with the observer's families and, read at
// each scrape, the stats the service keeps anyway (ServerStats,
// ClientStats, the registry cache's CacheStats, and any collectors given:
// service/nats adds the NATS connection's); /healthz; /readyz, ready only
// from the server's registration until its Stop begins (Server::ready())
// and while `ready` says OK (service/nats: the connection is up).
//
// It is a server Frontend, so the server it serves keeps it, and it learns
// when the server starts and stops:
//
//   MN_ASSIGN_OR_RETURN(auto metrics, ServiceMetrics::Create(
//                                         {.address = "127.0.0.1:9464"}));
//   options.server.frontends.push_back(metrics);
//   options.server.observer = metrics->observer();
//   options.client.observer = metrics->observer();
//   MN_ASSIGN_OR_RETURN(auto service, Service::Create(std::move(options)));
//   metrics->Attach(service.get());
//
// (NewNatsService does this for NatsServiceOptions::metrics_address.)

#ifndef MICRO_NATS_METRICS_SERVICE_METRICS_H_
#define MICRO_NATS_METRICS_SERVICE_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"
#include "metrics/prometheus.h"
#include "service/observer.h"
#include "service/server.h"
#include "service/service.h"

namespace micro_nats::metrics {

struct ServiceMetricsOptions {
  // Where /metrics, /healthz and /readyz are served (http_server.h).
  std::string address;
  // Null: a new one. Give one to add families of your own.
  std::shared_ptr<PrometheusMetrics> metrics;
  // Readiness besides the server's; OK: ready. Null: none.
  std::function<absl::Status()> ready;
  // Read at each scrape, besides the service's stats.
  std::vector<Collector> collectors;
};

// ServiceMetrics
//
// Thread-safe.
class ServiceMetrics : public service::Frontend {
 public:
  // Listens at once. InvalidArgument for a bad address; Unavailable when
  // it cannot listen there.
  static absl::StatusOr<std::shared_ptr<ServiceMetrics>> Create(
      ServiceMetricsOptions options);
  ~ServiceMetrics() override;

  const std::shared_ptr<PrometheusMetrics>& metrics() const { return metrics_; }
  // NewMetricsObserver(metrics()): give it to the server and the client.
  const std::shared_ptr<service::Observer>& observer() const {
    return observer_;
  }
  int port() const { return http_->port(); }

  // Reads `service`'s stats and readiness from now on. Once, right after
  // Service::Create, with the service whose server holds this frontend.
  // The service's stats are read live until the server's Stop; after it,
  // /metrics shows their last values (this may then outlive the service:
  // it no longer touches it). A service whose server never starts gets no
  // Stop: keep this only as long as that service (the server holds it).
  void Attach(service::Service* service);

  absl::Status Start(service::ServedService served) override;
  absl::Status Stop(absl::Time deadline) override;

 private:
  explicit ServiceMetrics(ServiceMetricsOptions options);
  absl::Status Ready();
  void CollectServer(std::vector<Sample>* out);
  void CollectClient(std::vector<Sample>* out);
  void SnapshotClient();  // mu_ held, client_ set

  ServiceMetricsOptions options_;
  std::shared_ptr<PrometheusMetrics> metrics_;
  std::shared_ptr<service::Observer> observer_;

  // The server is read only between Start and Stop, the client and the
  // registry from Attach until Stop (Stop runs in the server's destructor
  // too, before the service's parts go; a scrape holds mu_ while reading
  // them). After Stop their last stats are shown: the service may be gone.
  std::mutex mu_;
  // Taken at Attach: Service::server() is not usable while the service's
  // destructor stops it (its pointer is reset first).
  service::Server* server_ = nullptr;              // mu_
  std::string name_;                               // mu_
  bool serving_ = false;                           // mu_
  bool stopped_once_ = false;                      // mu_
  service::Client* client_ = nullptr;              // mu_
  registry::CachingRegistry* registry_ = nullptr;  // mu_
  service::ServerStats last_server_;               // mu_
  service::ClientStats last_client_;               // mu_
  registry::CacheStats last_cache_;                // mu_
  int64_t last_cached_names_ = 0;                  // mu_

  std::vector<std::unique_ptr<CollectorHandle>> collectors_;
  std::unique_ptr<HttpServer> http_;  // last: stopped first
};

}  // namespace micro_nats::metrics

#endif  // MICRO_NATS_METRICS_SERVICE_METRICS_H_
