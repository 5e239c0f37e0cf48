// Copyright 2026 The micro-nats Authors.
//
// A NATS service discovered through a JetStream key-value bucket
// (NatsServiceOptions::Discovery::kKeyValue), registered both ways: found
// by key-value clients and by broadcast (go-micro) ones.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "registry/kv/kv_registry.h"
#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::service::testing::Ping;
using ::micro_nats::service::testing::Pong;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;

class KvDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start({.jetstream = true}));
  }

  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, NatsServiceOptions::Discovery discovery,
      bool register_broadcast = true) {
    NatsServiceOptions options{.servers = {server_->url()},
                               .identity = {.name = name},
                               .discovery = discovery,
                               .register_broadcast = register_broadcast};
    WidenLookupWindows(options);
    return NewNatsService(std::move(options));
  }

  // A greeter on key-value discovery, started.
  std::unique_ptr<Service> StartGreeter(bool register_broadcast) {
    absl::StatusOr<std::unique_ptr<Service>> greeter =
        NewService("greeter", NatsServiceOptions::Discovery::kKeyValue,
                   register_broadcast);
    EXPECT_THAT(greeter, IsOk());
    if (!greeter.ok()) return nullptr;
    absl::Status handled = (*greeter)->server().Handle<Ping, Pong>(
        "Greeter.Hello", [](Context&, const Ping& ping, Pong* pong) {
          pong->set_text("hello " + ping.text());
          return absl::OkStatus();
        });
    EXPECT_THAT(handled, IsOk());
    EXPECT_THAT((*greeter)->Start(), IsOk());
    return std::move(greeter).value();
  }

  static absl::StatusOr<Pong> Hello(Service& caller) {
    Ping ping;
    ping.set_text("kv");
    return caller.client().Call<Ping, Pong>("greeter", "Greeter.Hello", ping,
                                            {.timeout = absl::Seconds(5)});
  }

  std::unique_ptr<NatsServer> server_;
};

TEST_F(KvDiscoveryTest, FoundByKeyValueAndBroadcastClients) {
  std::unique_ptr<Service> greeter = StartGreeter(/*register_broadcast=*/true);
  ASSERT_NE(greeter, nullptr);

  // A key-value client calls it.
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Service> kv_caller,
      NewService("kv-caller", NatsServiceOptions::Discovery::kKeyValue));
  absl::StatusOr<Pong> pong = Hello(*kv_caller);
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(pong->text(), "hello kv");

  // A broadcast client (go-micro's registry, the default) too.
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Service> broadcast_caller,
      NewService("broadcast-caller",
                 NatsServiceOptions::Discovery::kMicroRegistry));
  pong = Hello(*broadcast_caller);
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(pong->text(), "hello kv");

  // And a client of the NATS Service API (ADR-32), through its $SRV
  // answers.
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Service> srv_caller,
      NewService("srv-caller", NatsServiceOptions::Discovery::kServiceApi));
  pong = Hello(*srv_caller);
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(pong->text(), "hello kv");

  // The bucket holds its node, as any key-value reader sees it.
  MN_ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<nats::Connection> connection,
      nats::Connection::Connect({.servers = {server_->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<registry::Registry> kv,
                          registry::NewKvRegistry(connection));
  MN_ASSERT_OK_AND_ASSIGN(std::vector<registry::Service> found,
                          kv->GetService("greeter"));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].nodes.size(), 1u);
  EXPECT_EQ(found[0].nodes[0].id, greeter->server().id());
  EXPECT_EQ(found[0].endpoints.size(), 1u);

  // Stop deregisters it from the bucket (and the broadcast registry).
  ASSERT_THAT(greeter->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_TRUE(::micro_nats::testing::Eventually(
      [&] { return absl::IsNotFound(kv->GetService("greeter").status()); },
      absl::Seconds(10), "the greeter gone from the bucket"));
  EXPECT_THAT(kv_caller->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_THAT(broadcast_caller->Stop(absl::Now() + absl::Seconds(5)), IsOk());
}

// register_broadcast off: the bucket only, so a broadcast client does not
// find it while a key-value client does.
TEST_F(KvDiscoveryTest, KeyValueOnly) {
  std::unique_ptr<Service> greeter = StartGreeter(/*register_broadcast=*/false);
  ASSERT_NE(greeter, nullptr);
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Service> kv_caller,
      NewService("kv-caller", NatsServiceOptions::Discovery::kKeyValue));
  EXPECT_THAT(Hello(*kv_caller), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Service> broadcast_caller,
      NewService("broadcast-caller",
                 NatsServiceOptions::Discovery::kMicroRegistry));
  EXPECT_THAT(Hello(*broadcast_caller), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(greeter->Stop(absl::Now() + absl::Seconds(5)), IsOk());
}

// Key-value discovery on a server without JetStream: Start says what it
// needs (Unavailable: JetStream may come back).
TEST(KvDiscoveryWithoutJetStreamTest, SaysSo) {
  MN_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NatsServer> server,
                          NatsServer::Start());
  absl::StatusOr<std::unique_ptr<Service>> greeter =
      NewNatsService({.servers = {server->url()},
                      .identity = {.name = "greeter"},
                      .discovery = NatsServiceOptions::Discovery::kKeyValue});
  ASSERT_THAT(greeter, IsOk());
  absl::Status started = (*greeter)->Start();
  EXPECT_THAT(started, StatusIs(absl::StatusCode::kUnavailable,
                                ::testing::HasSubstr("nats-server -js")));
}

}  // namespace
}  // namespace micro_nats::service
