// Copyright 2026 The micro-nats Authors.
//
// The client's policies on a mock transport: the headers a call carries,
// which failures are retried (and the node evicted), wrapper order; issue
// 26's rules: idempotency after delivery, the retry budget, breakers,
// selector hooks, the observer, deadline inheritance, hedging.

#include "service/client.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/cache/cache.h"
#include "registry/memory/memory_registry.h"
#include "service/errors.h"
#include "status/status_matchers.h"
#include "testing/sync.h"
#include "transport/mock/mock_transport.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::_;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;
using transport::MockSocket;
using transport::MockTransport;

// What a mock node answers: its body, or a status for the socket's Recv,
// or an error the server sends back.
struct NodeBehaviour {
  absl::Status recv_status = absl::OkStatus();
  absl::Status server_error = absl::OkStatus();
  std::string refused;  // kRefusedHeader of the error answer, if any
  std::string body = "ok";
  absl::Status send_status = absl::OkStatus();
  bool hang = false;  // Recv waits for its deadline or the socket's Close
};

// A socket's Close, seen by a hanging Recv.
struct Hang {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Registered before the cache watches: an event of it reaching the
    // cache after a test's Evict would refill the entry it evicted from.
    std::shared_ptr<registry::Registry> backend = registry::NewMemoryRegistry();
    ASSERT_THAT(backend->Register({.name = "svc",
                                   .version = "1",
                                   .nodes = {{.id = "a", .address = "addr.a"},
                                             {.id = "b", .address = "addr.b"}}},
                                  {}),
                IsOk());
    // One endpoint the registry marks idempotent (a server's
    // EndpointOptions::idempotent), one not.
    ASSERT_THAT(
        backend->Register({.name = "idem",
                           .version = "1",
                           .endpoints = {{.name = "Idem.Do",
                                          .metadata = {{"idempotent", "true"}}},
                                         {.name = "Idem.Other"}},
                           .nodes = {{.id = "a", .address = "addr.a"},
                                     {.id = "b", .address = "addr.b"}}},
                          {}),
        IsOk());
    registry_ = registry::CachingRegistry::Create(backend).value();
    ON_CALL(*transport_, Dial(_, _))
        .WillByDefault(
            [this](absl::string_view address, transport::DialOptions) {
              NodeBehaviour behaviour;
              {
                std::lock_guard<std::mutex> lock(mu_);
                dialled_.push_back(std::string(address));
                behaviour = behaviour_[std::string(address)];
              }
              return MakeSocket(behaviour);
            });
  }

  absl::StatusOr<std::unique_ptr<transport::Socket>> MakeSocket(
      NodeBehaviour behaviour) {
    auto socket = std::make_unique<NiceMock<MockSocket>>();
    auto last_id = std::make_shared<std::string>();
    auto hang = std::make_shared<Hang>();
    ON_CALL(*socket, Send(_))
        .WillByDefault([this, last_id, behaviour](const Message& m) {
          std::lock_guard<std::mutex> lock(mu_);
          sent_.push_back(m);
          *last_id = m.headers.at(kIdHeader);
          return behaviour.send_status;
        });
    ON_CALL(*socket, Recv(_))
        .WillByDefault([behaviour, last_id,
                        hang](absl::Time deadline) -> absl::StatusOr<Message> {
          if (behaviour.hang) {
            std::unique_lock<std::mutex> lock(hang->mu);
            hang->cv.wait_for(lock,
                              absl::ToChronoNanoseconds(deadline - absl::Now()),
                              [&] { return hang->closed; });
            if (hang->closed) {
              return absl::FailedPreconditionError("closed");
            }
            return absl::DeadlineExceededError("no answer");
          }
          if (!behaviour.recv_status.ok()) return behaviour.recv_status;
          Message answer{.headers = {{kIdHeader, *last_id}},
                         .body = behaviour.body};
          if (!behaviour.server_error.ok()) {
            answer.headers[kErrorHeader] =
                ErrorToJson(behaviour.server_error, "svc");
            if (!behaviour.refused.empty()) {
              answer.headers[kRefusedHeader] = behaviour.refused;
            }
          }
          return answer;
        });
    ON_CALL(*socket, Close()).WillByDefault([this, hang, behaviour] {
      std::lock_guard<std::mutex> lock(hang->mu);
      if (!hang->closed) {
        hang->closed = true;
        hang->cv.notify_all();
        if (behaviour.hang) ++closed_;
      }
      return absl::OkStatus();
    });
    return std::unique_ptr<transport::Socket>(std::move(socket));
  }

  std::unique_ptr<Client> NewClient(ClientOptions options = {}) {
    options.backoff = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Create(std::move(options), registry_, transport_, nullptr);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::shared_ptr<registry::CachingRegistry> registry_;
  std::shared_ptr<NiceMock<MockTransport>> transport_ =
      std::make_shared<NiceMock<MockTransport>>();
  std::map<std::string, NodeBehaviour> behaviour_;
  std::mutex mu_;  // hedged attempts run on other threads
  std::vector<std::string> dialled_;
  std::vector<Message> sent_;
  std::atomic<int> closed_{0};  // hanging sockets closed
};

