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
    uint64_t turn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      turn = next_[std::string(service)]++;
    }
    return nodes[turn % nodes.size()];
  }

 private:
  std::mutex mu_;
  std::map<std::string, uint64_t> next_;  // guarded by mu_; per service
};

class RandomSelector : public Selector {
 public:
  registry::Node Select(absl::string_view,
                        const std::vector<registry::Node>& nodes) override {
    size_t index;
    {
      std::lock_guard<std::mutex> lock(mu_);
      index = absl::Uniform<size_t>(gen_, 0, nodes.size());
    }
    return nodes[index];
  }

 private:
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

std::vector<registry::Node> Candidates(
    const std::vector<registry::Service>& versions,
    const std::vector<NodeFilter>& filters,
    const std::set<std::string>& exclude) {
  std::vector<registry::Node> nodes;
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
      if (keep) nodes.push_back(node);
    }
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const registry::Node& a, const registry::Node& b) {
              return a.id < b.id;
            });
  return nodes;
}

std::shared_ptr<Selector> NewRoundRobinSelector() {
  return std::make_shared<RoundRobinSelector>();
}

std::shared_ptr<Selector> NewRandomSelector() {
  return std::make_shared<RandomSelector>();
}

}  // namespace micro_nats::service
