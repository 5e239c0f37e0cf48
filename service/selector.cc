// Copyright 2026 The micro-nats Authors.

#include "service/selector.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "concurrency/coarse_clock.h"

namespace micro_nats::service {
namespace {

class RoundRobinSelector : public Selector {
 public:
  registry::Node Select(absl::string_view service,
                        const std::vector<registry::Node>& nodes) override {
    return nodes[Turn(service) % nodes.size()];
  }
  size_t SelectIndex(absl::string_view service,
                     const std::vector<const registry::Node*>& nodes) override {
    // One candidate (the common case): no turn to take, no lock.
    if (nodes.size() == 1) return 0;
    return Turn(service) % nodes.size();
  }

 private:
  uint64_t Turn(absl::string_view service) {
    uint64_t turn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = next_.find(service);  // no key copied once it is there
      if (it == next_.end()) it = next_.emplace(std::string(service), 0).first;
      turn = it->second++;
    }
    return turn;
  }

  std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> next_;  // mu_; per service
};

class RandomSelector : public Selector {
 public:
  registry::Node Select(absl::string_view,
                        const std::vector<registry::Node>& nodes) override {
    return nodes[Index(nodes.size())];
  }
  size_t SelectIndex(absl::string_view,
                     const std::vector<const registry::Node*>& nodes) override {
    return Index(nodes.size());
  }

 private:
  size_t Index(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::Uniform<size_t>(gen_, 0, size);
  }

  std::mutex mu_;
  absl::BitGen gen_;  // guarded by mu_
};

// Power of two choices on weighted latency x (in flight + 1), with outlier
// ejection (selector.h). One mutex: each of SelectIndex, Started and
// Finished holds it for a few map look-ups; nothing is allocated once a
// service's nodes are known.
class LatencyAwareSelector : public Selector {
 public:
  explicit LatencyAwareSelector(LatencyAwareOptions options)
      : options_(std::move(options)) {
    options_.decay = std::clamp(options_.decay, 1e-3, 1.0);
    options_.min_samples = std::max(options_.min_samples, 1);
    options_.max_nodes = std::max(options_.max_nodes, 1);
    options_.max_services = std::max(options_.max_services, 1);
    if (!options_.now) options_.now = [] { return concurrency::CoarseNow(); };
  }

  registry::Node Select(absl::string_view service,
                        const std::vector<registry::Node>& nodes) override {
    std::vector<const registry::Node*> pointers;
    pointers.reserve(nodes.size());
    for (const registry::Node& node : nodes) pointers.push_back(&node);
    return nodes[SelectIndex(service, pointers)];
  }

  size_t SelectIndex(absl::string_view service,
                     const std::vector<const registry::Node*>& nodes) override {
    if (nodes.size() == 1) return 0;
    const absl::Time now = options_.now();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = services_.find(service);
    if (it == services_.end()) {
      // Nothing known yet: two at random, as if scores were equal.
      return Draw(nodes.size());
    }
    ServiceState& state = it->second;
    ReturnExpired(state, now);
    if (state.ejected == 0) {
      // The common case: every candidate is eligible.
      const auto [i, j] = DrawTwo(nodes.size());
      return Better(state, now, i, Find(state, *nodes[i]), j,
                    Find(state, *nodes[j]));
    }
    eligible_.clear();
    for (size_t i = 0; i < nodes.size(); ++i) {
      NodeState* node = Find(state, *nodes[i]);
      if (node == nullptr || !node->ejected) eligible_.push_back({i, node});
    }
    if (eligible_.empty()) {  // every candidate ejected: all are eligible
      for (size_t i = 0; i < nodes.size(); ++i) {
        eligible_.push_back({i, Find(state, *nodes[i])});
      }
    }
    if (eligible_.size() == 1) return eligible_[0].first;
    const auto [a, b] = DrawTwo(eligible_.size());
    return Better(state, now, eligible_[a].first, eligible_[a].second,
                  eligible_[b].first, eligible_[b].second);
  }

  void Started(absl::string_view service, const registry::Node& node) override {
    const absl::Time now = options_.now();
    std::lock_guard<std::mutex> lock(mu_);
    ServiceState* state = ServiceFor(service, now);
    if (state == nullptr) return;
    NodeState* entry = NodeFor(*state, node.id, now);
    if (entry == nullptr) return;
    ++entry->in_flight;
    entry->last_seen = now;
  }