TEST_F(ClientTest, ACallCarriesGoMicrosHeadersAndTheMetadata) {
  auto client = NewClient();
  const absl::Time before = absl::Now();
  ASSERT_THAT(client->CallRaw(
                  "svc", "Svc.Do", {.headers = {{kContentTypeHeader, "x/y"}}},
                  {.timeout = absl::Seconds(3), .metadata = {{"Trace", "t1"}}}),
              IsOk());
  ASSERT_EQ(sent_.size(), 1u);
  const Headers& headers = sent_[0].headers;
  EXPECT_EQ(headers.at(kServiceHeader), "svc");
  EXPECT_EQ(headers.at(kEndpointHeader), "Svc.Do");
  EXPECT_EQ(headers.at(kContentTypeHeader), "x/y");
  EXPECT_EQ(headers.at("Trace"), "t1");
  EXPECT_EQ(headers.at(kIdHeader).size(), 15u);
  const int64_t timeout_ns = std::stoll(headers.at(kTimeoutHeader));
  EXPECT_LE(timeout_ns, absl::ToInt64Nanoseconds(absl::Seconds(3)));
  EXPECT_GT(timeout_ns,
            absl::ToInt64Nanoseconds(absl::Seconds(3) - (absl::Now() - before) -
                                     absl::Milliseconds(500)));
}

TEST_F(ClientTest, UnavailableIsRetriedOnAnotherNodeWhichIsEvicted) {
  behaviour_["addr.b"].recv_status = absl::UnavailableError("no responders");
  auto client = NewClient({.selector = NewRoundRobinSelector()});
  // Round robin: "a" first (warming a socket to it), then "b", which fails.
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  dialled_.clear();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_THAT(dialled_, ::testing::ElementsAre("addr.b"));  // a was warm
  EXPECT_EQ(client->stats().retries, 1);
  EXPECT_EQ(client->stats().evicted, 1);
  auto cached = registry_->Lookup("svc");
  ASSERT_THAT(cached, IsOk());
  ASSERT_EQ(cached->services.size(), 1u);
  EXPECT_THAT(
      cached->services[0].nodes,
      ::testing::ElementsAre(::testing::Field(&registry::Node::id, "a")));
}

TEST_F(ClientTest, RetriesStopAtTheLimitAndSaySo) {
  behaviour_["addr.a"].recv_status = absl::UnavailableError("down");
  behaviour_["addr.b"].recv_status = absl::UnavailableError("down");
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 1}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("failed after 2 attempts")));
  EXPECT_EQ(dialled_.size(), 2u);
}

TEST_F(ClientTest, OtherFailuresAreNotRetried) {
  for (const absl::Status& error : {absl::ResourceExhaustedError("overloaded"),
                                    absl::InvalidArgumentError("bad request"),
                                    absl::PermissionDeniedError("no")}) {
    behaviour_["addr.a"].server_error = error;
    behaviour_["addr.b"].server_error = error;
    auto client = NewClient();
    dialled_.clear();
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
                StatusIs(error.code(), error.message()));
    EXPECT_EQ(dialled_.size(), 1u) << error;
    EXPECT_EQ(client->stats().retries, 0) << error;
  }
}

