// Copyright 2026 The micro-nats Authors.
//
// A broker handler that calls a service (a transport socket on the same
// Connection, or a request) gets its answer, with handlers inline on the
// delivery thread (kAdaptive, the default). The nested call holds that
// thread while it waits; its answer is routed elsewhere: transport replies
// by the Connection's inbox mux on a thread of its own, a request's by
// nats.c's own. A binary of its own: nats.c's delivery pool is process-wide
// and only grows, so here it stays at one thread, which every pooled
// subscription shares.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/nats/nats_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats::broker {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

constexpr absl::Duration kWait = absl::Seconds(10);

class NestedCallTest : public ::testing::TestWithParam<nats::HandlerThread> {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(
        conn_, nats::Connection::Connect(
                   {.servers = {server_->url()}, .delivery_threads = 1}));
  }

  // A broker on conn_ with the parameter's handlers (kAdaptive: the
  // default, left unset).
  absl::StatusOr<std::unique_ptr<Broker>> NewBroker() {
    NatsBrokerOptions options{.delivery = nats::Delivery::kImmediate};
    if (GetParam() != nats::HandlerThread::kAdaptive) {
      options.handlers = GetParam();
    }
    return NewNatsBroker(conn_, options);
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> conn_;
};

TEST_P(NestedCallTest, ABrokerHandlerThatCallsAServiceGetsItsAnswer) {
  MN_ASSERT_OK_AND_ASSIGN(auto transport, transport::NewNatsTransport(conn_));
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport->Listen(""));
  ASSERT_THAT(listener->AcceptMessages(
                  [](const std::shared_ptr<transport::Socket>& socket,
                     transport::Message message) {
                    socket->Send({.body = "re:" + message.body}).IgnoreError();
                  }),
              IsOk());
  const std::string address = listener->Address();
  MN_ASSERT_OK_AND_ASSIGN(auto broker, NewBroker());
  Collector<std::string> answers;
  MN_ASSERT_OK_AND_ASSIGN(
      auto subscriber, broker->Subscribe("orders", [&](const Event& event) {
        std::string answer = "dial failed";
        auto socket = transport->Dial(address);
        if (socket.ok() && (*socket)->Send({.body = event.message.body}).ok()) {
          auto reply = (*socket)->Recv(absl::Now() + kWait);
          answer = reply.ok() ? reply->body : reply.status().ToString();
        }
        answers.Add(answer);
        return absl::OkStatus();
      }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(broker->Publish("orders", {.body = std::to_string(i)}), IsOk());
  }
  ASSERT_TRUE(answers.WaitForCount(3, 4 * kWait));
  EXPECT_THAT(answers.Snapshot(),
              ::testing::ElementsAre("re:0", "re:1", "re:2"));
}

TEST_P(NestedCallTest, ABrokerHandlerThatMakesARequestGetsItsAnswer) {
  // The responder runs on the handler pool: the one delivery thread is the
  // asking handler's while it waits.
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      conn_->Subscribe("price",
                       [this](natsMsg* msg) {
                         conn_
                             ->Publish(nats::Reply(msg),
                                       absl::StrCat("price:", nats::Body(msg)))
                             .IgnoreError();
                       },
                       {.run_on = nats::HandlerThread::kHandlerPool}));
  ASSERT_THAT(conn_->Flush(kWait), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto broker, NewBroker());
  Collector<std::string> answers;
  MN_ASSERT_OK_AND_ASSIGN(
      auto subscriber, broker->Subscribe("orders", [&](const Event& event) {
        auto reply = conn_->Request("price", event.message.body, {},
                                    absl::Now() + kWait);
        answers.Add(reply.ok() ? std::string(nats::Body(reply->get()))
                               : reply.status().ToString());
        return absl::OkStatus();
      }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(broker->Publish("orders", {.body = std::to_string(i)}), IsOk());
  }
  ASSERT_TRUE(answers.WaitForCount(3, 4 * kWait));
  EXPECT_THAT(answers.Snapshot(),
              ::testing::ElementsAre("price:0", "price:1", "price:2"));
}

INSTANTIATE_TEST_SUITE_P(
    Handlers, NestedCallTest,
    ::testing::Values(nats::HandlerThread::kAdaptive,
                      nats::HandlerThread::kHandlerPool),
    [](const ::testing::TestParamInfo<nats::HandlerThread>& info) {
      return info.param == nats::HandlerThread::kAdaptive
                 ? std::string("AdaptiveDefault")
                 : std::string("HandlerPool");
    });

}  // namespace
}  // namespace micro_nats::broker
