// Copyright 2026 The micro-nats Authors.
//
// scatter_suite.h: the scatter-gather contract (service/scatter.h), run by
// the memory stack and the NATS stack alike.
//
// A stack supplies a ScatterEnvironment that makes services and a bare
// wire of the same network (what a hostile peer would use):
//
//   INSTANTIATE_TEST_SUITE_P(Memory, ScatterTest,
//                            ::testing::Values(ScatterBackend{
//                                "Memory", &MakeMemoryScatterEnvironment}),
//                            ScatterBackendName);

#ifndef MICRO_NATS_SERVICE_TESTING_SCATTER_SUITE_H_
#define MICRO_NATS_SERVICE_TESTING_SCATTER_SUITE_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/scatter.h"
#include "service/service.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"

namespace micro_nats::service {

class ScatterEnvironment {
 public:
  virtual ~ScatterEnvironment() = default;
  // A new service named `name`, not started.
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server = {},
      ScatterConfig scatter = {}) = 0;
  // A wire of the same network, of nobody's service.
  virtual absl::StatusOr<std::shared_ptr<ScatterWire>> NewWire() = 0;
};

struct ScatterBackend {
  std::string name;
  std::function<std::unique_ptr<ScatterEnvironment>()> make;
};

inline std::string ScatterBackendName(
    const ::testing::TestParamInfo<ScatterBackend>& info) {
  return info.param.name;
}

class ScatterTest : public ::testing::TestWithParam<ScatterBackend> {
 protected:
  using Ping = ::micro_nats::service::testing::Ping;
  using Pong = ::micro_nats::service::testing::Pong;
  using Handler = std::function<absl::Status(Context&, const Ping&, Pong*)>;
  static constexpr char kFleet[] = "fleet";
  static constexpr char kEcho[] = "Echo.Call";

  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
    auto caller = env_->NewService("scatter-caller", {}, CallerConfig());
    ASSERT_TRUE(caller.ok()) << caller.status();
    caller_ = std::move(caller).value();
  }

  void TearDown() override {
    release_.Notify();
    caller_.reset();
    instances_.clear();
    env_.reset();
  }

  virtual ScatterConfig CallerConfig() { return {}; }

  // Starts an instance of `name` whose kEcho answers the text and its node
  // id, or what `handler` says.
  Service* StartInstance(const std::string& name, Handler handler = nullptr,
                         ServerOptions options = {},
                         ScatterConfig scatter = {}) {
    auto service =
        env_->NewService(name, std::move(options), std::move(scatter));
    EXPECT_TRUE(service.ok()) << service.status();
    if (!service.ok()) return nullptr;
    Server& server = (*service)->server();
    if (handler == nullptr) {
      handler = [&server](Context&, const Ping& ping, Pong* pong) {
        pong->set_text(ping.text());
        pong->set_served_by(server.id());
        return absl::OkStatus();
      };
    }
    EXPECT_TRUE((server.Handle<Ping, Pong>(kEcho, std::move(handler))).ok());
    absl::Status started = (*service)->Start();
    EXPECT_TRUE(started.ok()) << started;
    instances_.push_back(std::move(service).value());
    return instances_.back().get();
  }

  // Until the caller's registry cache knows exactly `count` nodes of
  // `name` (a broadcast lookup may end before the last registrar answers:
  // then it asks again).
  bool WaitFound(const std::string& name, size_t count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      auto found = caller_->registry().Lookup(name, deadline);
      std::vector<std::string> ids;
      if (found.ok()) {
        for (const auto& version : found->services) {
          for (const auto& node : version.nodes) ids.push_back(node.id);
        }
      }
      if (ids.size() == count) return true;
      for (const std::string& id : ids) caller_->registry().Evict(name, id);
      absl::SleepFor(absl::Milliseconds(5));  // a retry's pace, not a sync
    }
    return false;
  }

  absl::StatusOr<ScatterResult<Pong>> ScatterPing(
      const std::string& name, const std::string& text,
      ScatterCallOptions options = {}, const std::string& endpoint = kEcho) {
    Ping ping;
    ping.set_text(text);
    return caller_->scatter().Call<Ping, Pong>(name, endpoint, ping,
                                               std::move(options));
  }

  std::unique_ptr<ScatterEnvironment> env_;
  std::unique_ptr<Service> caller_;
  std::vector<std::unique_ptr<Service>> instances_;
  absl::Notification release_;  // lets blocked handlers go at the end
};

