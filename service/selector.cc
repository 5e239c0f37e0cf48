// Copyright 2026 The micro-nats Authors.

#include "service/selector.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"

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

// Placeholder until the latency-aware selector lands (next commit).
std::shared_ptr<Selector> NewLatencyAwareSelector(LatencyAwareOptions) {
  return std::make_shared<RoundRobinSelector>();
}

}  // namespace micro_nats::service
