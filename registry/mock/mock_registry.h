// Copyright 2026 The micro-nats Authors.
//
// mock_registry.h: gmock mocks of Registry and Watcher, for consumers' unit
// tests that check interactions. For a working in-process registry use
// registry/memory instead.
//
//   MockRegistry registry;
//   EXPECT_CALL(registry, GetService(Eq("greeter")))
//       .WillOnce(Return(std::vector<Service>{greeter}));

#ifndef MICRO_NATS_REGISTRY_MOCK_MOCK_REGISTRY_H_
#define MICRO_NATS_REGISTRY_MOCK_MOCK_REGISTRY_H_

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "registry/registry.h"

namespace micro_nats::registry {

class MockWatcher : public Watcher {
 public:
  // By default Next says the watcher was stopped.
  MockWatcher();

  MOCK_METHOD(absl::StatusOr<Event>, Next, (absl::Time deadline), (override));
  MOCK_METHOD(void, Stop, (), (override));
};

class MockRegistry : public Registry {
 public:
  // By default Register and Deregister succeed, GetService is NotFound,
  // ListServices is empty and Watch returns a nice MockWatcher.
  MockRegistry();

  MOCK_METHOD(absl::Status, Register,
              (const Service& service, RegisterOptions options), (override));
  MOCK_METHOD(absl::Status, Deregister, (const Service& service), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Service>>, GetService,
              (absl::string_view name), (override));
  MOCK_METHOD(absl::StatusOr<std::vector<Service>>, ListServices, (),
              (override));
  MOCK_METHOD(absl::StatusOr<std::unique_ptr<Watcher>>, Watch,
              (WatchOptions options), (override));
};

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_MOCK_MOCK_REGISTRY_H_