TEST_P(ScatterTest, EveryInstanceAnswersOncePerNode) {
  std::set<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    Service* instance = StartInstance(kFleet);
    ASSERT_NE(instance, nullptr);
    ids.insert(instance->server().id());
  }
  ASSERT_TRUE(WaitFound(kFleet, 4));
  for (int round = 0; round < 3; ++round) {
    auto result = ScatterPing(kFleet, absl::StrCat("hello ", round),
                              {.timeout = absl::Seconds(20)});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->answered, 4);
    EXPECT_EQ(result->unknown, 0);
    EXPECT_EQ(result->duplicates, 0);
    EXPECT_EQ(result->dropped, 0);
    std::set<std::string> answered;
    for (const auto& [node, answer] : result->nodes) {
      ASSERT_TRUE(answer.ok()) << node << ": " << answer.status();
      EXPECT_EQ(answer->served_by(), node);
      EXPECT_EQ(answer->text(), absl::StrCat("hello ", round));
      answered.insert(node);
    }
    EXPECT_EQ(answered, ids);
  }
}

TEST_P(ScatterTest, RawCallsGetTheBytesAndHeadersOfEachAnswer) {
  auto other = env_->NewService("raw-fleet");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      (*other)
          ->server()
          .Handle("Raw.Call",
                  [](Context& ctx, const Message& request, Message* response) {
                    response->body = "raw " + request.body;
                    auto it = ctx.metadata().find("X-Trace");
                    response->headers["X-Seen"] =
                        it == ctx.metadata().end() ? "none" : it->second;
                    return absl::OkStatus();
                  })
          .ok());
  ASSERT_TRUE((*other)->Start().ok());
  const std::string id = (*other)->server().id();
  instances_.push_back(std::move(other).value());
  ASSERT_TRUE(WaitFound("raw-fleet", 1));
  auto result = caller_->scatter().CallRaw(
      "raw-fleet", "Raw.Call", {.body = "bytes"},
      {.timeout = absl::Seconds(20), .metadata = {{"X-Trace", "t-1"}}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->nodes.count(id), 1u);
  const absl::StatusOr<Message>& answer = result->nodes.at(id);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->body, "raw bytes");
  EXPECT_EQ(answer->headers.at("X-Seen"), "t-1");
  EXPECT_EQ(answer->headers.at(kNodeHeader), id);
}

TEST_P(ScatterTest, HandlerErrorsAndRefusalsStayWithTheirNode) {
  Service* good = StartInstance(kFleet);
  Service* bad = StartInstance(kFleet, [](Context&, const Ping&, Pong*) {
    return absl::PermissionDeniedError("not for you");
  });
  ASSERT_NE(good, nullptr);
  ASSERT_NE(bad, nullptr);
  ASSERT_TRUE(WaitFound(kFleet, 2));
  auto result = ScatterPing(kFleet, "x", {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->answered, 2);
  ASSERT_TRUE(result->nodes.at(good->server().id()).ok());
  const absl::Status& denied = result->nodes.at(bad->server().id()).status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied) << denied;
  EXPECT_THAT(std::string(denied.message()),
              ::testing::HasSubstr("not for you"));

  auto missing =
      ScatterPing(kFleet, "x", {.timeout = absl::Seconds(20)}, "Echo.Nothing");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->answered, 2);
  for (const auto& [node, answer] : missing->nodes) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kNotFound)
        << node << ": " << answer.status();
  }
}

