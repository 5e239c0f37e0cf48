// Copyright 2026 The micro-nats Authors.
//
// stacks_test_base.h: what the generated-code end-to-end tests share: a
// fixture parameterized by the stack (false: memory, true: NATS on a real
// nats-server) that makes services on it.

#ifndef MICRO_NATS_SERVICE_CODEGEN_STACKS_TEST_BASE_H_
#define MICRO_NATS_SERVICE_CODEGEN_STACKS_TEST_BASE_H_

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "service/memory/memory_service.h"
#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/service.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"

namespace micro_nats::service::codegen_testing {

class StacksTest : public ::testing::TestWithParam<bool> {
 public:
  // The test names' suffix: Memory or Nats.
  static std::string StackName(const ::testing::TestParamInfo<bool>& info) {
    return info.param ? "Nats" : "Memory";
  }

 protected:
  void SetUp() override {
    if (GetParam()) {
      auto nats = ::micro_nats::testing::NatsServer::Start();
      ASSERT_THAT(nats, ::micro_nats::testing::IsOk());
      nats_ = std::move(nats).value();
    } else {
      network_ = NewMemoryNetwork();
    }
  }

  // A service named `name` on this test's stack, its client made with
  // `client`; null (and a failure) when it could not be made.
  std::unique_ptr<Service> NewService(const std::string& name,
                                      ClientOptions client = {}) {
    absl::StatusOr<std::unique_ptr<Service>> service;
    if (GetParam()) {
      NatsServiceOptions options{.servers = {nats_->url()},
                                 .identity = {.name = name},
                                 .client = std::move(client)};
      WidenLookupWindows(options);
      service = NewNatsService(std::move(options));
    } else {
      service = NewMemoryService({.identity = {.name = name},
                                  .network = network_,
                                  .client = std::move(client)});
    }
    EXPECT_THAT(service, ::micro_nats::testing::IsOk());
    return service.ok() ? std::move(service).value() : nullptr;
  }

 private:
  std::unique_ptr<::micro_nats::testing::NatsServer> nats_;
  std::shared_ptr<MemoryNetwork> network_;
};

}  // namespace micro_nats::service::codegen_testing

#endif  // MICRO_NATS_SERVICE_CODEGEN_STACKS_TEST_BASE_H_