  void Finished(absl::string_view service, const registry::Node& node,
                const AttemptResult& result) override {
    const absl::Time now = options_.now();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = services_.find(service);
    if (it == services_.end()) return;
    ServiceState& state = it->second;
    NodeState* entry = Find(state, node);
    if (entry == nullptr) return;
    if (entry->in_flight > 0) --entry->in_flight;
    entry->last_seen = now;
    if (entry->ejected) return;  // a late answer: its samples start afresh
    double latency = absl::ToDoubleSeconds(result.latency);
    // An abandoned hedge loser's time is only a lower bound on the node's:
    // a sample only when it already says the node is slower than thought.
    if (result.cancelled &&
        (entry->samples == 0 || latency <= entry->latency)) {
      return;
    }
    // A failure is often quick (refused, no responders): it must not make
    // the node look fast.
    if (result.node_failed && entry->samples > 0) {
      latency = std::max(latency, entry->latency);
    }
    const double decay = options_.decay;
    const double failed = result.node_failed ? 1.0 : 0.0;
    if (entry->samples == 0) {
      entry->latency = latency;
      entry->errors = failed;
    } else {
      // Nothing heard for probe_after: the average is stale, the sample (a
      // probe's, or a quiet client's) replaces it.
      entry->latency =
          now - entry->last_sample >= options_.probe_after
              ? latency
              : entry->latency + decay * (latency - entry->latency);
      entry->errors += decay * (failed - entry->errors);
    }
    ++entry->samples;
    entry->last_sample = now;
    if (++state.finishes >= state.refresh_every) {
      state.finishes = 0;
      RefreshMedian(state);
    }
    if (entry->ejections > 0 &&
        now - entry->returned >= options_.ejection_time) {
      // Healthy for a while since it came back: the next ejection is shorter.
      --entry->ejections;
      entry->returned = now;
    }
    if (entry->samples >= options_.min_samples && IsOutlier(state, *entry)) {
      Eject(state, *entry, now);
    }
  }

 private:
  struct NodeState {
    double latency = 0;  // seconds, moving average; valid once samples > 0
    double errors = 0;   // moving share of node failures
    int64_t samples = 0;
    int in_flight = 0;
    absl::Time last_sample = absl::InfinitePast();
    absl::Time last_probe = absl::InfinitePast();
    absl::Time last_seen = absl::InfinitePast();
    bool ejected = false;
    absl::Time ejected_until = absl::InfinitePast();
    int ejections = 0;  // in a row (lengthens the next)
    absl::Time returned = absl::InfinitePast();
  };
  struct ServiceState {
    std::map<std::string, NodeState, std::less<>> nodes;
    int ejected = 0;
    absl::Time next_return = absl::InfiniteFuture();
    double median = 0;  // of nodes with samples; 0: none
    int finishes = 0;
    int refresh_every = 1;
    absl::Time last_sweep = absl::InfinitePast();
  };

  static NodeState* Find(ServiceState& state, const registry::Node& node) {
    auto it = state.nodes.find(node.id);
    return it == state.nodes.end() ? nullptr : &it->second;
  }

  ServiceState* ServiceFor(absl::string_view service, absl::Time now) {
    auto it = services_.find(service);
    if (it != services_.end()) return &it->second;
    if (now - last_sweep_ >= options_.forget_after) {
      last_sweep_ = now;
      for (auto s = services_.begin(); s != services_.end();) {
        Sweep(s->second, now);
        s = s->second.nodes.empty() ? services_.erase(s) : std::next(s);
      }
    }
    if (services_.size() >= static_cast<size_t>(options_.max_services)) {
      return nullptr;
    }
    ServiceState& state = services_[std::string(service)];
    state.last_sweep = now;
    return &state;
  }

  NodeState* NodeFor(ServiceState& state, absl::string_view id,
                     absl::Time now) {
    if (now - state.last_sweep >= options_.forget_after) {
      state.last_sweep = now;
      Sweep(state, now);
    }
    auto it = state.nodes.find(id);
    if (it != state.nodes.end()) return &it->second;
    if (state.nodes.size() >= static_cast<size_t>(options_.max_nodes)) {
      return nullptr;
    }
    NodeState* entry = &state.nodes[std::string(id)];
    state.refresh_every = std::max<int>(1, state.nodes.size() / 8);
    return entry;
  }

