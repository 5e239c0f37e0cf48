// Copyright 2026 The micro-nats Authors.
//
// A peer on the same NATS account, hostile, against a greeter called
// through the NATS Service API path (discovery by `$SRV.INFO`, calls by
// request/reply on the endpoint's subject), on a real nats-server:
//   - a rogue `$SRV.INFO` answer whose endpoint subject carries protocol
//     lines must not make the caller publish them, nor cost it its
//     connection;
//   - a caller's metadata that would inject a header is refused before it
//     reaches the wire on this path as on the transport path.

#include <nats/nats.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "examples/greeter/greeter_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "nlohmann/json.hpp"
#include "service/nats/nats_service.h"
#include "srv/protocol.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace greeter {
namespace {

using ::micro_nats::nats::Connection;
using ::micro_nats::nats::Subscription;
using ::micro_nats::service::NatsServiceOptions;
using ::micro_nats::service::NewNatsService;
using ::micro_nats::service::Service;
using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::Contains;
using ::testing::Not;
namespace srv = ::micro_nats::srv;

constexpr absl::Duration kWait = absl::Seconds(5);

// Records the metadata names every Hello arrived with (the streams are the
// greeter's own).
class RecordingGreeter : public Greeter {
 public:
  RecordingGreeter() : Greeter("real") {}

  absl::Status Hello(micro_nats::service::Context& ctx,
                     const HelloRequest& request, HelloReply* reply) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, value] : ctx.metadata()) names_.insert(name);
    }
    reply->set_message("Hello " + request.name());
    reply->set_served_by("real");
    return absl::OkStatus();
  }

  std::set<std::string> names() const {
    std::lock_guard<std::mutex> lock(mu_);
    return names_;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> names_;
};

class HostilePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(peer_,
                            Connection::Connect({.servers = {server_->url()}}));
    // What the account sees: an injected PUB would show up here.
    MN_ASSERT_OK_AND_ASSIGN(
        watch_, peer_->Subscribe("injected.>", [this](natsMsg* msg) {
          injected_.Add(std::string(micro_nats::nats::Subject(msg)));
        }));
    MN_ASSERT_OK_AND_ASSIGN(
        greeter_,
        StartGreeter({.servers = {server_->url()}}, "real-1", handler_));

    NatsServiceOptions caller_options;
    caller_options.servers = {server_->url()};
    caller_options.identity.name = "caller";
    caller_options.discovery = NatsServiceOptions::Discovery::kServiceApi;
    caller_options.srv_registry.timeout = absl::Seconds(2);
    caller_options.srv_registry.idle_gap = absl::Milliseconds(50);
    auto caller = NewNatsService(std::move(caller_options));
    ASSERT_THAT(caller, IsOk());
    caller_ = std::move(caller).value();
  }

  // The real instance's INFO answer, as the rogue's template.
  nlohmann::json RealInfo() {
    auto reply = peer_->Request(
        srv::ControlSubject(srv::Verb::kInfo, kServiceName, "real-1"), "", {},
        absl::Now() + kWait);
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return {};
    return nlohmann::json::parse(micro_nats::nats::Body(reply->get()), nullptr,
                                 /*allow_exceptions=*/false);
  }

  absl::StatusOr<HelloReply> Hello(
      micro_nats::service::Metadata metadata = {}) {
    GreeterClient client(caller_->client(), kServiceName);
    HelloRequest request;
    request.set_name("you");
    return client.Hello(request, {.timeout = absl::Seconds(3),
                                  .metadata = std::move(metadata)});
  }

  // Everything published under injected.> so far; a sentinel published
  // after the attempt proves the watcher caught up.
  std::vector<std::string> Injected() {
    EXPECT_THAT(peer_->Publish("injected.sentinel", ""), IsOk());
    EXPECT_TRUE(injected_.WaitForCount(1, kWait));
    std::vector<std::string> seen = injected_.Snapshot();
    std::erase(seen, "injected.sentinel");
    return seen;
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<Connection> peer_;
  std::unique_ptr<Subscription> watch_;
  Collector<std::string> injected_;
  RecordingGreeter handler_;
  std::unique_ptr<Service> greeter_;
  std::unique_ptr<Service> caller_;
};

// Defect 1 of issue 22: the endpoint subject of a rogue INFO answer went
// verbatim into the caller's PUB line.
TEST_F(HostilePeerTest, ARogueInfoAnswerCannotInjectProtocolLines) {
  nlohmann::json info = RealInfo();
  ASSERT_TRUE(info.is_object());
  ASSERT_TRUE(info["endpoints"].is_array());
  ASSERT_FALSE(info["endpoints"].empty());
  info["id"] = "rogue-1";
  for (auto& endpoint : info["endpoints"]) {
    endpoint["subject"] = "x\r\nPUB injected.by.info 8\r\nINJECTED";
  }
  const std::string rogue_info = info.dump();
  info["id"] = "rogue 2";  // a space: would drop the connection of a
                           // caller that builds `$SRV.*.<id>` from it
  for (auto& endpoint : info["endpoints"]) endpoint["subject"] = "x y";
  const std::string spaced_info = info.dump();

  auto answer = [&](const std::string& body) {
    return [this, body](natsMsg* msg) {
      peer_->Publish(micro_nats::nats::Reply(msg), body).IgnoreError();
    };
  };
  MN_ASSERT_OK_AND_ASSIGN(
      auto rogue,
      peer_->Subscribe(srv::ControlSubject(srv::Verb::kInfo, kServiceName),
                       answer(rogue_info)));
  MN_ASSERT_OK_AND_ASSIGN(
      auto spaced,
      peer_->Subscribe(srv::ControlSubject(srv::Verb::kInfo, kServiceName),
                       answer(spaced_info)));
  ASSERT_THAT(peer_->Flush(kWait), IsOk());

  int served = 0;
  for (int i = 0; i < 6; ++i) {
    auto reply = Hello();
    if (reply.ok()) {
      EXPECT_EQ(reply->served_by(), "real");
      ++served;
    }
  }
  // The rogue instances are dropped where their answers are decoded; the
  // real one is still called.
  EXPECT_GT(served, 0);
  EXPECT_THAT(Injected(), ::testing::IsEmpty());
  EXPECT_TRUE(peer_->IsConnected());
  auto after = Hello();
  EXPECT_THAT(after, IsOk());
}

// Defect 2 of issue 22: metadata naming a header with CR/LF went out
// unvalidated on the Service API path (the transport path refused it).
TEST_F(HostilePeerTest, MetadataCannotInjectHeadersOnTheServiceApiPath) {
  ASSERT_THAT(Hello({{"X-Trace", "1"}}), IsOk());
  EXPECT_THAT(Hello({{"X-Trace: 1\r\nX-Injected", "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Hello({{"X-Trace", "1\r\nX-Injected: 1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(Hello(), IsOk());
  EXPECT_THAT(handler_.names(), Contains("X-Trace"));
  EXPECT_THAT(handler_.names(), Not(Contains("X-Injected")));
}

}  // namespace
}  // namespace greeter