TEST_P(ScatterTest, AnAnswerThatCannotBeSentIsAnErrorOfItsNodeAndEndpoint) {
  Service* node = StartInstance(kFleet,
                                [](Context& ctx, const Ping&, Pong* pong) {
                                  // As if echoing a request value: no wire
                                  // carries it.
                                  ctx.response_metadata()["X-Echo"] =
                                      "1\r\nX-Injected: yes";
                                  pong->set_text("answer");
                                  return absl::OkStatus();
                                },
                                {.on_error = [](const absl::Status&) {}});
  ASSERT_NE(node, nullptr);
  ASSERT_TRUE(WaitFound(kFleet, 1));
  auto result = ScatterPing(kFleet, "x", {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->answered, 1);
  const absl::Status& unsent = result->nodes.at(node->server().id()).status();
  EXPECT_EQ(unsent.code(), absl::StatusCode::kInternal) << unsent;
  EXPECT_THAT(std::string(unsent.message()),
              ::testing::HasSubstr("could not be sent"));
  // An error of the endpoint's and the server's, not the success serve
  // counted.
  const std::vector<EndpointStats> stats = node->server().endpoint_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].requests, 1);
  EXPECT_EQ(stats[0].errors, 1);
  EXPECT_THAT(stats[0].last_error, ::testing::HasSubstr("could not be sent"));
  EXPECT_EQ(node->server().stats().errors, 1);
}