  // Forgets nodes neither picked nor answering for forget_after.
  void Sweep(ServiceState& state, absl::Time now) {
    for (auto it = state.nodes.begin(); it != state.nodes.end();) {
      const NodeState& node = it->second;
      if (node.in_flight == 0 &&
          now - node.last_seen >= options_.forget_after) {
        if (node.ejected) --state.ejected;
        it = state.nodes.erase(it);
      } else {
        ++it;
      }
    }
    state.refresh_every = std::max<int>(1, state.nodes.size() / 8);
    RefreshMedian(state);
  }

  void ReturnExpired(ServiceState& state, absl::Time now) {
    if (state.ejected == 0 || now < state.next_return) return;
    state.next_return = absl::InfiniteFuture();
    for (auto& [id, node] : state.nodes) {
      if (!node.ejected) continue;
      if (now >= node.ejected_until) {
        // Back with its samples forgotten: scored as its peers until it
        // has its own again.
        node.ejected = false;
        node.samples = 0;
        node.latency = 0;
        node.errors = 0;
        node.returned = now;
        --state.ejected;
      } else {
        state.next_return = std::min(state.next_return, node.ejected_until);
      }
    }
  }

  // The median of `values` (reordered); 0 when empty.
  static double Median(std::vector<double>& values) {
    if (values.empty()) return 0;
    const size_t half = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + half, values.end());
    const double upper = values[half];
    if (values.size() % 2 != 0) return upper;
    return (*std::max_element(values.begin(), values.begin() + half) + upper) /
           2;
  }

  void RefreshMedian(ServiceState& state) {
    values_.clear();
    for (const auto& [id, node] : state.nodes) {
      if (node.samples > 0 && !node.ejected) values_.push_back(node.latency);
    }
    state.median = Median(values_);
  }

  // Whether `entry` stands far from the median of its peers with enough
  // samples (at least one such peer).
  bool IsOutlier(ServiceState& state, const NodeState& entry) {
    const bool failing = entry.errors >= options_.ejection_error_share;
    // Many nodes: only a node slow against them all is looked at closer
    // (the exact check walks every peer).
    if (!failing && state.nodes.size() > 16 &&
        entry.latency <= options_.ejection_factor * state.median) {
      return false;
    }
    values_.clear();
    errors_.clear();
    for (const auto& [id, node] : state.nodes) {
      if (&node == &entry || node.ejected ||
          node.samples < options_.min_samples) {
        continue;
      }
      values_.push_back(node.latency);
      errors_.push_back(node.errors);
    }
    if (values_.empty()) return false;
    const double peers_latency = Median(values_);
    const double peers_errors = Median(errors_);
    return entry.latency > options_.ejection_factor * peers_latency ||
           (failing && peers_errors < entry.errors / 2);
  }

  void Eject(ServiceState& state, NodeState& entry, absl::Time now) {
    const int allowed = static_cast<int>(
        options_.max_ejected_share * static_cast<double>(state.nodes.size()));
    if (state.ejected + 1 > allowed ||
        state.ejected + 1 >= static_cast<int>(state.nodes.size())) {
      return;
    }
    ++entry.ejections;
    const absl::Duration time = std::min(
        options_.ejection_time * entry.ejections, options_.max_ejection_time);
    entry.ejected = true;
    entry.ejected_until = now + time;
    ++state.ejected;
    state.next_return = std::min(state.next_return, entry.ejected_until);
    RefreshMedian(state);
  }

  // The latency `node` is scored with: its own, or its peers' median when
  // it has none (new, or back from ejection), so it gets tried.
  static double Latency(const ServiceState& state, const NodeState* node) {
    if (node == nullptr || node->samples == 0) return state.median;
    return node->latency;
  }

  // Whether `node` is due a probe: nothing heard from it (nor a probe sent)
  // for probe_after, and nothing in flight there. A slow node that is not
  // ejected would otherwise never be picked again, and never seen to
  // recover.
  bool DueProbe(const NodeState* node, absl::Time now) const {
    return node != nullptr && node->samples > 0 && node->in_flight == 0 &&
           now - std::max(node->last_sample, node->last_probe) >=
               options_.probe_after;
  }