TEST_F(ClientTest, OnlyAServersOwnUnavailableIsRetried) {
  // A handler's Unavailable: the handler ran; the caller sees it.
  behaviour_["addr.a"].server_error = absl::UnavailableError("handler's");
  behaviour_["addr.b"].server_error = absl::UnavailableError("handler's");
  auto client = NewClient({.selector = NewRoundRobinSelector()});
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
              StatusIs(absl::StatusCode::kUnavailable, "handler's"));
  EXPECT_EQ(dialled_.size(), 1u);
  EXPECT_EQ(client->stats().retries, 0);
  EXPECT_EQ(client->stats().evicted, 0);
  // A server that refuses as stopping: another node is tried, this one
  // evicted.
  behaviour_["addr.a"] = {.server_error = absl::UnavailableError("stopping"),
                          .refused = "stopping"};
  behaviour_["addr.b"] = {};
  dialled_.clear();
  auto fresh = NewClient({.selector = NewRoundRobinSelector()});
  EXPECT_THAT(fresh->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_EQ(fresh->stats().evicted, 1);
  EXPECT_EQ(fresh->stats().retries, 1);
}

TEST_F(ClientTest, AnAnswerForAnotherCallIsSkipped) {
  ON_CALL(*transport_, Dial(_, _))
      .WillByDefault([this](absl::string_view, transport::DialOptions) {
        auto socket = std::make_unique<NiceMock<MockSocket>>();
        auto id = std::make_shared<std::string>();
        ON_CALL(*socket, Send(_)).WillByDefault([id](const Message& m) {
          *id = m.headers.at(kIdHeader);
          return absl::OkStatus();
        });
        EXPECT_CALL(*socket, Recv(_))
            .WillOnce(Return(
                Message{.headers = {{kIdHeader, "stale"}}, .body = "old"}))
            .WillOnce([id](absl::Time) {
              return Message{.headers = {{kIdHeader, *id}}, .body = "new"};
            });
        return absl::StatusOr<std::unique_ptr<transport::Socket>>(
            std::move(socket));
      });
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "new")));
}

TEST_F(ClientTest, WrappersRunOutermostFirst) {
  std::vector<std::string> order;
  auto wrapper = [&order](std::string name) {
    return [&order, name](CallFunc next) -> CallFunc {
      return [&order, name, next](const CallRequest& request,
                                  const CallOptions& options) {
        order.push_back(name + ">");
        auto result = next(request, options);
        order.push_back("<" + name);
        return result;
      };
    };
  };
  auto client = NewClient({.wrappers = {wrapper("outer"), wrapper("inner")}});
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  EXPECT_THAT(order,
              ::testing::ElementsAre("outer>", "inner>", "<inner", "<outer"));
}

