// Copyright 2026 The micro-nats Authors.

#include "metrics/prometheus.h"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "metrics/internal/bounded_family.h"

namespace micro_nats::metrics {
namespace {

using internal::AnyFamily;
using internal::BoundedFamily;
using internal::LabelValues;

prometheus::Labels ToLabels(const LabelValues& values) {
  prometheus::Labels labels;
  for (const auto& [name, value] : values) labels.emplace(name, value);
  return labels;
}

class PromCounter : public Counter {
 public:
  explicit PromCounter(prometheus::Counter& counter) : counter_(counter) {}
  void Add(double n) override { counter_.Increment(n); }

 private:
  prometheus::Counter& counter_;
};

class PromGauge : public Gauge {
 public:
  explicit PromGauge(prometheus::Gauge& gauge) : gauge_(gauge) {}
  void Add(double n) override { gauge_.Increment(n); }
  void Set(double value) override { gauge_.Set(value); }

 private:
  prometheus::Gauge& gauge_;
};

class PromHistogram : public Histogram {
 public:
  explicit PromHistogram(prometheus::Histogram& histogram)
      : histogram_(histogram) {}
  void Observe(double value) override { histogram_.Observe(value); }

 private:
  prometheus::Histogram& histogram_;
};

absl::Status CheckNames(const FamilyOptions& options) {
  if (!prometheus::CheckMetricName(options.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad metric name '", options.name, "'"));
  }
  for (const std::string& label : options.labels) {
    if (!prometheus::CheckLabelName(label)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric '", options.name, "': bad label name '", label, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct PrometheusMetrics::Entry {
  prometheus::MetricType type;
  std::vector<std::string> labels;
  std::unique_ptr<AnyFamily> family;
};

class PrometheusMetrics::Handle : public CollectorHandle {
 public:
  Handle(PrometheusMetrics* metrics, uint64_t id)
      : metrics_(metrics), id_(id) {}
  ~Handle() override {
    std::lock_guard<std::mutex> lock(metrics_->collectors_mu_);
    metrics_->collectors_.erase(id_);
  }

 private:
  PrometheusMetrics* const metrics_;
  const uint64_t id_;
};

PrometheusMetrics::PrometheusMetrics(
    std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry != nullptr
                    ? std::move(registry)
                    : std::make_shared<prometheus::Registry>()) {}

PrometheusMetrics::~PrometheusMetrics() = default;

// Finds or makes the family: `make` registers prometheus-cpp's family and
// returns ours over it.
template <typename Ours, typename Make>
absl::StatusOr<Family<Ours>*> PrometheusMetrics::Get(
    const FamilyOptions& options, prometheus::MetricType type, Make make) {
  if (absl::Status names = CheckNames(options); !names.ok()) return names;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(options.name);
  if (it != families_.end()) {
    const Entry& entry = *it->second;
    if (entry.type != type || entry.labels != options.labels) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", options.name,
                       "' exists already with another type or labels (",
                       absl::StrJoin(entry.labels, ","), ")"));
    }
    return static_cast<BoundedFamily<Ours>*>(entry.family.get());
  }
  std::unique_ptr<BoundedFamily<Ours>> family;
  try {
    family = make();
  } catch (const std::exception& e) {  // prometheus-cpp's own refusal
    return absl::InvalidArgumentError(
        absl::StrCat("metric '", options.name, "': ", e.what()));
  }
  Family<Ours>* result = family.get();
  families_.emplace(options.name, std::make_unique<Entry>(
                                      Entry{.type = type,
                                            .labels = options.labels,
                                            .family = std::move(family)}));
  return result;
}

absl::StatusOr<CounterFamily*> PrometheusMetrics::Counters(
    const FamilyOptions& options) {
  return Get<Counter>(options, prometheus::MetricType::Counter, [&] {
    auto& theirs = prometheus::BuildCounter()
                       .Name(options.name)
                       .Help(options.help)
                       .Register(*registry_);
    return std::make_unique<BoundedFamily<Counter>>(
        options.labels, options.max_label_values,
        [&theirs](const LabelValues& values) {
          return std::make_unique<PromCounter>(theirs.Add(ToLabels(values)));
        });
  });
}

absl::StatusOr<GaugeFamily*> PrometheusMetrics::Gauges(
    const FamilyOptions& options) {
  return Get<Gauge>(options, prometheus::MetricType::Gauge, [&] {
    auto& theirs = prometheus::BuildGauge()
                       .Name(options.name)
                       .Help(options.help)
                       .Register(*registry_);
    return std::make_unique<BoundedFamily<Gauge>>(
        options.labels, options.max_label_values,
        [&theirs](const LabelValues& values) {
          return std::make_unique<PromGauge>(theirs.Add(ToLabels(values)));
        });
  });
}

absl::StatusOr<HistogramFamily*> PrometheusMetrics::Histograms(
    const FamilyOptions& options, std::vector<double> bounds) {
  for (size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i - 1] < bounds[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric '", options.name, "': bucket bounds must ascend"));
    }
  }
  return Get<Histogram>(options, prometheus::MetricType::Histogram, [&] {
    auto& theirs = prometheus::BuildHistogram()
                       .Name(options.name)
                       .Help(options.help)
                       .Register(*registry_);
    return std::make_unique<BoundedFamily<Histogram>>(
        options.labels, options.max_label_values,
        [&theirs, bounds](const LabelValues& values) {
          return std::make_unique<PromHistogram>(
              theirs.Add(ToLabels(values), bounds));
        });
  });
}

std::unique_ptr<CollectorHandle> PrometheusMetrics::AddCollector(
    Collector collector) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return std::make_unique<Handle>(this, id);
}

std::vector<prometheus::MetricFamily> PrometheusMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<Sample> samples;
  {
    std::lock_guard<std::mutex> lock(collectors_mu_);
    for (const auto& [id, collector] : collectors_) collector(&samples);
  }
  // One family per name, in the order first seen.
  absl::flat_hash_map<std::string, size_t> index;
  for (Sample& sample : samples) {
    auto [it, added] = index.emplace(sample.name, families.size());
    if (added) {
      prometheus::MetricFamily family;
      family.name = sample.name;
      family.help = std::move(sample.help);
      family.type = sample.type == Sample::Type::kCounter
                        ? prometheus::MetricType::Counter
                        : prometheus::MetricType::Gauge;
      families.push_back(std::move(family));
    }
    prometheus::MetricFamily& family = families[it->second];
    prometheus::ClientMetric metric;
    for (auto& [name, value] : sample.labels) {
      metric.label.push_back({std::move(name), std::move(value)});
    }
    if (family.type == prometheus::MetricType::Counter) {
      metric.counter.value = sample.value;
    } else {
      metric.gauge.value = sample.value;
    }
    family.metric.push_back(std::move(metric));
  }
  return families;
}

std::string PrometheusMetrics::Text() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

std::shared_ptr<PrometheusMetrics> NewPrometheusMetrics(
    std::shared_ptr<prometheus::Registry> registry) {
  return std::make_shared<PrometheusMetrics>(std::move(registry));
}

}  // namespace micro_nats::metrics
