// Copyright 2026 The micro-nats Authors.

#include "metrics/service_metrics.h"

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "metrics/observer.h"

namespace micro_nats::metrics {
namespace {

// One stats field as a sample.
struct Field {
  const char* name;
  const char* help;
  int64_t value;
  Sample::Type type = Sample::Type::kCounter;
};

// Each of `fields`, labelled with the service.
void Add(std::vector<Sample>* out, const std::string& service,
         std::initializer_list<Field> fields) {
  for (const Field& field : fields) {
    out->push_back({.name = field.name,
                    .help = field.help,
                    .type = field.type,
                    .labels = {{"rpc_service", service}},
                    .value = static_cast<double>(field.value)});
  }
}

}  // namespace

ServiceMetrics::ServiceMetrics(ServiceMetricsOptions options)
    : options_(std::move(options)),
      metrics_(options_.metrics != nullptr ? options_.metrics
                                           : NewPrometheusMetrics()),
      observer_(NewMetricsObserver(metrics_)) {}

ServiceMetrics::~ServiceMetrics() {
  // Scrapes end before the collectors (and what they read) go.
  http_.reset();
  collectors_.clear();
}

absl::StatusOr<std::shared_ptr<ServiceMetrics>> ServiceMetrics::Create(
    ServiceMetricsOptions options) {
  std::shared_ptr<ServiceMetrics> made(new ServiceMetrics(std::move(options)));
  for (Collector& collector : made->options_.collectors) {
    made->collectors_.push_back(made->metrics_->AddCollector(collector));
  }
  ServiceMetrics* self = made.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Start({.address = made->options_.address,
                         .metrics = [self] { return self->metrics_->Text(); },
                         .ready = [self] { return self->Ready(); }});
  if (!http.ok()) return http.status();
  made->http_ = std::move(http).value();
  return made;
}

void ServiceMetrics::Attach(service::Service* service) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    server_ = &service->server();
    client_ = &service->client();
    registry_ = &service->registry();
    name_ = service->name();
  }
  collectors_.push_back(metrics_->AddCollector(
      [this](std::vector<Sample>* out) { CollectServer(out); }));
  collectors_.push_back(metrics_->AddCollector(
      [this](std::vector<Sample>* out) { CollectClient(out); }));
}

void ServiceMetrics::CollectClient(std::vector<Sample>* out) {
  service::ClientStats stats;
  registry::CacheStats cache;
  int64_t cached_names = 0;
  std::string name;
  {
    // Read live until Stop detaches (a scrape during it waits here): the
    // service may be gone after it.
    std::lock_guard<std::mutex> lock(mu_);
    if (server_ == nullptr) return;
    if (client_ != nullptr) SnapshotClient();
    stats = last_client_;
    cache = last_cache_;
    cached_names = last_cached_names_;
    name = name_;
  }
  Add(out, name,
      {
          {"micro_client_calls_total", "Calls the client made (ClientStats).",
           stats.calls},
          {"micro_client_retries_total",
           "Attempts after a call's first (ClientStats).", stats.retries},
          {"micro_client_evicted_total",
           "Nodes dropped from the cache after failing (ClientStats).",
           stats.evicted},
          {"micro_client_streams_total", "Streams opened (ClientStats).",
           stats.streams},
          {"micro_client_budget_exhausted_total",
           "Retries and hedges the retry budget refused (ClientStats).",
           stats.budget_exhausted},
          {"micro_client_outcome_unknown_total",
           "Non-idempotent calls failed after delivery (ClientStats).",
           stats.outcome_unknown},
          {"micro_client_hedges_total", "Hedged attempts sent (ClientStats).",
           stats.hedges},
          {"micro_client_hedge_wins_total",
           "Calls a hedged attempt answered (ClientStats).", stats.hedge_wins},
          {"micro_client_breaker_opened_total",
           "Times a node's circuit breaker opened (ClientStats).",
           stats.breaker_opened},
          {"micro_registry_lookups_total",
           "Lookups in the registry cache (CacheStats).", cache.lookups},
          {"micro_registry_cache_hits_total",
           "Lookups answered without asking the registry (CacheStats).",
           cache.from_cache},
          {"micro_registry_backend_queries_total",
           "Queries sent to the registry (CacheStats).", cache.backend_queries},
          {"micro_registry_joined_queries_total",
           "Lookups answered by another lookup's query (CacheStats).",
           cache.joined_queries},
          {"micro_registry_timed_out_total",
           "Lookups whose deadline came first (CacheStats).", cache.timed_out},
          {"micro_registry_cached_services",
           "Service names the registry cache holds.", cached_names,
           Sample::Type::kGauge},
      });
}

void ServiceMetrics::SnapshotClient() {
  last_client_ = client_->stats();
  last_cache_ = registry_->stats();
  last_cached_names_ = static_cast<int64_t>(registry_->CachedNames());
}

void ServiceMetrics::CollectServer(std::vector<Sample>* out) {
  service::ServerStats stats;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (server_ == nullptr) return;
    stats = serving_ ? server_->stats() : last_server_;
    name = name_;
  }
  Add(out, name,
      {
          {"micro_server_requests_total",
           "Requests the server answered, errors included (ServerStats).",
           stats.requests},
          {"micro_server_errors_total",
           "Requests answered with an error (ServerStats).", stats.errors},
          {"micro_server_overloaded_total",
           "Requests refused because the server was full (ServerStats).",
           stats.overloaded},
          {"micro_server_expired_in_queue_total",
           "Requests whose deadline passed while queued (ServerStats).",
           stats.expired_in_queue},
          {"micro_server_streams_total", "Streams accepted (ServerStats).",
           stats.streams},
          {"micro_server_streams_cancelled_at_stop_total",
           "Streams Stop cancelled at its deadline (ServerStats).",
           stats.streams_cancelled_at_stop},
      });
}

absl::Status ServiceMetrics::Ready() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (server_ == nullptr || !serving_) {
      return absl::UnavailableError(stopped_once_ ? "stopped" : "not started");
    }
    if (!server_->ready()) {
      return absl::UnavailableError("not registered, or stopping");
    }
  }
  return options_.ready ? options_.ready() : absl::OkStatus();
}

absl::Status ServiceMetrics::Start(service::ServedService) {
  std::lock_guard<std::mutex> lock(mu_);
  serving_ = true;
  return absl::OkStatus();
}

absl::Status ServiceMetrics::Stop(absl::Time) {
  std::lock_guard<std::mutex> lock(mu_);
  if (serving_ && server_ != nullptr) last_server_ = server_->stats();
  if (client_ != nullptr) {
    SnapshotClient();
    client_ = nullptr;
    registry_ = nullptr;
  }
  serving_ = false;
  stopped_once_ = true;
  return absl::OkStatus();
}

}  // namespace micro_nats::metrics