TEST_F(ClientTest, AnUnknownServiceIsNotFoundWithoutDialling) {
  auto client = NewClient();
  EXPECT_THAT(client->CallRaw("nobody", "X.Y", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nobody'")));
  EXPECT_TRUE(dialled_.empty());
}

// Picks node "a" while it is a candidate; tells what it was told.
class PreferA : public Selector {
 public:
  registry::Node Select(absl::string_view,
                        const std::vector<registry::Node>& nodes) override {
    for (const registry::Node& node : nodes) {
      if (node.id == "a") return node;
    }
    return nodes.front();
  }
  void Started(absl::string_view, const registry::Node& node) override {
    std::lock_guard<std::mutex> lock(mu);
    started.push_back(node.id);
  }
  void Finished(absl::string_view, const registry::Node& node,
                const AttemptResult& result) override {
    std::lock_guard<std::mutex> lock(mu);
    finished.push_back(absl::StrCat(node.id, ":", result.status.code(), ":",
                                    result.node_failed,
                                    result.cancelled ? ":cancelled" : ""));
  }
  std::mutex mu;
  std::vector<std::string> started;
  std::vector<std::string> finished;
};

TEST_F(ClientTest,
       ASocketEndedAfterTheRequestIsOutcomeUnknownUnlessIdempotent) {
  behaviour_["addr.a"].recv_status = absl::OutOfRangeError("peer closed");
  auto client = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(
      client->CallRaw("svc", "Svc.Do", {}, {.retries = 5}),
      StatusIs(absl::StatusCode::kUnavailable,
               "call to svc.Svc.Do: node a ended the connection after the "
               "request was sent; outcome unknown (not retried: the endpoint "
               "is not idempotent)"));
  EXPECT_THAT(dialled_, ::testing::ElementsAre("addr.a"));
  EXPECT_EQ(client->stats().outcome_unknown, 1);
  EXPECT_EQ(client->stats().retries, 0);
  EXPECT_EQ(client->stats().evicted, 1);
}

TEST_F(ClientTest, AnIdempotentCallIsRetriedAfterDelivery) {
  // The call's word, the policy by "<service>.<endpoint>" or "<endpoint>".
  std::vector<std::pair<ClientOptions, CallOptions>> ways;
  ways.push_back({{}, {.idempotent = true}});
  ways.push_back({{.policies = {{"svc.Svc.Do", {.idempotent = true}}}}, {}});
  ways.push_back({{.policies = {{"Svc.Do", {.idempotent = true}}}}, {}});
  // The call's word wins over the policy.
  ways.push_back({{.policies = {{"Svc.Do", {.idempotent = false}}}},
                  {.idempotent = true}});
  for (auto& [client_options, call_options] : ways) {
    SetUp();
    behaviour_.clear();
    behaviour_["addr.a"].recv_status = absl::OutOfRangeError("peer closed");
    client_options.selector = std::make_shared<PreferA>();
    auto client = NewClient(client_options);
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}, call_options),
                IsOkAndHolds(::testing::Field(&Message::body, "ok")));
    EXPECT_EQ(client->stats().retries, 1);
    EXPECT_EQ(client->stats().outcome_unknown, 0);
  }
}