TEST_P(ScatterTest, ASilentNodeIsDeadlineExceededAndTheCallKeepsItsDeadline) {
  Service* quick = StartInstance(kFleet);
  Service* slow =
      StartInstance(kFleet, [this](Context& ctx, const Ping&, Pong* pong) {
        pong->set_deadline_left_ms(
            absl::ToInt64Milliseconds(ctx.deadline() - absl::Now()));
        release_.WaitForNotificationWithTimeout(absl::Seconds(30));
        return absl::OkStatus();
      });
  ASSERT_NE(quick, nullptr);
  ASSERT_NE(slow, nullptr);
  ASSERT_TRUE(WaitFound(kFleet, 2));
  const absl::Time start = absl::Now();
  auto result = ScatterPing(kFleet, "x", {.timeout = absl::Milliseconds(300)});
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(5));  // its deadline, not the handler's
  EXPECT_EQ(result->answered, 1);
  EXPECT_TRUE(result->nodes.at(quick->server().id()).ok());
  EXPECT_EQ(result->nodes.at(slow->server().id()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_P(ScatterTest, FiltersChooseTheNodesWaitedFor) {
  Service* one = StartInstance(kFleet, nullptr, {.identity = {.version = "1"}});
  Service* two = StartInstance(kFleet, nullptr, {.identity = {.version = "2"}});
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  ASSERT_TRUE(WaitFound(kFleet, 2));
  auto result = ScatterPing(
      kFleet, "x",
      {.timeout = absl::Seconds(20), .filters = {FilterVersion("2")}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->nodes.size(), 1u);
  EXPECT_TRUE(result->nodes.at(two->server().id()).ok());
  auto none = ScatterPing(
      kFleet, "x",
      {.timeout = absl::Seconds(20), .filters = {FilterVersion("3")}});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ScatterTest, WholeCallFailuresAreSaid) {
  EXPECT_EQ(ScatterPing("nobody-here", "x", {.timeout = absl::Seconds(2)})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ScatterPing("bad name", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ScatterPing(kFleet, "x", {}, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Answers anyone could send: in the name of nodes nobody registered,
// without a node, for another call. None of them counts, and none ends the
// gather before the real instance has answered.
TEST_P(ScatterTest, ForgedAnswersNeitherCountNorEndTheGather) {
  auto wire = env_->NewWire();
  ASSERT_TRUE(wire.ok()) << wire.status();
  absl::Notification forged;
  constexpr int kForged = 50;
  auto hostile = (*wire)->Listen(
      kFleet, [&forged](Message request, ScatterWire::Reply reply) {
        const std::string id = request.headers[kIdHeader];
        for (int i = 0; i < kForged; ++i) {
          reply({.headers = {{kNodeHeader, absl::StrCat("ghost-", i)},
                             {kIdHeader, id}},
                 .body = "forged"})
              .IgnoreError();
        }
        reply({.headers = {{kIdHeader, id}}, .body = "no node"}).IgnoreError();
        reply({.headers = {{kNodeHeader, "ghost"}, {kIdHeader, "other-call"}},
               .body = "another call's"})
            .IgnoreError();
        forged.Notify();
      });
  ASSERT_TRUE(hostile.ok()) << hostile.status();
  Service* real =
      StartInstance(kFleet, [&forged](Context&, const Ping& ping, Pong* pong) {
        // Answers only after the forgeries went out.
        forged.WaitForNotificationWithTimeout(absl::Seconds(30));
        pong->set_text(ping.text());
        return absl::OkStatus();
      });
  ASSERT_NE(real, nullptr);
  ASSERT_TRUE(WaitFound(kFleet, 1));
  auto result = ScatterPing(kFleet, "real", {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->nodes.size(), 1u);
  const auto& answer = result->nodes.at(real->server().id());
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->text(), "real");
  EXPECT_EQ(result->answered, 1);
  // What came before the real answer was counted, not kept (on NATS the
  // forgeries may still be on their way when it arrives).
  EXPECT_LE(result->unknown, kForged);
  EXPECT_LE(result->dropped, 2);
  hostile->reset();
}

// Instances that run scatter handlers on their pool answer as those that
// run them where they are delivered (the default) do.
TEST_P(ScatterTest, PooledHandlersAnswerAlike) {
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Service* instance =
        StartInstance(kFleet, nullptr, {}, {.inline_handlers = false});
    ASSERT_NE(instance, nullptr);
    ids.insert(instance->server().id());
  }
  ASSERT_TRUE(WaitFound(kFleet, 3));
  for (int round = 0; round < 3; ++round) {
    auto result = ScatterPing(kFleet, "pooled", {.timeout = absl::Seconds(20)});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->answered, 3);
    std::set<std::string> answered;
    for (const auto& [node, answer] : result->nodes) {
      ASSERT_TRUE(answer.ok()) << node << ": " << answer.status();
      EXPECT_EQ(answer->served_by(), node);
      answered.insert(node);
    }
    EXPECT_EQ(answered, ids);
  }
  auto missing =
      ScatterPing(kFleet, "x", {.timeout = absl::Seconds(20)}, "Echo.Nothing");
  ASSERT_TRUE(missing.ok()) << missing.status();
  for (const auto& [node, answer] : missing->nodes) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kNotFound) << node;
  }
}

class ScatterCapTest : public ScatterTest {
 protected:
  ScatterConfig CallerConfig() override {
    return {.max_answer_bytes = 1000, .max_bytes = 1500};
  }
};

TEST_P(ScatterCapTest, AnswersOverTheCapsStandAsResourceExhausted) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_NE(StartInstance(kFleet,
                            [](Context&, const Ping& ping, Pong* pong) {
                              pong->set_text(std::string(
                                  ping.text() == "big" ? 2000 : 900, 'x'));
                              return absl::OkStatus();
                            }),
              nullptr);
  }
  ASSERT_TRUE(WaitFound(kFleet, 2));
  auto big = ScatterPing(kFleet, "big", {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->answered, 2);  // they answered: nothing is waited out
  for (const auto& [node, answer] : big->nodes) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kResourceExhausted)
        << node << ": " << answer.status();
  }
  // 900 bytes each: the first fits the call's 1500, the second does not.
  auto two = ScatterPing(kFleet, "small", {.timeout = absl::Seconds(20)});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->answered, 2);
  int ok = 0;
  int exhausted = 0;
  for (const auto& [node, answer] : two->nodes) {
    if (answer.ok()) ++ok;
    if (answer.status().code() == absl::StatusCode::kResourceExhausted) {
      ++exhausted;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exhausted, 1);
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_TESTING_SCATTER_SUITE_H_
