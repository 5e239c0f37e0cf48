// Copyright 2026 The micro-nats Authors.
//
// e2e.h: the service end-to-end suite, run by the memory stack and the NATS
// stack alike (one contract, every backend).
//
// A backend supplies a ServiceEnvironment that makes services; on NATS each
// has its own connection, as separate processes would.
//
//   INSTANTIATE_TEST_SUITE_P(Memory, ServiceEndToEndTest,
//                            ::testing::Values(ServiceBackend{
//                                "Memory", &MakeMemoryEnvironment}),
//                            ServiceBackendName);

#ifndef MICRO_NATS_SERVICE_TESTING_E2E_H_
#define MICRO_NATS_SERVICE_TESTING_E2E_H_

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/service.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::service {

class ServiceEnvironment {
 public:
  virtual ~ServiceEnvironment() = default;
  // A new service named `name`, not started.
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server = {},
      ClientOptions client = {}) = 0;
};

struct ServiceBackend {
  std::string name;
  std::function<std::unique_ptr<ServiceEnvironment>()> make;
};

inline std::string ServiceBackendName(
    const ::testing::TestParamInfo<ServiceBackend>& info) {
  return info.param.name;
}

using ::micro_nats::service::testing::Ping;
using ::micro_nats::service::testing::Pong;
using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

using PingHandler = std::function<absl::Status(Context&, const Ping&, Pong*)>;

// Server::Handle<Ping, Pong>, without a comma to trip test macros.
inline absl::Status HandlePing(Server& server, absl::string_view endpoint,
                               PingHandler handler) {
  return server.Handle<Ping, Pong>(endpoint, std::move(handler));
}

class ServiceEndToEndTest : public ::testing::TestWithParam<ServiceBackend> {
 protected:
  static constexpr char kEcho[] = "Echo.Call";

  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
    auto caller = env_->NewService("caller");
    ASSERT_THAT(caller, IsOk());
    caller_ = std::move(caller).value();
  }

  void TearDown() override {
    caller_.reset();
    servers_.clear();
    env_.reset();
  }

  // Starts an "echo" instance: Echo.Call answers the text and its node id;
  // with wait_for_cancel it waits for its context to be cancelled first.
  Service* StartEcho(ServerOptions options = {},
                     const std::string& name = "echo") {
    auto service = env_->NewService(name, std::move(options));
    EXPECT_THAT(service, IsOk());
    if (!service.ok()) return nullptr;
    Server& server = (*service)->server();
    EXPECT_THAT(
        HandlePing(server, kEcho,
                   [&server, this](Context& ctx, const Ping& ping, Pong* pong) {
                     pong->set_text(ping.text());
                     pong->set_served_by(server.id());
                     pong->set_deadline_left_ms(absl::ToInt64Milliseconds(
                         ctx.deadline() - absl::Now()));
                     if (ping.wait_for_cancel()) {
                       entered_.Add(1);
                       while (!ctx.Cancelled())
                         absl::SleepFor(absl::Milliseconds(1));
                       saw_cancel_.Add(1);
                     }
                     return absl::OkStatus();
                   }),
        IsOk());
    EXPECT_THAT((*service)->Start(), IsOk());
    servers_.push_back(std::move(service).value());
    return servers_.back().get();
  }

  // Starts `count` echo instances and waits until the caller's registry
  // knows them all.
  ::testing::AssertionResult StartEchoes(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      if (StartEcho() == nullptr) {
        return ::testing::AssertionFailure() << "echo " << i << " failed";
      }
    }
    return Eventually(
        [&] {
          auto lookup = caller_->registry().GetService("echo");
          return lookup.ok() && !lookup->empty() &&
                 (*lookup)[0].nodes.size() == count;
        },
        absl::Seconds(10), "every echo node registered");
  }

  absl::StatusOr<Pong> Echo(const std::string& text, CallOptions options = {},
                            const std::string& service = "echo") {
    Ping ping;
    ping.set_text(text);
    return caller_->client().Call<Ping, Pong>(service, kEcho, ping,
                                              std::move(options));
  }

  std::unique_ptr<ServiceEnvironment> env_;
  std::unique_ptr<Service> caller_;
  std::vector<std::unique_ptr<Service>> servers_;
  Collector<int> entered_;
  Collector<int> saw_cancel_;
};

TEST_P(ServiceEndToEndTest, TypedCallRoundTrip) {
  Service* echo = StartEcho();
  ASSERT_NE(echo, nullptr);
  auto pong = Echo("hello");
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(pong->text(), "hello");
  EXPECT_EQ(pong->served_by(), echo->server().id());
}