TEST_F(ClientTest, TheRegistrysWordMarksAnEndpointIdempotent) {
  behaviour_["addr.a"].recv_status = absl::OutOfRangeError("peer closed");
  auto client = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(client->CallRaw("idem", "Idem.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  // Its other endpoint is not marked.
  SetUp();  // "a" back in the cache
  auto fresh = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(
      fresh->CallRaw("idem", "Idem.Other", {}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("outcome unknown")));
}

TEST_F(ClientTest, AStreamOpenThatMayHaveStartedAHandlerIsNotRetried) {
  // The server starts the handler as it accepts; the accept was lost.
  behaviour_["addr.a"].recv_status = absl::OutOfRangeError("peer closed");
  auto client = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(
      client->StreamRaw("svc", "Svc.Watch", {.call = {.retries = 5}}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("outcome unknown")));
  EXPECT_THAT(dialled_, ::testing::ElementsAre("addr.a"));
  EXPECT_EQ(client->stats().outcome_unknown, 1);
  // An idempotent stream endpoint is opened again elsewhere (the mock's
  // answer is no accept: Unimplemented, but "b" was asked).
  SetUp();
  dialled_.clear();
  auto idempotent = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(
      idempotent->StreamRaw("svc", "Svc.Watch", {.call = {.idempotent = true}}),
      StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(dialled_, ::testing::ElementsAre("addr.a", "addr.b"));
  EXPECT_EQ(idempotent->stats().outcome_unknown, 0);
}

// NATS Service API nodes' request/reply: answers from a script.
class ScriptedRequestReply : public RequestReply {
 public:
  explicit ScriptedRequestReply(std::vector<absl::Status> script)
      : script_(std::move(script)) {}
  absl::StatusOr<Message> Request(const std::string& subject, const Message&,
                                  absl::Time) override {
    std::lock_guard<std::mutex> lock(mu_);
    subjects.push_back(subject);
    if (next_ < script_.size() && !script_[next_].ok()) {
      return script_[next_++];
    }
    ++next_;
    return Message{.body = "ok"};
  }
  std::vector<std::string> subjects;

 private:
  std::mutex mu_;
  const std::vector<absl::Status> script_;
  size_t next_ = 0;
};

TEST_F(ClientTest, OnlyNoRespondersIsAServiceApiNodesFailure) {
  std::shared_ptr<registry::Registry> backend = registry::NewMemoryRegistry();
  const registry::Metadata micro = {{"protocol", "nats-micro"}};
  ASSERT_THAT(
      backend->Register({.name = "api",
                         .version = "1",
                         .endpoints = {{.name = "Api.Do",
                                        .metadata = {{"subject", "api.do"}}}},
                         .nodes = {{.id = "a", .metadata = micro},
                                   {.id = "b", .metadata = micro}}},
                        {}),
      IsOk());
  registry_ = registry::CachingRegistry::Create(backend).value();
  // Our own connection closed: not the node's, not retried, not evicted.
  auto closed = std::make_shared<ScriptedRequestReply>(std::vector{
      absl::UnavailableError("request on 'api.do': Connection Closed")});
  auto client = NewClient(
      {.selector = std::make_shared<PreferA>(), .request_reply = closed});
  EXPECT_THAT(
      client->CallRaw("api", "Api.Do", {}),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("Connection Closed")));
  EXPECT_EQ(client->stats().evicted, 0);
  EXPECT_EQ(client->stats().retries, 0);
  EXPECT_TRUE(client->node_health().empty());
  // Nobody took it: the node is gone, another is tried.
  auto nobody =
      std::make_shared<ScriptedRequestReply>(std::vector{absl::UnavailableError(
          "request on 'api.do': No responders available for request")});
  auto retried = NewClient(
      {.selector = std::make_shared<PreferA>(), .request_reply = nobody});
  EXPECT_THAT(retried->CallRaw("api", "Api.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_EQ(retried->stats().evicted, 1);
  EXPECT_EQ(retried->stats().retries, 1);
}

TEST_F(ClientTest, ASendThatFailedNeverReachedAHandlerAndIsRetried) {
  behaviour_["addr.a"].send_status = absl::OutOfRangeError("peer closed");
  auto client = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_EQ(client->stats().retries, 1);
  EXPECT_EQ(client->stats().outcome_unknown, 0);
}

TEST_F(ClientTest, AProbeThatFindsTheNodeGoneIsAfterDelivery) {
  // Unavailable once a probe could have run (here: at once).
  behaviour_["addr.a"].recv_status = absl::UnavailableError("node gone");
  auto client = NewClient({.selector = std::make_shared<PreferA>(),
                           .probe_interval = absl::Nanoseconds(1)});
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("node gone; outcome unknown")));
}

TEST_F(ClientTest, TheTransportsWordOnDeliveryWinsOverTheClock) {
  // Prompt, but the transport says a probe found the node gone.
  behaviour_["addr.a"].recv_status =
      transport::WithDelivery(absl::UnavailableError("node gone"),
                              transport::Delivery::kMaybeDelivered);
  auto client = NewClient({.selector = std::make_shared<PreferA>()});
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("node gone; outcome unknown")));
  // Late, but NATS answered the request itself "no responders".
  SetUp();
  behaviour_["addr.a"].recv_status =
      transport::WithDelivery(absl::UnavailableError("no responders"),
                              transport::Delivery::kNotDelivered);
  auto late = NewClient({.selector = std::make_shared<PreferA>(),
                         .probe_interval = absl::Nanoseconds(1)});
  EXPECT_THAT(late->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_EQ(late->stats().retries, 1);
}

TEST_F(ClientTest, ARetryThatTheBudgetRefusesReturnsTheError) {
  behaviour_["addr.a"] = {.server_error = absl::UnavailableError("stopping"),
                          .refused = "stopping"};
  auto client = NewClient({.selector = std::make_shared<PreferA>(),
                           .retry_budget = {.ratio = 0, .min_per_second = 0}});
  EXPECT_THAT(
      client->CallRaw("svc", "Svc.Do", {}),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("retry budget"), HasSubstr("stopping"))));
  EXPECT_EQ(client->stats().budget_exhausted, 1);
  EXPECT_EQ(client->stats().retries, 0);
}

