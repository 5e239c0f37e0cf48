// Copyright 2026 The micro-nats Authors.
//
// bounded_family.h: a Family whose label values are capped per label (the
// rest become "other"), over any backend's way to make an instrument for a
// full set of label values. Shared by the backends (metrics.cc,
// prometheus.cc).

#ifndef MICRO_NATS_METRICS_INTERNAL_BOUNDED_FAMILY_H_
#define MICRO_NATS_METRICS_INTERNAL_BOUNDED_FAMILY_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "metrics/metrics.h"

namespace micro_nats::metrics::internal {

using LabelValues = std::vector<std::pair<std::string, std::string>>;

// What a backend keeps its families of every kind as.
class AnyFamily {
 public:
  virtual ~AnyFamily() = default;
};

template <typename Instrument>
class BoundedFamily : public Family<Instrument>, public AnyFamily {
 public:
  // `make` is called under the family's lock, once per distinct bounded
  // set of values.
  using Make = std::function<std::unique_ptr<Instrument>(const LabelValues&)>;

  BoundedFamily(std::vector<std::string> labels, int max_label_values,
                Make make)
      : labels_(std::move(labels)),
        max_label_values_(max_label_values < 1 ? 1 : max_label_values),
        seen_(labels_.size()),
        make_(std::move(make)) {}

  const std::vector<std::string>& labels() const { return labels_; }

  Instrument* With(absl::Span<const absl::string_view> values) override {
    std::lock_guard<std::mutex> lock(mu_);
    LabelValues bounded;
    bounded.reserve(labels_.size());
    std::string key;
    for (size_t i = 0; i < labels_.size(); ++i) {
      absl::string_view value = values.size() == labels_.size()
                                    ? Bound(i, values[i])
                                    : kOtherLabelValue;
      bounded.emplace_back(labels_[i], std::string(value));
      key.append(value.data(), value.size());
      key.push_back('\0');
    }
    std::unique_ptr<Instrument>& instrument = instruments_[key];
    if (instrument == nullptr) instrument = make_(bounded);
    return instrument.get();
  }

 private:
  absl::string_view Bound(size_t label, absl::string_view value) {
    absl::flat_hash_set<std::string>& seen = seen_[label];
    auto it = seen.find(value);
    if (it != seen.end()) return *it;
    if (value == kOtherLabelValue ||
        static_cast<int>(seen.size()) >= max_label_values_) {
      return kOtherLabelValue;
    }
    return *seen.emplace(value).first;
  }

  const std::vector<std::string> labels_;
  const int max_label_values_;
  std::mutex mu_;
  std::vector<absl::flat_hash_set<std::string>> seen_;  // mu_, per label
  absl::flat_hash_map<std::string, std::unique_ptr<Instrument>>
      instruments_;  // mu_
  const Make make_;
};

}  // namespace micro_nats::metrics::internal

#endif  // MICRO_NATS_METRICS_INTERNAL_BOUNDED_FAMILY_H_
