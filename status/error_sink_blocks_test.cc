// Copyright 2026 The micro-nats Authors.
//
// Every block reports what no caller waits for through the one error sink:
// a test sink sees each block's report, named by its component, from real
// components (a real nats-server where NATS is needed).

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/broker.h"
#include "broker/memory/memory_broker.h"
#include "concurrency/scheduler.h"
#include "concurrency/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "registry/nats/nats_registry.h"
#include "service/memory/memory_service.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"
#include "transport/memory/memory_transport.h"

namespace micro_nats {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(10);

class ErrorSinkBlocksTest : public ::testing::Test {
 protected:
  // The first report from `component`, once one came (else a failure).
  ErrorReport WaitFor(absl::string_view component) {
    ErrorReport found;
    const bool came = testing::Eventually(
        [&] {
          for (const ErrorReport& r : reports_.Snapshot()) {
            if (r.component == component) {
              found = r;
              return true;
            }
          }
          return false;
        },
        kWait, component);
    EXPECT_TRUE(came) << "no report from " << component;
    return found;
  }

  Collector<ErrorReport> reports_;
  // Installed before any block starts and removed after they are gone.
  ScopedErrorSink sink_{[this](const ErrorReport& r) { reports_.Add(r); }};
};

TEST_F(ErrorSinkBlocksTest, ThreadPool) {
  concurrency::ThreadPool pool(1);
  ASSERT_THAT(pool.Schedule([] { throw std::runtime_error("pool boom"); }),
              IsOk());
  const ErrorReport r = WaitFor("thread_pool");
  EXPECT_THAT(r.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("pool boom")));
}

TEST_F(ErrorSinkBlocksTest, Scheduler) {
  concurrency::Scheduler scheduler;
  concurrency::ScheduledTask task = scheduler.After(
      absl::ZeroDuration(), [] { throw std::runtime_error("timer boom"); });
  const ErrorReport r = WaitFor("scheduler");
  EXPECT_THAT(r.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("timer boom")));
}

TEST_F(ErrorSinkBlocksTest, Broker) {
  std::unique_ptr<broker::Broker> broker = broker::NewMemoryBroker();
  auto subscriber = broker->Subscribe(
      "orders.created", [](const broker::Event&) -> absl::Status {
        return absl::FailedPreconditionError("no stock");
      });
  ASSERT_THAT(subscriber, IsOk());
  ASSERT_THAT(broker->Publish("orders.created", {.body = "1"}), IsOk());
  const ErrorReport r = WaitFor("broker");
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 ::testing::AllOf(HasSubstr("orders.created"),
                                                  HasSubstr("no stock"))));
}

TEST_F(ErrorSinkBlocksTest, Transport) {
  std::unique_ptr<transport::Transport> transport =
      transport::NewMemoryTransport();
  auto listener = transport->Listen("", {});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages(
          [](const std::shared_ptr<transport::Socket>&, transport::Message) {
            throw std::runtime_error("socket boom");
          }),
      IsOk());
  auto socket = transport->Dial((*listener)->Address(), {});
  ASSERT_THAT(socket, IsOk());
  ASSERT_THAT((*socket)->Send({.body = "hi"}), IsOk());
  const ErrorReport r = WaitFor("transport");
  EXPECT_THAT(r.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("socket boom")));
}

TEST_F(ErrorSinkBlocksTest, Service) {
  auto service =
      service::NewMemoryService({.identity = {.name = "sink-test"},
                                 .network = service::NewMemoryNetwork()});
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT(
      (*service)->server().Handle(
          "Sink.Throw",
          [](service::Context&, const Message&, Message*) -> absl::Status {
            throw std::runtime_error("handler boom");
          }),
      IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  // The caller gets an error id; the text goes to the sink.
  EXPECT_THAT((*service)->client().CallRaw("sink-test", "Sink.Throw", {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("error id")));
  const ErrorReport r = WaitFor("service");
  EXPECT_EQ(r.instance, "sink-test");
  EXPECT_THAT(r.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("handler boom")));
  ASSERT_THAT((*service)->Stop(absl::Now() + kWait), IsOk());
}

class ErrorSinkNatsTest : public ErrorSinkBlocksTest {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, testing::NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(
        conn_, nats::Connection::Connect({.servers = {server_->url()}}));
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::shared_ptr<nats::Connection> conn_;
};

// A subscription whose handler falls behind drops, and says so.
TEST_F(ErrorSinkNatsTest, NatsConnection) {
  auto release = std::make_shared<absl::Notification>();
  auto subscription = conn_->Subscribe(
      "sink.slow",
      [release](natsMsg*) { release->WaitForNotificationWithTimeout(kWait); },
      {.max_pending_msgs = 1, .run_on = nats::HandlerThread::kHandlerPool});
  ASSERT_THAT(subscription, IsOk());
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(conn_->Publish("sink.slow", "x"), IsOk());
  }
  ASSERT_THAT(conn_->Flush(kWait), IsOk());
  const ErrorReport r = WaitFor("nats");
  release->Notify();
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kResourceExhausted,
                                 ::testing::AllOf(HasSubstr("sink.slow"),
                                                  HasSubstr("dropped"))));
}

// Bad input from the wire is dropped and told.
TEST_F(ErrorSinkNatsTest, Registry) {
  MN_ASSERT_OK_AND_ASSIGN(auto registry, registry::NewNatsRegistry(conn_));
  ASSERT_THAT(conn_->Publish("micro.nats.watch", "{not json"), IsOk());
  ASSERT_THAT(conn_->Flush(kWait), IsOk());
  const ErrorReport r = WaitFor("registry/nats");
  EXPECT_THAT(r.status.message(), HasSubstr("dropped bad input from NATS"));
}

}  // namespace
}  // namespace micro_nats