TEST_F(ClientTest, AnOpenBreakerLeavesItsNodeOut) {
  behaviour_["addr.a"].server_error = absl::InternalError("broken");
  auto client = NewClient({.selector = std::make_shared<PreferA>(),
                           .circuit_breaker = {.consecutive_failures = 2}});
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
                StatusIs(absl::StatusCode::kInternal));
  }
  EXPECT_EQ(client->stats().breaker_opened, 1);
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  std::vector<NodeHealth> health = client->node_health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].service, "svc");
  EXPECT_EQ(health[0].node_id, "a");
  EXPECT_EQ(health[0].breaker, NodeHealth::Breaker::kOpen);
  EXPECT_EQ(health[0].failures, 2);
}

TEST_F(ClientTest, OverloadAndTheCallersShortDeadlineOpenNoBreaker) {
  // An endpoint at its max_concurrency refuses "overloaded".
  behaviour_["addr.a"] = {
      .server_error = absl::ResourceExhaustedError("max_concurrency"),
      .refused = "overloaded"};
  auto client = NewClient({.selector = std::make_shared<PreferA>(),
                           .circuit_breaker = {.consecutive_failures = 1}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
                StatusIs(absl::StatusCode::kResourceExhausted));
  }
  EXPECT_EQ(client->stats().breaker_opened, 0);
  EXPECT_TRUE(client->node_health().empty());
  // A deadline shorter than min_deadline is the caller's; a fair one is the
  // node's.
  SetUp();
  behaviour_["addr.a"] = {.hang = true};
  auto hung =
      NewClient({.selector = std::make_shared<PreferA>(),
                 .circuit_breaker = {.consecutive_failures = 1,
                                     .min_deadline = absl::Milliseconds(50)}});
  EXPECT_THAT(
      hung->CallRaw("svc", "Svc.Do", {}, {.timeout = absl::Milliseconds(5)}),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(hung->stats().breaker_opened, 0);
  EXPECT_THAT(
      hung->CallRaw("svc", "Svc.Do", {}, {.timeout = absl::Milliseconds(80)}),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(hung->stats().breaker_opened, 1);
}

TEST_F(ClientTest, BreakersOpenOnEveryNodeFailTheCallAtOnce) {
  behaviour_["addr.a"].server_error = absl::InternalError("broken");
  behaviour_["addr.b"].server_error = absl::InternalError("broken");
  auto client = NewClient({.circuit_breaker = {.consecutive_failures = 1}});
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
                StatusIs(absl::StatusCode::kInternal));
  }
  dialled_.clear();
  EXPECT_THAT(client->CallRaw("svc", "Svc.Do", {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       "circuit breakers open on all 2 nodes of 'svc'"));
  EXPECT_TRUE(dialled_.empty());
  EXPECT_EQ(client->stats().breaker_opened, 2);
}

TEST_F(ClientTest, TheSelectorIsToldAroundEachAttempt) {
  behaviour_["addr.a"].recv_status = absl::UnavailableError("no responders");
  auto selector = std::make_shared<PreferA>();
  auto client = NewClient({.selector = selector});
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  EXPECT_THAT(selector->started, ::testing::ElementsAre("a", "b"));
  EXPECT_THAT(selector->finished,
              ::testing::ElementsAre(
                  absl::StrCat("a:", absl::StatusCode::kUnavailable, ":1"),
                  absl::StrCat("b:", absl::StatusCode::kOk, ":0")));
}

class RecordingObserver : public Observer {
 public:
  class Call : public Observation {
   public:
    Call(RecordingObserver* owner, std::string what)
        : owner_(owner), what_(std::move(what)) {}
    void Attempt(absl::string_view node_id,
                 const absl::Status& status) override {
      owner_->Log(absl::StrCat(what_, " attempt ", node_id, " ",
                               absl::StatusCodeToString(status.code())));
    }
    void End(const absl::Status& status) override {
      owner_->Log(absl::StrCat(what_, " end ",
                               absl::StatusCodeToString(status.code())));
    }

   private:
    RecordingObserver* const owner_;
    const std::string what_;
  };

  std::unique_ptr<Observation> ClientCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          Headers* headers) override {
    (*headers)["traceparent"] = "00-trace";
    return std::make_unique<Call>(
        this,
        absl::StrCat(static_cast<int>(kind), " ", service, ".", endpoint));
  }
  void Count(Counter counter, absl::string_view service, int64_t n,
             absl::string_view) override {
    Log(absl::StrCat("count ", static_cast<int>(counter), " ", service, " ",
                     n));
  }
  void Log(std::string line) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(line));
  }
  std::mutex mu;
  std::vector<std::string> log;
};

