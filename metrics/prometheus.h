// Copyright 2026 The micro-nats Authors.
//
// prometheus.h: Metrics on prometheus-cpp (1.0.1). Families live in a
// prometheus::Registry (given, or one of its own); the collectors'
// samples are added at scrape time. The whole is a prometheus::Collectable,
// so a process that already runs prometheus-cpp's Exposer can register it
// there; service/nats serves it itself (metrics/http_server.h).
//
//   auto metrics = NewPrometheusMetrics();
//   exposer.RegisterCollectable(metrics);          // theirs, or
//   std::string text = metrics->Text();            // the text format

#ifndef MICRO_NATS_METRICS_PROMETHEUS_H_
#define MICRO_NATS_METRICS_PROMETHEUS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace micro_nats::metrics {

// PrometheusMetrics
//
// Thread-safe.
class PrometheusMetrics : public Metrics, public prometheus::Collectable {
 public:
  explicit PrometheusMetrics(std::shared_ptr<prometheus::Registry> registry);
  ~PrometheusMetrics() override;

  absl::StatusOr<CounterFamily*> Counters(
      const FamilyOptions& options) override;
  absl::StatusOr<GaugeFamily*> Gauges(const FamilyOptions& options) override;
  absl::StatusOr<HistogramFamily*> Histograms(
      const FamilyOptions& options, std::vector<double> bounds) override;
  std::unique_ptr<CollectorHandle> AddCollector(Collector collector) override;

  // The registry's families, then the collectors' (one family per name).
  std::vector<prometheus::MetricFamily> Collect() const override;
  // Collect() in the Prometheus text format (0.0.4).
  std::string Text() const;

  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

 private:
  class Handle;
  struct Entry;
  template <typename Ours, typename Make>
  absl::StatusOr<Family<Ours>*> Get(const FamilyOptions& options,
                                    prometheus::MetricType type, Make make);

  const std::shared_ptr<prometheus::Registry> registry_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> families_;  // mu_
  // Collectors run under their lock: a handle's destructor waits for them.
  mutable std::mutex collectors_mu_;
  uint64_t next_collector_ = 0;               // collectors_mu_
  std::map<uint64_t, Collector> collectors_;  // collectors_mu_
};

// Null `registry`: a new one.
std::shared_ptr<PrometheusMetrics> NewPrometheusMetrics(
    std::shared_ptr<prometheus::Registry> registry = nullptr);

}  // namespace micro_nats::metrics

#endif  // MICRO_NATS_METRICS_PROMETHEUS_H_
