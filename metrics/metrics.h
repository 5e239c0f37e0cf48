// Copyright 2026 The micro-nats Authors.
//
// metrics.h: what the blocks and the service report numbers to — counters,
// gauges and histograms in families with fixed label names, and values read
// at scrape time from the stats structs that exist already (CacheStats,
// ClientStats, ServerStats, the NATS connection's).
//
//   std::shared_ptr<PrometheusMetrics> metrics = NewPrometheusMetrics();
//   CounterFamily* sent = metrics->Counters({
//       .name = "orders_sent_total", .help = "Orders sent.",
//       .labels = {"region"}}).value();
//   Counter* eu = sent->With({"eu"});   // keep it: With takes a lock
//   eu->Add(1);
//
// Label values are bounded: a family keeps at most `max_label_values`
// distinct values per label; a value past them is counted under "other",
// so names from the network (an endpoint, a topic) cannot grow the series
// without bound.
//
// NoopMetrics (the default where a Metrics is optional) records nothing and
// costs a virtual call. The Prometheus backend (prometheus.h) keeps
// everything in prometheus-cpp's own Registry: there is no registry of ours.

#ifndef MICRO_NATS_METRICS_METRICS_H_
#define MICRO_NATS_METRICS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace micro_nats::metrics {

// What a label value past a family's bound is counted as.
inline constexpr absl::string_view kOtherLabelValue = "other";

struct FamilyOptions {
  // Prometheus naming: [a-zA-Z_:][a-zA-Z0-9_:]*, the unit in the name
  // (_seconds, _bytes), counters ending in _total.
  std::string name;
  std::string help;
  // The label names, fixed for the family's life.
  std::vector<std::string> labels;
  // Distinct values kept per label; the rest become "other".
  int max_label_values = 100;
};

class Counter {
 public:
  virtual ~Counter() = default;
  virtual void Add(double n) = 0;  // n >= 0
  void Increment() { Add(1); }
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void Add(double n) = 0;
  virtual void Set(double value) = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void Observe(double value) = 0;
};

// The instruments of one metric, one per set of label values.
template <typename Instrument>
class Family {
 public:
  virtual ~Family() = default;
  // The instrument for `values`, one per label name in order (a wrong
  // count gets the all-"other" one). Never null; valid while the Metrics
  // lives. Takes a lock and may allocate: hot paths keep the pointer.
  virtual Instrument* With(absl::Span<const absl::string_view> values) = 0;
  Instrument* With(std::initializer_list<absl::string_view> values) {
    return With(absl::MakeConstSpan(values.begin(), values.size()));
  }
};
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// A value read at scrape time (a collector's output).
struct Sample {
  enum class Type { kCounter, kGauge };
  std::string name;
  std::string help;
  Type type = Type::kGauge;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Called on each scrape, on the scraping thread: appends what it reads.
// Must not block for long (it holds up the scrape).
using Collector = std::function<void(std::vector<Sample>* out)>;

// Keeps a collector registered; its destructor unregisters it, waiting
// for a call in progress, so what the collector reads may go after.
class CollectorHandle {
 public:
  virtual ~CollectorHandle() = default;
};

// Metrics
//
// Thread-safe.
class Metrics {
 public:
  virtual ~Metrics() = default;

  // The family named options.name, made on first use. The same name again
  // with the same kind and labels: the same family. InvalidArgument for a
  // bad name or label name, or a name taken by another kind or labels.
  virtual absl::StatusOr<CounterFamily*> Counters(
      const FamilyOptions& options) = 0;
  virtual absl::StatusOr<GaugeFamily*> Gauges(const FamilyOptions& options) = 0;
  // `bounds`: the buckets' upper bounds, ascending (+Inf is implicit).
  virtual absl::StatusOr<HistogramFamily*> Histograms(
      const FamilyOptions& options, std::vector<double> bounds) = 0;

  virtual std::unique_ptr<CollectorHandle> AddCollector(
      Collector collector) = 0;
};

// Records nothing.
std::shared_ptr<Metrics> NewNoopMetrics();

// Latency buckets in seconds for RPC durations: 100 µs .. 60 s, roughly
// x2.5 apart (OpenTelemetry's defaults start at 5 ms, too coarse for calls
// that take 50 µs on a LAN).
std::vector<double> DefaultLatencyBuckets();

}  // namespace micro_nats::metrics

#endif  // MICRO_NATS_METRICS_METRICS_H_