TEST_F(ClientTest, TheObserverSeesTheCallItsAttemptsAndCounts) {
  behaviour_["addr.a"].recv_status = absl::UnavailableError("no responders");
  auto observer = std::make_shared<RecordingObserver>();
  auto client = NewClient(
      {.selector = std::make_shared<PreferA>(), .observer = observer});
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}), IsOk());
  const auto count = [](Counter counter) {
    return absl::StrCat("count ", static_cast<int>(counter), " svc 1");
  };
  EXPECT_THAT(observer->log,
              ::testing::ElementsAre(
                  count(Counter::kEvicted),
                  "0 svc.Svc.Do attempt a UNAVAILABLE", count(Counter::kRetry),
                  "0 svc.Svc.Do attempt b OK", "0 svc.Svc.Do end OK"));
  // What the observer added travels with the request.
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].headers.at("traceparent"), "00-trace");
}

TEST_F(ClientTest, ACallInsideAHandlerInheritsItsDeadline) {
  auto client = NewClient();
  Context handler("caller", "C.Handle", "", absl::Now() + absl::Seconds(1), {});
  service_internal::current_context = &handler;
  ASSERT_THAT(client->CallRaw("svc", "Svc.Do", {}, {.timeout = absl::Hours(1)}),
              IsOk());
  ASSERT_THAT(
      client->CallRaw("svc", "Svc.Do", {},
                      {.timeout = absl::Hours(1), .inherit_deadline = false}),
      IsOk());
  service_internal::current_context = nullptr;
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_LE(std::stoll(sent_[0].headers.at(kTimeoutHeader)),
            absl::ToInt64Nanoseconds(absl::Seconds(1)));
  EXPECT_GT(std::stoll(sent_[1].headers.at(kTimeoutHeader)),
            absl::ToInt64Nanoseconds(absl::Minutes(59)));
}

TEST_F(ClientTest, AHedgeAnswersWhileTheFirstNodeHangs) {
  behaviour_["addr.a"].hang = true;
  auto selector = std::make_shared<PreferA>();
  auto client = NewClient({.selector = selector});
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      client->CallRaw("svc", "Svc.Do", {},
                      {.timeout = absl::Seconds(30),
                       .idempotent = true,
                       .hedge = HedgePolicy{.delay = absl::Milliseconds(20)}}),
      IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not the deadline
  EXPECT_EQ(client->stats().hedges, 1);
  EXPECT_EQ(client->stats().hedge_wins, 1);
  // The loser's socket was closed (abandoned, not kept).
  EXPECT_EQ(closed_.load(), 1);
  client.reset();  // waits for the loser's attempt
  EXPECT_THAT(selector->started, ::testing::ElementsAre("a", "b"));
  // An abandoned attempt is no node failure, and no latency sample.
  EXPECT_THAT(selector->finished,
              ::testing::Contains(absl::StrCat(
                  "a:", absl::StatusCode::kCancelled, ":0:cancelled")));
}

TEST_F(ClientTest, AnAnswerBeforeTheHedgesDelayIsNotHedged) {
  auto client = NewClient();
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(
        client->CallRaw("svc", "Svc.Do", {},
                        {.idempotent = true,
                         .hedge = HedgePolicy{.delay = absl::Seconds(20)}}),
        IsOkAndHolds(::testing::Field(&Message::body, "ok")));
  }
  EXPECT_EQ(client->stats().hedges, 0);
  EXPECT_EQ(client->stats().hedge_wins, 0);
  EXPECT_EQ(client->stats().retries, 0);
}

