// Copyright 2026 The micro-nats Authors.

#include "metrics/metrics.h"

#include <cmath>

namespace micro_nats::metrics {
namespace {

class NoopCounter : public Counter {
 public:
  void Add(double) override {}
};
class NoopGauge : public Gauge {
 public:
  void Add(double) override {}
  void Set(double) override {}
};
class NoopHistogram : public Histogram {
 public:
  void Observe(double) override {}
};

template <typename Instrument, typename Noop>
class NoopFamily : public Family<Instrument> {
 public:
  Instrument* With(absl::Span<const absl::string_view>) override {
    return &instrument_;
  }

 private:
  Noop instrument_;
};

class NoopHandle : public CollectorHandle {};

class NoopMetrics : public Metrics {
 public:
  absl::StatusOr<CounterFamily*> Counters(const FamilyOptions&) override {
    return &counters_;
  }
  absl::StatusOr<GaugeFamily*> Gauges(const FamilyOptions&) override {
    return &gauges_;
  }
  absl::StatusOr<HistogramFamily*> Histograms(const FamilyOptions&,
                                              std::vector<double>) override {
    return &histograms_;
  }
  std::unique_ptr<CollectorHandle> AddCollector(Collector) override {
    return std::make_unique<NoopHandle>();
  }

 private:
  NoopFamily<Counter, NoopCounter> counters_;
  NoopFamily<Gauge, NoopGauge> gauges_;
  NoopFamily<Histogram, NoopHistogram> histograms_;
};

}  // namespace

std::shared_ptr<Metrics> NewNoopMetrics() {
  return std::make_shared<NoopMetrics>();
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

}  // namespace micro_nats::metrics
