// Copyright 2026 The micro-nats Authors.

#include "service/observer.h"

#include <utility>

namespace micro_nats::service {
namespace {

class CombinedObservation : public Observation {
 public:
  explicit CombinedObservation(std::vector<std::unique_ptr<Observation>> parts)
      : parts_(std::move(parts)) {}
  void Attempt(absl::string_view node_id, const absl::Status& status) override {
    for (auto& part : parts_) part->Attempt(node_id, status);
  }
  void End(const absl::Status& status) override {
    for (auto& part : parts_) part->End(status);
  }

 private:
  std::vector<std::unique_ptr<Observation>> parts_;
};

class CombinedObserver : public Observer {
 public:
  explicit CombinedObserver(std::vector<std::shared_ptr<Observer>> observers)
      : observers_(std::move(observers)) {}

  std::unique_ptr<Observation> ClientCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          Headers* headers) override {
    return Combine([&](Observer& o) {
      return o.ClientCall(kind, service, endpoint, headers);
    });
  }
  std::unique_ptr<Observation> ServerCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          const Headers& headers) override {
    return Combine([&](Observer& o) {
      return o.ServerCall(kind, service, endpoint, headers);
    });
  }
  void Count(Counter counter, absl::string_view service, int64_t n,
             absl::string_view reason) override {
    for (auto& observer : observers_) {
      observer->Count(counter, service, n, reason);
    }
  }

 private:
  template <typename Start>
  std::unique_ptr<Observation> Combine(Start start) {
    std::vector<std::unique_ptr<Observation>> parts;
    for (auto& observer : observers_) {
      if (auto part = start(*observer)) parts.push_back(std::move(part));
    }
    if (parts.empty()) return nullptr;
    if (parts.size() == 1) return std::move(parts.front());
    return std::make_unique<CombinedObservation>(std::move(parts));
  }

  const std::vector<std::shared_ptr<Observer>> observers_;
};

}  // namespace

std::shared_ptr<Observer> CombineObservers(
    std::vector<std::shared_ptr<Observer>> observers) {
  std::vector<std::shared_ptr<Observer>> kept;
  for (auto& observer : observers) {
    if (observer != nullptr) kept.push_back(std::move(observer));
  }
  if (kept.empty()) return nullptr;
  if (kept.size() == 1) return std::move(kept.front());
  return std::make_shared<CombinedObserver>(std::move(kept));
}

}  // namespace micro_nats::service
