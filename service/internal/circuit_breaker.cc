// Copyright 2026 The micro-nats Authors.

#include "service/internal/circuit_breaker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace micro_nats::service::service_internal {

bool IsBreakerFailure(const absl::Status& status, bool node_failed,
                      absl::Duration allowed, absl::Duration min_deadline) {
  if (node_failed) return true;
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      // A node cannot be blamed for a deadline too short to meet.
      return allowed >= min_deadline;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

CircuitBreakers::CircuitBreakers(CircuitBreakerOptions options,
                                 std::function<absl::Time()> now)
    : options_(std::move(options)),
      now_(now != nullptr ? std::move(now)
                          : std::function<absl::Time()>(absl::Now)) {}

const std::string& CircuitBreakers::Key(absl::string_view service,
                                        absl::string_view node_id) {
  // A service name has no NUL (registry::ValidateServiceName).
  static thread_local std::string key;
  key.assign(service.data(), service.size());
  key.push_back('\0');
  key.append(node_id.data(), node_id.size());
  return key;
}

void CircuitBreakers::Advance(State& state, absl::Time now) {
  if (state.breaker == NodeHealth::Breaker::kOpen && now >= state.open_until) {
    state.breaker = NodeHealth::Breaker::kHalfOpen;
    state.trials = 0;
    state.trial_successes = 0;
  }
}

void CircuitBreakers::Open(State& state, absl::Time now) {
  absl::Duration cool_down = options_.cool_down;
  for (int i = 0; i < state.reopened && cool_down < options_.max_cool_down;
       ++i) {
    cool_down *= 2;
  }
  cool_down = std::min(cool_down, options_.max_cool_down);
  cool_down *= absl::Uniform<double>(absl::IntervalClosed, gen_, 0.75, 1.25);
  state.breaker = NodeHealth::Breaker::kOpen;
  state.open_until = now + cool_down;
  state.trials = 0;
  state.trial_successes = 0;
}

void CircuitBreakers::Erase(
    absl::flat_hash_map<std::string, State>::iterator it) {
  states_.erase(it);
  tracked_.store(states_.size(), std::memory_order_release);
}

void CircuitBreakers::Exclude(absl::string_view service,
                              std::set<std::string>* exclude) {
  if (!Tracking()) return;
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = states_.begin(); it != states_.end();) {
    const std::string& key = it->first;
    State& state = it->second;
    const size_t split = key.find('\0');
    if (absl::string_view(key).substr(0, split) != service) {
      ++it;
      continue;
    }
    Advance(state, now);
    if (state.breaker == NodeHealth::Breaker::kClosed &&
        now - state.last_failure > options_.window) {
      states_.erase(it++);  // no failure for a window: forget it
      continue;
    }
    if (state.breaker == NodeHealth::Breaker::kOpen ||
        (state.breaker == NodeHealth::Breaker::kHalfOpen &&
         state.trials >= options_.half_open_calls)) {
      exclude->insert(key.substr(split + 1));
    }
    ++it;
  }
  tracked_.store(states_.size(), std::memory_order_release);
}

void CircuitBreakers::Filter(absl::string_view service,
                             const std::vector<registry::Service>& versions,
                             std::vector<const registry::Node*>* nodes) {
  if (!Tracking()) return;
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = states_.begin(); it != states_.end();) {
    const absl::string_view key = it->first;
    State& state = it->second;
    const size_t split = key.find('\0');
    if (key.substr(0, split) != service) {
      ++it;
      continue;
    }
    const absl::string_view id = key.substr(split + 1);
    bool listed = false;
    for (const registry::Service& version : versions) {
      for (const registry::Node& node : version.nodes) {
        if (node.id == id) listed = true;
      }
    }
    Advance(state, now);
    if (!listed || (state.breaker == NodeHealth::Breaker::kClosed &&
                    now - state.last_failure > options_.window)) {
      states_.erase(it++);  // gone from the registry, or quiet for a window
      continue;
    }
    if (state.breaker == NodeHealth::Breaker::kOpen ||
        (state.breaker == NodeHealth::Breaker::kHalfOpen &&
         state.trials >= options_.half_open_calls)) {
      nodes->erase(std::remove_if(nodes->begin(), nodes->end(),
                                  [&](const registry::Node* node) {
                                    return node->id == id;
                                  }),
                   nodes->end());
    }
    ++it;
  }
  tracked_.store(states_.size(), std::memory_order_release);
}