  size_t Better(const ServiceState& state, absl::Time now, size_t i,
                NodeState* a, size_t j, NodeState* b) {
    // One probe per probe_after, whatever its score.
    if (DueProbe(a, now)) {
      a->last_probe = now;
      return i;
    }
    if (DueProbe(b, now)) {
      b->last_probe = now;
      return j;
    }
    // A floor so that nodes without latencies still compare by load.
    constexpr double kFloor = 1e-6;
    const double score_a = std::max(Latency(state, a), kFloor) *
                           ((a == nullptr ? 0 : a->in_flight) + 1);
    const double score_b = std::max(Latency(state, b), kFloor) *
                           ((b == nullptr ? 0 : b->in_flight) + 1);
    if (score_a < score_b) return i;
    if (score_b < score_a) return j;
    return (Next() & 1) != 0 ? i : j;  // equal: spread
  }

  // splitmix64: cheap, and mu_ guards it.
  uint64_t Next() {
    uint64_t z = (random_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Draw(size_t size) { return Next() % size; }
  // Two distinct indices below `size` (at least 2).
  std::pair<size_t, size_t> DrawTwo(size_t size) {
    const size_t i = Draw(size);
    size_t j = Draw(size - 1);
    if (j >= i) ++j;
    return {i, j};
  }

  LatencyAwareOptions options_;
  std::mutex mu_;
  std::map<std::string, ServiceState, std::less<>> services_;  // mu_
  absl::Time last_sweep_ = absl::InfinitePast();               // mu_
  uint64_t random_ = absl::Uniform<uint64_t>(absl::BitGen());  // mu_
  // Scratch (mu_), kept so a warm selector does not allocate.
  std::vector<std::pair<size_t, NodeState*>> eligible_;
  std::vector<double> values_;
  std::vector<double> errors_;
};

}  // namespace

NodeFilter FilterVersion(std::string version) {
  return [version = std::move(version)](const registry::Service& service,
                                        const registry::Node&) {
    return service.version == version;
  };
}

NodeFilter FilterMetadata(std::string key, std::string value) {
  return [key = std::move(key), value = std::move(value)](
             const registry::Service& service, const registry::Node& node) {
    auto it = node.metadata.find(key);
    if (it != node.metadata.end()) return it->second == value;
    it = service.metadata.find(key);
    return it != service.metadata.end() && it->second == value;
  };
}

std::vector<const registry::Node*> CandidateNodes(
    const std::vector<registry::Service>& versions,
    const std::vector<NodeFilter>& filters,
    const std::set<std::string>& exclude) {
  std::vector<const registry::Node*> nodes;
  CandidateNodes(versions, filters, exclude, &nodes);
  return nodes;
}

void CandidateNodes(const std::vector<registry::Service>& versions,
                    const std::vector<NodeFilter>& filters,
                    const std::set<std::string>& exclude,
                    std::vector<const registry::Node*>* out) {
  std::vector<const registry::Node*>& nodes = *out;
  nodes.clear();
  for (const registry::Service& version : versions) {
    for (const registry::Node& node : version.nodes) {
      if (exclude.count(node.id) != 0) continue;
      bool keep = true;
      for (const NodeFilter& filter : filters) {
        if (!filter(version, node)) {
          keep = false;
          break;
        }
      }
      if (keep) nodes.push_back(&node);
    }
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const registry::Node* a, const registry::Node* b) {
              return a->id < b->id;
            });
}

std::vector<registry::Node> Candidates(
    const std::vector<registry::Service>& versions,
    const std::vector<NodeFilter>& filters,
    const std::set<std::string>& exclude) {
  std::vector<registry::Node> nodes;
  for (const registry::Node* node :
       CandidateNodes(versions, filters, exclude)) {
    nodes.push_back(*node);
  }
  return nodes;
}

size_t Selector::SelectIndex(absl::string_view service,
                             const std::vector<const registry::Node*>& nodes) {
  std::vector<registry::Node> copies;
  copies.reserve(nodes.size());
  for (const registry::Node* node : nodes) copies.push_back(*node);
  const registry::Node chosen = Select(service, copies);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->id == chosen.id) return i;
  }
  return 0;  // a node not among them: the first
}

std::shared_ptr<Selector> NewRoundRobinSelector() {
  return std::make_shared<RoundRobinSelector>();
}

std::shared_ptr<Selector> NewRandomSelector() {
  return std::make_shared<RandomSelector>();
}

std::shared_ptr<Selector> NewLatencyAwareSelector(LatencyAwareOptions options) {
  return std::make_shared<LatencyAwareSelector>(std::move(options));
}

}  // namespace micro_nats::service
