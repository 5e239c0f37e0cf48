// Copyright 2026 The micro-nats Authors.

#include "registry/nats/internal/census.h"

#include <iterator>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "status/error_sink.h"

namespace micro_nats::registry::registry_internal {

uint64_t NodeIdHash(absl::string_view id) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string FormatHint(const CensusHint& hint, absl::string_view sender) {
  return absl::StrCat(hint.count, " ", absl::Hex(hint.hash), " ", sender);
}

absl::optional<SenderHint> ParseHint(absl::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(text, ' ', absl::SkipEmpty());
  SenderHint parsed;
  if (parts.size() < 2 || parts.size() > 3 ||
      !absl::SimpleAtoi(parts[0], &parsed.hint.count) ||
      parsed.hint.count < 1 ||
      !absl::SimpleHexAtoi(parts[1], &parsed.hint.hash)) {
    return absl::nullopt;
  }
  if (parts.size() == 3) parsed.sender = std::string(parts[2]);
  return parsed;
}

void NodeSet::Add(absl::string_view id) {
  if (!ids_.emplace(std::string(id), true).second) return;
  ++hint_.count;
  hint_.hash ^= NodeIdHash(id);
}

Census::Census(absl::Duration warmup, absl::Duration node_ttl, absl::Time now,
               size_t max_nodes)
    : warmup_(warmup),
      node_ttl_(node_ttl),
      max_nodes_(max_nodes),
      watching_since_(now) {}

void Census::Apply(const Event& event, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& nodes = nodes_[event.service.name];
  for (const Node& node : event.service.nodes) {
    if (event.type == EventType::kDelete) {
      size_ -= nodes.erase(node.id);
      continue;
    }
    auto [it, added] = nodes.try_emplace(node.id, now);
    it->second = now;
    if (!added) continue;
    ++size_;
    if (size_ > max_nodes_) SweepAll(now);
    if (size_ > max_nodes_) {
      // Forget them all and start again: what was heard cannot be told
      // from the flood, and a census that starts again is trusted after a
      // warmup, as after a reconnect.
      if (overflows_++ == 0) {
        ReportError({"registry/nats"},
                    absl::ResourceExhaustedError(absl::StrCat(
                        "more than ", max_nodes_,
                        " nodes announced on the watch subject; the census "
                        "starts again (no hints for a warmup); reported once, "
                        "counted")));
      }
      nodes_.clear();
      size_ = 0;
      watching_since_ = now;
      return;
    }
  }
  // Nodes nobody re-registered go (a killed process sends no delete).
  size_ -= EraseExpired(nodes, now);
  if (nodes.empty()) nodes_.erase(event.service.name);
}

size_t Census::EraseExpired(std::map<std::string, absl::Time>& nodes,
                            absl::Time now) const {
  size_t erased = 0;
  for (auto it = nodes.begin(); it != nodes.end();) {
    if (now - it->second > node_ttl_) {
      it = nodes.erase(it);
      ++erased;
    } else {
      ++it;
    }
  }
  return erased;
}

void Census::SweepAll(absl::Time now) {
  for (auto service = nodes_.begin(); service != nodes_.end();) {
    size_ -= EraseExpired(service->second, now);
    service =
        service->second.empty() ? nodes_.erase(service) : std::next(service);
  }
}

void Census::Restart(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  watching_since_ = now;
}

absl::optional<CensusHint> Census::Hint(absl::string_view service,
                                        absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (now - watching_since_ < warmup_) return absl::nullopt;
  auto it = nodes_.find(service);
  if (it == nodes_.end()) return absl::nullopt;
  CensusHint hint;
  for (const auto& [id, heard] : it->second) {
    if (now - heard > node_ttl_) continue;
    ++hint.count;
    hint.hash ^= NodeIdHash(id);
  }
  if (hint.count == 0) return absl::nullopt;
  return hint;
}

std::vector<std::string> Census::Known(absl::string_view service,
                                       absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  auto it = nodes_.find(service);
  if (it == nodes_.end()) return ids;
  for (const auto& [id, heard] : it->second) {
    if (now - heard <= node_ttl_) ids.push_back(id);
  }
  return ids;
}

size_t Census::overflows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflows_;
}

}  // namespace micro_nats::registry::registry_internal