TEST_P(ServiceEndToEndTest, JsonCallsTypedAndRaw) {
  ASSERT_NE(StartEcho(), nullptr);
  EXPECT_THAT(Echo("as json", {.content_type = kJsonContentType}),
              IsOkAndHolds(::testing::Property(&Pong::text, "as json")));
  // What go-micro's `micro call` sends: a JSON body, field names as in the
  // .proto, and an unknown field it must ignore.
  auto answer = caller_->client().CallRaw(
      "echo", kEcho,
      {.headers = {{kContentTypeHeader, kJsonContentType}},
       .body = R"({"text": "raw json", "unknown_field": 1})"});
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->headers[kContentTypeHeader], kJsonContentType);
  EXPECT_THAT(answer->body, HasSubstr(R"("text":"raw json")"));
}

TEST_P(ServiceEndToEndTest, UnknownServiceIsNotFoundNamingIt) {
  EXPECT_THAT(Echo("x", {.timeout = absl::Seconds(5)}, "nobody-here"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody-here")));
}

TEST_P(ServiceEndToEndTest, UnknownEndpointIsNotFoundNamingIt) {
  ASSERT_NE(StartEcho(), nullptr);
  auto answer = caller_->client().CallRaw("echo", "Echo.Missing", {});
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kNotFound,
                               HasSubstr("'Echo.Missing'")));
}

TEST_P(ServiceEndToEndTest, UnknownContentTypeIsRefusedClearly) {
  ASSERT_NE(StartEcho(), nullptr);
  auto answer = caller_->client().CallRaw(
      "echo", kEcho,
      {.headers = {{kContentTypeHeader, "text/plain"}}, .body = "hi"});
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("text/plain")));
}

TEST_P(ServiceEndToEndTest, WrongPayloadIsInvalidArgument) {
  ASSERT_NE(StartEcho(), nullptr);
  EXPECT_THAT(
      caller_->client().CallRaw(
          "echo", kEcho,
          {.headers = {{kContentTypeHeader, kProtobufContentType}},
           .body = "\xff\xff\xff"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("testing.Ping")));
  EXPECT_THAT(caller_->client().CallRaw(
                  "echo", kEcho,
                  {.headers = {{kContentTypeHeader, kJsonContentType}},
                   .body = "{not json"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(ServiceEndToEndTest, HandlerErrorsAndThrowsReachTheCaller) {
  Collector<std::string> logged;
  auto service =
      env_->NewService("faulty", {.on_error = [&](const absl::Status& s) {
                         logged.Add(std::string(s.message()));
                       }});
  ASSERT_THAT(service, IsOk());
  Server& server = (*service)->server();
  ASSERT_THAT(
      HandlePing(server, "Faulty.Call",
                 [](Context&, const Ping& ping, Pong* pong) -> absl::Status {
                   if (ping.text() == "deny") {
                     return absl::PermissionDeniedError("not you");
                   }
                   if (ping.text() == "throw") {
                     throw std::runtime_error("handler blew up");
                   }
                   pong->set_text("fine");
                   return absl::OkStatus();
                 }),
      IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  Ping ping;
  ping.set_text("deny");
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>("faulty", "Faulty.Call", ping)),
      StatusIs(absl::StatusCode::kPermissionDenied, "not you"));
  ping.set_text("throw");
  // The caller gets an error id; the exception's text stays in the log.
  absl::Status thrown = caller_->client()
                            .Call<Ping, Pong>("faulty", "Faulty.Call", ping)
                            .status();
  EXPECT_THAT(thrown,
              StatusIs(absl::StatusCode::kInternal,
                       ::testing::AllOf(HasSubstr("error id"),
                                        ::testing::Not(HasSubstr("blew up")))));
  ASSERT_TRUE(logged.WaitForCount(1, absl::Seconds(10)));
  EXPECT_THAT(logged.Snapshot()[0], HasSubstr("handler blew up"));
  const std::string id = std::string(
      thrown.message().substr(thrown.message().find("error id ") + 9, 16));
  EXPECT_THAT(logged.Snapshot()[0], HasSubstr(id));
  std::vector<EndpointStats> stats = server.endpoint_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_THAT(
      stats[0].last_error,
      ::testing::AllOf(HasSubstr(id), ::testing::Not(HasSubstr("blew up"))));
  ping.set_text("ok");  // still serving
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>("faulty", "Faulty.Call", ping)),
      IsOkAndHolds(::testing::Property(&Pong::text, "fine")));
  EXPECT_EQ(server.stats().errors, 2);
}

TEST_P(ServiceEndToEndTest, ExceptionTextReachesTheCallerOnlyWhenExposed) {
  auto service = env_->NewService("exposed", {.expose_handler_exceptions = true,
                                              .on_error = [](auto&&) {}});
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT(HandlePing((*service)->server(), "Exposed.Call",
                         [](Context&, const Ping&, Pong*) -> absl::Status {
                           throw std::runtime_error("handler blew up");
                         }),
              IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>("exposed", "Exposed.Call", Ping())),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("handler blew up")));
  EXPECT_THAT((*service)->server().endpoint_stats()[0].last_error,
              HasSubstr("handler blew up"));
}