TEST_F(ClientTest, HedgesBeyondThePoolAreSkippedAndAbandonedOnesNeverDial) {
  behaviour_["addr.a"].hang = true;
  behaviour_["addr.b"].hang = true;
  // A hedge pool of 2 threads, 2 more hedges may wait.
  auto client =
      NewClient({.selector = std::make_shared<PreferA>(), .async_threads = 1});
  auto call = [&](absl::Duration timeout) {
    EXPECT_THAT(
        client->CallRaw("svc", "Svc.Do", {},
                        {.timeout = timeout,
                         .idempotent = true,
                         .hedge = HedgePolicy{.delay = absl::Milliseconds(1)}}),
        StatusIs(absl::StatusCode::kDeadlineExceeded));
  };
  auto dialled_b = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return std::count(dialled_.begin(), dialled_.end(), "addr.b");
  };
  // Two calls whose hedges hold both threads for 2 s.
  std::vector<std::thread> callers;
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back(call, absl::Seconds(2));
  }
  ASSERT_TRUE(micro_nats::testing::Eventually([&] { return dialled_b() == 2; },
                                              absl::Seconds(1), "two hedges"));
  // Four short calls: two hedges wait (and are abandoned before a thread
  // frees), two are skipped.
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back(call, absl::Milliseconds(300));
  }
  for (std::thread& caller : callers) caller.join();
  const ClientStats stats = client->stats();
  EXPECT_EQ(stats.hedges, 4);
  EXPECT_EQ(stats.hedges_skipped, 2);
  client.reset();  // the two hedges that waited run, abandoned
  EXPECT_EQ(dialled_b(), 2);
}

TEST_F(ClientTest, AHedgeDelayTooShortIsRefused) {
  auto client = NewClient();
  EXPECT_THAT(
      client->CallRaw("svc", "Svc.Do", {},
                      {.idempotent = true,
                       .hedge = HedgePolicy{.delay = absl::Microseconds(1)}}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("CallOptions::hedge"), HasSubstr("delay"))));
  EXPECT_THAT(Client::Create(
                  {.policies = {{"Svc.Do",
                                 {.hedge = {.delay = absl::Nanoseconds(1)}}}}},
                  registry_, transport_, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("delay")));
  EXPECT_TRUE(dialled_.empty());
}

TEST_F(ClientTest, HedgingNeedsAnIdempotentEndpoint) {
  auto client = NewClient();
  EXPECT_THAT(
      client->CallRaw("svc", "Svc.Do", {},
                      {.hedge = HedgePolicy{.delay = absl::Milliseconds(20)}}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("endpoint 'svc.Svc.Do' is not idempotent")));
  EXPECT_THAT(
      Client::Create({.policies = {{"Svc.Do",
                                    {.idempotent = false,
                                     .hedge = {.delay = absl::Seconds(1)}}}}},
                     registry_, transport_, nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("policies[\"Svc.Do\"]")));
}

TEST_F(ClientTest, CreateChecksTheResilienceOptions) {
  const std::vector<std::pair<ClientOptions, std::string>> bad = {
      {{.retry_budget = {.ratio = -1}}, "retry_budget"},
      {{.retry_budget = {.window = absl::ZeroDuration()}}, "retry_budget"},
      {{.circuit_breaker = {.consecutive_failures = 0}}, "circuit_breaker"},
      {{.circuit_breaker = {.failure_ratio = 1.5}}, "circuit_breaker"},
      {{.circuit_breaker = {.cool_down = absl::Seconds(2),
                            .max_cool_down = absl::Seconds(1)}},
       "circuit_breaker"},
      {{.circuit_breaker = {.min_deadline = absl::Milliseconds(-1)}},
       "min_deadline"},
      {{.policies = {{"", {}}}}, "endpoint name"},
      {{.policies = {{"E", {.hedge = {.max_extra = 9}}}}}, "max_extra"},
  };
  for (const auto& [options, what] : bad) {
    EXPECT_THAT(Client::Create(options, registry_, transport_, nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what)))
        << what;
  }
  // A disabled breaker's fields are not read.
  EXPECT_THAT(Client::Create({.circuit_breaker = {.enabled = false,
                                                  .consecutive_failures = 0}},
                             registry_, transport_, nullptr),
              IsOk());
}

}  // namespace
}  // namespace micro_nats::service
