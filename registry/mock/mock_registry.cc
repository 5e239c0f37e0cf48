// Copyright 2026 The micro-nats Authors.

#include "registry/mock/mock_registry.h"

namespace micro_nats::registry {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;

MockWatcher::MockWatcher() {
  ON_CALL(*this, Next(_)).WillByDefault([](absl::Time) {
    return absl::StatusOr<Event>(absl::CancelledError("the watcher stopped"));
  });
}

MockRegistry::MockRegistry() {
  ON_CALL(*this, Register(_, _)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, Deregister(_)).WillByDefault(Return(absl::OkStatus()));
  ON_CALL(*this, GetService(_)).WillByDefault([](absl::string_view name) {
    return absl::StatusOr<std::vector<Service>>(
        absl::NotFoundError("no such service (MockRegistry default)"));
  });
  ON_CALL(*this, ListServices()).WillByDefault([] {
    return absl::StatusOr<std::vector<Service>>(std::vector<Service>{});
  });
  ON_CALL(*this, Watch(_)).WillByDefault([](WatchOptions) {
    return absl::StatusOr<std::unique_ptr<Watcher>>(
        std::make_unique<NiceMock<MockWatcher>>());
  });
}

}  // namespace micro_nats::registry