TEST_P(ServiceEndToEndTest, AHandlersUnavailableRunsOnceAndEvictsNoNode) {
  // A handler's 503 is the caller's to see: were it retried, a
  // non-idempotent handler would run on every instance, and every healthy
  // node would be evicted.
  std::atomic<int> runs{0};
  for (int i = 0; i < 3; ++i) {
    auto service = env_->NewService("busy-backend");
    ASSERT_THAT(service, IsOk());
    ASSERT_THAT(HandlePing((*service)->server(), "Backend.Charge",
                           [&runs](Context&, const Ping&, Pong*) {
                             ++runs;
                             return absl::UnavailableError("card network down");
                           }),
                IsOk());
    ASSERT_THAT((*service)->Start(), IsOk());
    servers_.push_back(std::move(service).value());
  }
  ASSERT_TRUE(Eventually(
      [&] {
        auto lookup = caller_->registry().GetService("busy-backend");
        return lookup.ok() && !lookup->empty() &&
               (*lookup)[0].nodes.size() == 3;
      },
      absl::Seconds(10), "every instance registered"));
  const ClientStats before = caller_->client().stats();
  EXPECT_THAT((caller_->client().Call<Ping, Pong>(
                  "busy-backend", "Backend.Charge", Ping(), {.retries = 2})),
              StatusIs(absl::StatusCode::kUnavailable, "card network down"));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(caller_->client().stats().evicted, before.evicted);
  EXPECT_EQ(caller_->client().stats().retries, before.retries);
}

TEST_P(ServiceEndToEndTest, AnAnswerThatCannotBeSentFailsTheCallPromptly) {
  Collector<std::string> logged;
  auto service =
      env_->NewService("unsendable", {.on_error = [&](const absl::Status& s) {
                         logged.Add(std::string(s.message()));
                       }});
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT(HandlePing((*service)->server(), "U.Call",
                         [](Context& ctx, const Ping& ping, Pong* pong) {
                           if (ping.text() == "crlf") {
                             // As if echoing a request value.
                             ctx.response_metadata()["X-Echo"] =
                                 "1\r\nX-Injected: yes";
                           } else if (ping.text() == "huge") {
                             ctx.response_metadata()["X-Big"] =
                                 std::string(2 << 20, 'x');
                           }
                           pong->set_text("answer");
                           return absl::OkStatus();
                         }),
              IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  for (const char* text : {"crlf", "huge"}) {
    Ping ping;
    ping.set_text(text);
    const absl::Time start = absl::Now();
    EXPECT_THAT(
        (caller_->client().Call<Ping, Pong>(
            "unsendable", "U.Call", ping,
            {.timeout = absl::Seconds(20), .retries = 0})),
        StatusIs(absl::StatusCode::kInternal, HasSubstr("could not be sent")))
        << text;
    EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << text;
  }
  ASSERT_TRUE(logged.WaitForCount(2, absl::Seconds(10)));
  // Errors of the endpoint's, not successes.
  const std::vector<EndpointStats> stats =
      (*service)->server().endpoint_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].requests, 2);
  EXPECT_EQ(stats[0].errors, 2);
  EXPECT_THAT(stats[0].last_error, HasSubstr("could not be sent"));
  EXPECT_EQ((*service)->server().stats().errors, 2);
  // Still serving.
  Ping fine;
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>("unsendable", "U.Call", fine)),
      IsOkAndHolds(::testing::Property(&Pong::text, "answer")));
}