bool CircuitBreakers::Admit(absl::string_view service,
                            absl::string_view node_id) {
  if (!Tracking()) return true;
  const std::string& key = Key(service, node_id);
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(key);
  if (it == states_.end()) return true;
  State& state = it->second;
  Advance(state, now);
  switch (state.breaker) {
    case NodeHealth::Breaker::kClosed:
      return true;
    case NodeHealth::Breaker::kOpen:
      return false;
    case NodeHealth::Breaker::kHalfOpen:
      if (state.trials >= options_.half_open_calls) return false;
      ++state.trials;
      return true;
  }
  return true;
}

bool CircuitBreakers::Record(absl::string_view service,
                             absl::string_view node_id,
                             BreakerOutcome outcome) {
  // A success of an untracked node changes nothing: no lock.
  if (outcome != BreakerOutcome::kFailure && !Tracking()) return false;
  const std::string& key = Key(service, node_id);
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(key);
  if (it == states_.end()) {
    if (outcome != BreakerOutcome::kFailure) return false;
    if (states_.size() >= kMaxTracked) {
      // Full: make room from a closed node's state, or track no more.
      auto closed = std::find_if(states_.begin(), states_.end(), [](auto& e) {
        return e.second.breaker == NodeHealth::Breaker::kClosed;
      });
      if (closed == states_.end()) return false;
      states_.erase(closed);
    }
    it = states_.emplace(key, State{.window_start = now}).first;
    tracked_.store(states_.size(), std::memory_order_release);
  }
  State& state = it->second;
  switch (state.breaker) {
    case NodeHealth::Breaker::kOpen:
      // An attempt admitted before it opened: already counted against it.
      return false;
    case NodeHealth::Breaker::kHalfOpen:
      if (state.trials > 0) --state.trials;
      if (outcome == BreakerOutcome::kFailure) {
        ++state.consecutive;
        ++state.reopened;
        Open(state, now);
        return true;
      }
      if (outcome == BreakerOutcome::kSuccess &&
          ++state.trial_successes >= options_.half_open_calls) {
        Erase(it);  // closed, and nothing to remember
      }
      return false;
    case NodeHealth::Breaker::kClosed:
      break;
  }
  if (outcome == BreakerOutcome::kNeutral) return false;
  if (now - state.window_start > options_.window) {
    if (outcome == BreakerOutcome::kSuccess && state.consecutive == 0) {
      Erase(it);  // a quiet window: forget the node
      return false;
    }
    state.window_start = now;
    state.window_calls = 0;
    state.window_failures = 0;
  }
  ++state.window_calls;
  if (outcome == BreakerOutcome::kSuccess) {
    state.consecutive = 0;
    return false;
  }
  ++state.window_failures;
  ++state.consecutive;
  state.last_failure = now;
  const bool in_a_row = state.consecutive >= options_.consecutive_failures;
  const bool share =
      state.window_calls >= options_.min_calls &&
      static_cast<double>(state.window_failures) >=
          options_.failure_ratio * static_cast<double>(state.window_calls);
  if (!in_a_row && !share) return false;
  state.reopened = 0;
  Open(state, now);
  return true;
}

void CircuitBreakers::Retain(absl::string_view service,
                             const std::vector<std::string>& live) {
  if (!Tracking()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = states_.begin(); it != states_.end();) {
    const absl::string_view key = it->first;
    const size_t split = key.find('\0');
    if (key.substr(0, split) == service &&
        !std::binary_search(live.begin(), live.end(),
                            std::string(key.substr(split + 1)))) {
      states_.erase(it++);
    } else {
      ++it;
    }
  }
  tracked_.store(states_.size(), std::memory_order_release);
}

std::vector<NodeHealth> CircuitBreakers::Health() const {
  std::vector<NodeHealth> health;
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, state] : states_) {
    const size_t split = key.find('\0');
    NodeHealth::Breaker breaker = state.breaker;
    if (breaker == NodeHealth::Breaker::kOpen && now >= state.open_until) {
      breaker = NodeHealth::Breaker::kHalfOpen;
    }
    health.push_back({.service = key.substr(0, split),
                      .node_id = key.substr(split + 1),
                      .breaker = breaker,
                      .failures = state.consecutive});
  }
  std::sort(health.begin(), health.end(), [](const auto& a, const auto& b) {
    return std::tie(a.service, a.node_id) < std::tie(b.service, b.node_id);
  });
  return health;
}

}  // namespace micro_nats::service::service_internal