TEST_P(ServiceEndToEndTest, WildcardEndpointNamesAreRefused) {
  auto service = env_->NewService("cart");
  ASSERT_THAT(service, IsOk());
  PingHandler handler = [](Context&, const Ping&, Pong*) {
    return absl::OkStatus();
  };
  for (const char* name :
       {"Cart.*", ">", "Cart.>", "Cart..Add", ".Cart", "Cart.", "Cart.Add*"}) {
    EXPECT_THAT(HandlePing((*service)->server(), name, handler),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
  EXPECT_THAT(HandlePing((*service)->server(), "Cart.Add", handler), IsOk());
}

TEST_P(ServiceEndToEndTest, TheHandlerSeesTheDeadlineAndThatTheCallerGaveUp) {
  ASSERT_NE(StartEcho(), nullptr);
  ASSERT_THAT(Echo("warm"), IsOk());  // looked up and connected
  Ping ping;
  ping.set_wait_for_cancel(true);
  const absl::Time start = absl::Now();
  auto pong = caller_->client().Call<Ping, Pong>(
      "echo", kEcho, ping, {.timeout = absl::Milliseconds(300)});
  EXPECT_THAT(pong, StatusIs(absl::StatusCode::kDeadlineExceeded,
                             HasSubstr("echo.Echo.Call timed out after")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  // The handler's context was cancelled when the caller's deadline passed.
  ASSERT_TRUE(saw_cancel_.WaitForCount(1, absl::Seconds(10)));
  // And a normal call reports the deadline it carried.
  auto normal = Echo("x", {.timeout = absl::Seconds(20)});
  ASSERT_THAT(normal, IsOk());
  EXPECT_GT(normal->deadline_left_ms(), 10'000);
  EXPECT_LE(normal->deadline_left_ms(), 20'000);
}

TEST_P(ServiceEndToEndTest, RoundRobinSpreadsCallsOverEveryInstance) {
  ASSERT_TRUE(StartEchoes(3));
  // Round robin by name: the default selector is latency-aware, which may
  // favour one of three equal instances.
  const std::shared_ptr<Selector> round_robin = NewRoundRobinSelector();
  std::map<std::string, int> served;
  for (int i = 0; i < 30; ++i) {
    auto pong = Echo("rr", {.selector = round_robin});
    ASSERT_THAT(pong, IsOk());
    ++served[pong->served_by()];
  }
  ASSERT_EQ(served.size(), 3u);
  for (const auto& [id, count] : served) EXPECT_EQ(count, 10) << id;
}

TEST_P(ServiceEndToEndTest, CallsGoOnWhileOneOfThreeInstancesStops) {
  ASSERT_TRUE(StartEchoes(3));
  const std::string stopped = servers_[1]->server().id();
  for (int i = 0; i < 100; ++i) {
    if (i == 30) {
      ASSERT_THAT(servers_[1]->Stop(absl::Now() + absl::Seconds(10)), IsOk());
    }
    auto pong = Echo(absl::StrCat(i));
    ASSERT_THAT(pong, IsOk()) << "call " << i;
    if (i > 30) {
      EXPECT_NE(pong->served_by(), stopped) << "call " << i;
    }
  }
}

TEST_P(ServiceEndToEndTest, StopLetsARunningRequestFinish) {
  ServerOptions options;
  Service* echo = StartEcho();
  ASSERT_NE(echo, nullptr);
  ASSERT_THAT(Echo("warm"), IsOk());
  // A slow handler: waits for its context (the call's 5 s deadline) —
  // unless released by the test.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto slow = env_->NewService("slow");
  ASSERT_THAT(slow, IsOk());
  ASSERT_THAT(HandlePing((*slow)->server(), "Slow.Call",
                         [&](Context&, const Ping& ping, Pong* pong) {
                           entered_.Add(1);
                           released.wait();
                           pong->set_text(ping.text());
                           return absl::OkStatus();
                         }),
              IsOk());
  ASSERT_THAT((*slow)->Start(), IsOk());
  Ping ping;
  ping.set_text("in flight");
  auto in_flight = caller_->client().CallFuture<Ping, Pong>(
      "slow", "Slow.Call", ping, {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  auto stopped = std::async(std::launch::async, [&] {
    return (*slow)->Stop(absl::Now() + absl::Seconds(20));
  });
  // Stop waits for the request...
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)),
            std::future_status::timeout);
  release.set_value();
  EXPECT_THAT(in_flight.get(),
              IsOkAndHolds(::testing::Property(&Pong::text, "in flight")));
  EXPECT_THAT(stopped.get(), IsOk());
  // ...and is then gone from the registry.
  absl::Status after = caller_->client()
                           .Call<Ping, Pong>("slow", "Slow.Call", ping,
                                             {.timeout = absl::Seconds(5)})
                           .status();
  EXPECT_TRUE(absl::IsNotFound(after) || absl::IsUnavailable(after)) << after;
}

TEST_P(ServiceEndToEndTest, AStopThatRunsOutOfTimeSaysSoAndCancels) {
  Service* echo = StartEcho();
  ASSERT_NE(echo, nullptr);
  Ping ping;
  ping.set_wait_for_cancel(true);
  auto in_flight = caller_->client().CallFuture<Ping, Pong>(
      "echo", kEcho, ping, {.timeout = absl::Seconds(30)});
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  EXPECT_THAT(
      echo->Stop(absl::Now() + absl::Milliseconds(100)),
      StatusIs(
          absl::StatusCode::kDeadlineExceeded,
          HasSubstr("1 requests and 0 subscriber callbacks still running")));
  ASSERT_TRUE(saw_cancel_.WaitForCount(1, absl::Seconds(10)));
  in_flight.wait();
}

TEST_P(ServiceEndToEndTest, StopBoundsARunningSubscriberAndCancelsIt) {
  auto service = env_->NewService("listening");
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT((*service)->server().Subscribe<Ping>(
                  "jobs.started",
                  [this](Context& ctx, const Ping&) {
                    entered_.Add(1);
                    const absl::Time give_up = absl::Now() + absl::Seconds(30);
                    while (!ctx.Cancelled() && absl::Now() < give_up) {
                      absl::SleepFor(absl::Milliseconds(1));
                    }
                    if (ctx.Cancelled()) saw_cancel_.Add(1);
                    return absl::OkStatus();
                  }),
              IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  ASSERT_THAT(caller_->client().Publish("jobs.started", Ping()), IsOk());
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  EXPECT_THAT((*service)->Stop(start + absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("1 subscriber callbacks still running")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(saw_cancel_.WaitForCount(1, absl::Seconds(10)));
  // Stopped: a second Stop says what the first did, at once.
  EXPECT_THAT((*service)->Stop(absl::Now()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(ServiceEndToEndTest, AStuckSubscriberHoldsNeitherStopNorDestruction) {
  // A callback that ignores its context: Stop returns at its deadline, and
  // destroying the service does not wait for the callback either.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // Held by the callback: gone once the subscription that holds the
  // callback is (its callback ended it when it returned).
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> subscription_alive = held;
  auto service = env_->NewService("stuck");
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT(
      (*service)->server().Subscribe<Ping>(
          "jobs.stuck",
          [this, released, held = std::move(held)](Context&, const Ping&) {
            entered_.Add(1);
            released.wait_for(std::chrono::seconds(30));
            saw_cancel_.Add(1);  // returning now
            return absl::OkStatus();
          }),
      IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  ASSERT_THAT(caller_->client().Publish("jobs.stuck", Ping()), IsOk());
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  EXPECT_THAT((*service)->Stop(start + absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  service->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  release.set_value();
  ASSERT_TRUE(saw_cancel_.WaitForCount(1, absl::Seconds(10)));
  EXPECT_TRUE(Eventually([&] { return subscription_alive.expired(); },
                         absl::Seconds(10), "the subscription was freed"));
}

TEST_P(ServiceEndToEndTest, ConcurrentStopsAreSafe) {
  auto service =
      env_->NewService("twice", {.register_interval = absl::Milliseconds(20)});
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  std::vector<std::future<absl::Status>> stops;
  for (int i = 0; i < 4; ++i) {
    stops.push_back(std::async(std::launch::async, [&] {
      return (*service)->Stop(absl::Now() + absl::Seconds(10));
    }));
  }
  for (auto& stop : stops) EXPECT_THAT(stop.get(), IsOk());
}

TEST_P(ServiceEndToEndTest, AHandlerMayOutliveItsDestroyedServer) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto lingering = env_->NewService(
      "lingering", {.listen = {.close_timeout = absl::Milliseconds(50)}});
  ASSERT_THAT(lingering, IsOk());
  ASSERT_THAT(
      HandlePing((*lingering)->server(), "L.Call",
                 [this, released](Context& ctx, const Ping& ping, Pong* pong) {
                   entered_.Add(1);
                   released.wait();
                   pong->set_text(ping.text());
                   saw_cancel_.Add(1);  // returning now
                   return absl::OkStatus();
                 }),
      IsOk());
  ASSERT_THAT((*lingering)->Start(), IsOk());
  Ping ping;
  auto call = caller_->client().CallFuture<Ping, Pong>(
      "lingering", "L.Call", ping, {.timeout = absl::Seconds(30)});
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  EXPECT_THAT((*lingering)->Stop(absl::Now() + absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  lingering->reset();   // while the handler still runs
  release.set_value();  // it finishes after: nothing it uses is gone
  call.wait();
  ASSERT_TRUE(saw_cancel_.WaitForCount(1, absl::Seconds(10)));
}

TEST_P(ServiceEndToEndTest, AFullQueueIsRefusedWithResourceExhausted) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto busy = env_->NewService(
      "busy", {.listen = {.handler_threads = 1, .max_waiting_messages = 1}});
  ASSERT_THAT(busy, IsOk());
  ASSERT_THAT(HandlePing((*busy)->server(), "Busy.Call",
                         [&](Context&, const Ping& ping, Pong* pong) {
                           entered_.Add(1);
                           if (ping.text() == "block") released.wait();
                           return absl::OkStatus();
                         }),
              IsOk());
  ASSERT_THAT((*busy)->Start(), IsOk());
  Ping block;
  block.set_text("block");
  auto first =
      caller_->client().CallFuture<Ping, Pong>("busy", "Busy.Call", block);
  ASSERT_TRUE(entered_.WaitForCount(1, absl::Seconds(10)));
  // One more may wait; the rest are refused at once.
  Ping wait;
  wait.set_text("wait");
  std::vector<std::future<absl::StatusOr<Pong>>> more;
  for (int i = 0; i < 4; ++i) {
    more.push_back(caller_->client().CallFuture<Ping, Pong>(
        "busy", "Busy.Call", wait, {.timeout = absl::Seconds(20)}));
  }
  ASSERT_TRUE(
      Eventually([&] { return (*busy)->server().stats().overloaded == 3; },
                 absl::Seconds(10), "three calls refused"));
  release.set_value();
  EXPECT_THAT(first.get(), IsOk());
  int ok = 0;
  for (auto& call : more) {
    absl::StatusOr<Pong> result = call.get();
    if (result.ok()) {
      ++ok;
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kResourceExhausted,
                                   HasSubstr("overloaded")));
    }
  }
  EXPECT_EQ(ok, 1);
}

TEST_P(ServiceEndToEndTest, TwoHundredConcurrentCallers) {
  ASSERT_NE(StartEcho(), nullptr);
  ASSERT_NE(StartEcho(), nullptr);
  constexpr int kCallers = 200;
  std::vector<std::future<absl::StatusOr<Pong>>> calls;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<Pong>> results(kCallers,
                                            absl::UnknownError("unset"));
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          Echo(absl::StrCat("caller ", i), {.timeout = absl::Seconds(30)});
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_THAT(results[i], IsOk()) << i;
    EXPECT_EQ(results[i]->text(), absl::StrCat("caller ", i));
  }
}

TEST_P(ServiceEndToEndTest, WarmCallsReuseOneSocketAndStaleOnesAreClosed) {
  ASSERT_NE(StartEcho(), nullptr);
  ASSERT_NE(StartEcho({}, "other"), nullptr);
  auto client = env_->NewService(
      "pooled", {}, {.socket_idle_timeout = absl::Milliseconds(50)});
  ASSERT_THAT(client, IsOk());
  Ping ping;
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(((*client)->client().Call<Ping, Pong>("echo", kEcho, ping)),
                IsOk());
    EXPECT_EQ((*client)->client().IdleSockets(), 1u);  // the same one
  }
  // Calls to another node only: the first node's idle socket expires and
  // goes, though no call picks that node again.
  EXPECT_TRUE(Eventually(
      [&] {
        auto pong = (*client)->client().Call<Ping, Pong>("other", kEcho, ping);
        return pong.ok() && (*client)->client().IdleSockets() == 1;
      },
      absl::Seconds(10), "the unused socket closed"));
}

TEST_P(ServiceEndToEndTest, AsyncCallsWithCallbackAndFuture) {
  ASSERT_NE(StartEcho(), nullptr);
  Ping ping;
  ping.set_text("async");
  Collector<std::string> got;
  caller_->client().CallAsync<Ping, Pong>(
      "echo", kEcho, ping, {}, [&](absl::StatusOr<Pong> pong) {
        got.Add(pong.ok() ? pong->text() : pong.status().ToString());
      });
  auto future = caller_->client().CallFuture<Ping, Pong>("echo", kEcho, ping);
  EXPECT_THAT(future.get(),
              IsOkAndHolds(::testing::Property(&Pong::text, "async")));
  ASSERT_TRUE(got.WaitForCount(1, absl::Seconds(10)));
  EXPECT_EQ(got.Snapshot()[0], "async");
}

TEST_P(ServiceEndToEndTest, WrappersSeeEveryCallOnBothSides) {
  std::atomic<int> server_seen{0};
  auto guarded = env_->NewService(
      "guarded", {.wrappers = {[&](Handler next) -> Handler {
                    return [&, next](Context& ctx, const Message& request,
                                     Message* response) {
                      ++server_seen;
                      if (ctx.Get("Authorization") != "Bearer sesame") {
                        return absl::UnauthenticatedError("no valid token");
                      }
                      return next(ctx, request, response);
                    };
                  }}});
  ASSERT_THAT(guarded, IsOk());
  ASSERT_THAT(HandlePing((*guarded)->server(), "Guarded.Call",
                         [](Context&, const Ping& ping, Pong* pong) {
                           pong->set_text(ping.text());
                           return absl::OkStatus();
                         }),
              IsOk());
  ASSERT_THAT((*guarded)->Start(), IsOk());
  std::atomic<int> client_seen{0};
  auto authed = env_->NewService(
      "authed", {}, {.wrappers = {[&](CallFunc next) -> CallFunc {
                       return [&, next](const CallRequest& request,
                                        const CallOptions& options) {
                         ++client_seen;
                         CallRequest with_token = request;
                         with_token.message.headers["Authorization"] =
                             "Bearer sesame";
                         return next(with_token, options);
                       };
                     }}});
  ASSERT_THAT(authed, IsOk());
  Ping ping;
  ping.set_text("let me in");
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>("guarded", "Guarded.Call", ping)),
      StatusIs(absl::StatusCode::kUnauthenticated, "no valid token"));
  EXPECT_THAT(
      ((*authed)->client().Call<Ping, Pong>("guarded", "Guarded.Call", ping)),
      IsOkAndHolds(::testing::Property(&Pong::text, "let me in")));
  EXPECT_EQ(server_seen.load(), 2);
  EXPECT_EQ(client_seen.load(), 1);
}

TEST_P(ServiceEndToEndTest, MetadataTravelsAsHeaders) {
  auto service = env_->NewService("meta");
  ASSERT_THAT(service, IsOk());
  ASSERT_THAT(HandlePing((*service)->server(), "Meta.Call",
                         [](Context& ctx, const Ping&, Pong* pong) {
                           pong->set_text(absl::StrCat(ctx.Get("Trace-Id"), "/",
                                                       ctx.Get(kServiceHeader),
                                                       "/", ctx.endpoint()));
                           ctx.response_metadata()["Served-Region"] = "test";
                           return absl::OkStatus();
                         }),
              IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  Ping ping;
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>(
          "meta", "Meta.Call", ping, {.metadata = {{"Trace-Id", "t-42"}}})),
      IsOkAndHolds(::testing::Property(&Pong::text, "t-42/meta/Meta.Call")));
  auto raw = caller_->client().CallRaw(
      "meta", "Meta.Call",
      {.headers = {{kContentTypeHeader, kProtobufContentType}}});
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->headers["Served-Region"], "test");
}

TEST_P(ServiceEndToEndTest, FiltersPickAVersion) {
  auto make = [&](const std::string& version) -> std::unique_ptr<Service> {
    auto service =
        env_->NewService("versioned", {.identity = {.version = version}});
    if (!service.ok()) return nullptr;
    Server& server = (*service)->server();
    EXPECT_THAT(HandlePing(server, "V.Call",
                           [version](Context&, const Ping&, Pong* pong) {
                             pong->set_text(version);
                             return absl::OkStatus();
                           }),
                IsOk());
    EXPECT_THAT((*service)->Start(), IsOk());
    return std::move(service).value();
  };
  auto one = make("1.0.0");
  auto two = make("2.0.0");
  ASSERT_TRUE(one && two);
  Ping ping;
  for (int i = 0; i < 6; ++i) {
    EXPECT_THAT((caller_->client().Call<Ping, Pong>(
                    "versioned", "V.Call", ping,
                    {.filters = {FilterVersion("2.0.0")}})),
                IsOkAndHolds(::testing::Property(&Pong::text, "2.0.0")));
  }
  EXPECT_THAT(
      (caller_->client().Call<Ping, Pong>(
          "versioned", "V.Call", ping, {.filters = {FilterVersion("3.0.0")}})),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("filters")));
}

TEST_P(ServiceEndToEndTest, EndpointsAreDescribedInTheRegistry) {
  ASSERT_NE(StartEcho(), nullptr);
  ASSERT_TRUE(
      Eventually([&] { return caller_->registry().GetService("echo").ok(); },
                 absl::Seconds(10), "echo registered"));
  auto versions = caller_->registry().GetService("echo");
  ASSERT_THAT(versions, IsOk());
  ASSERT_EQ(versions->size(), 1u);
  ASSERT_EQ((*versions)[0].endpoints.size(), 1u);
  const registry::Endpoint& endpoint = (*versions)[0].endpoints[0];
  EXPECT_EQ(endpoint.name, kEcho);
  ASSERT_TRUE(endpoint.request.has_value());
  EXPECT_EQ(endpoint.request->name, "Ping");
  EXPECT_THAT(endpoint.request->values,
              ::testing::Contains(registry::Value{"text", "string", {}}));
  ASSERT_TRUE(endpoint.response.has_value());
  EXPECT_EQ(endpoint.response->name, "Pong");
}

// True while `service` has `count` nodes, checked every 20 ms for `span`.
inline ::testing::AssertionResult StaysRegistered(registry::Registry& registry,
                                                  const std::string& service,
                                                  size_t count,
                                                  absl::Duration span) {
  const absl::Time end = absl::Now() + span;
  while (absl::Now() < end) {
    auto found = registry.GetService(service);
    if (!found.ok() || found->empty() || (*found)[0].nodes.size() != count) {
      return ::testing::AssertionFailure()
             << service << " lost its registration: "
             << (found.ok() ? "fewer nodes" : found.status().ToString());
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return ::testing::AssertionSuccess();
}

TEST_P(ServiceEndToEndTest, RegistrationIsRenewedWithinItsTtl) {
  // Renewed: still there after many TTLs. Not renewed: expires.
  auto renewed = env_->NewService(
      "renewed", {.register_ttl = absl::Milliseconds(300),
                  .register_interval = absl::Milliseconds(100)});
  auto lapsing = env_->NewService(
      "lapsing", {.register_ttl = absl::Milliseconds(300),
                  .register_interval = absl::InfiniteDuration()});
  ASSERT_THAT(renewed, IsOk());
  ASSERT_THAT(lapsing, IsOk());
  ASSERT_THAT((*renewed)->Start(), IsOk());
  ASSERT_THAT((*lapsing)->Start(), IsOk());
  EXPECT_TRUE(StaysRegistered(caller_->registry(), "renewed", 1,
                              absl::Milliseconds(1500)));
  EXPECT_TRUE(Eventually(
      [&] {
        return absl::IsNotFound(
            caller_->registry().GetService("lapsing").status());
      },
      absl::Seconds(10), "the unrenewed registration expired"));
  ASSERT_THAT((*renewed)->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        return absl::IsNotFound(
            caller_->registry().GetService("renewed").status());
      },
      absl::Seconds(10), "deregistered on Stop"));
}

TEST_P(ServiceEndToEndTest, PubSubWithAndWithoutQueueGroups) {
  Collector<std::string> all_a, all_b, workers;
  std::vector<std::unique_ptr<Service>> subscribers;
  auto subscribe = [&](const std::string& name, Collector<std::string>& into,
                       const std::string& queue) {
    auto service = env_->NewService(name);
    ASSERT_THAT(service, IsOk());
    ASSERT_THAT((*service)->server().Subscribe<Ping>(
                    "events.created",
                    [&into, name](Context& ctx, const Ping& ping) {
                      into.Add(absl::StrCat(name, ":", ping.text(), ":",
                                            ctx.endpoint()));
                      return absl::OkStatus();
                    },
                    {.queue = queue}),
                IsOk());
    ASSERT_THAT((*service)->Start(), IsOk());
    subscribers.push_back(std::move(service).value());
  };
  subscribe("audit-a", all_a, "");
  subscribe("audit-b", all_b, "");
  subscribe("worker-1", workers, "workers");
  subscribe("worker-2", workers, "workers");
  // Start returns once the subscriptions are live (the broker flushes).
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i) {
    Ping ping;
    ping.set_text(absl::StrCat(i));
    ASSERT_THAT(caller_->client().Publish("events.created", ping), IsOk());
  }
  ASSERT_TRUE(all_a.WaitForCount(kMessages, absl::Seconds(10)));
  ASSERT_TRUE(all_b.WaitForCount(kMessages, absl::Seconds(10)));
  ASSERT_TRUE(workers.WaitForCount(kMessages, absl::Seconds(10)));
  EXPECT_EQ(all_a.Snapshot()[0], "audit-a:0:events.created");
  std::set<std::string> texts;
  for (const std::string& got : workers.Snapshot()) {
    texts.insert(got.substr(got.find(':') + 1));
  }
  EXPECT_EQ(texts.size(), static_cast<size_t>(kMessages));  // each once
  EXPECT_EQ(workers.size(), static_cast<size_t>(kMessages));
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_TESTING_E2E_H_
