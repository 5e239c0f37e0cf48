// Copyright 2026 The micro-nats Authors.
//
// resilience_suite.h: the client's resilience end to end (issue 26), run
// by the memory stack and the NATS stack alike, with faults injected on
// cue (fault_injection.h): a slow node, a failing node, a fully overloaded
// service, a node that dies mid-call, hedging, deadlines that count
// queueing, per-endpoint concurrency limits and deadline inheritance.
//
// Timings are asserted only as generous bounds derived in the same test
// (from the injected delay, or a healthy run's p99); what a run measured is
// printed ("[ resilience ] ...").
//
// A stack supplies a ResilienceEnvironment that makes services; on NATS
// each has its own connection, as separate processes would. On the memory
// stack handlers must not run inline on the caller's thread (that thread
// would be the one stuck in a slow or hung handler, and no hedge or kill
// could overtake it).
//
//   INSTANTIATE_TEST_SUITE_P(Memory, ResilienceTest,
//                            ::testing::Values(ResilienceBackend{
//                                "Memory", &MakeMemoryEnvironment}),
//                            ResilienceBackendName);

#ifndef MICRO_NATS_SERVICE_TESTING_RESILIENCE_SUITE_H_
#define MICRO_NATS_SERVICE_TESTING_RESILIENCE_SUITE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/selector.h"
#include "service/service.h"
#include "service/testing/fault_injection.h"
#include "service/testing/test.pb.h"
#include "status/status_matchers.h"
#include "testing/sanitizers.h"
#include "testing/sync.h"

namespace micro_nats::service {

class ResilienceEnvironment {
 public:
  virtual ~ResilienceEnvironment() = default;
  // A new service named `name`, not started.
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server = {},
      ClientOptions client = {}) = 0;
};

struct ResilienceBackend {
  std::string name;
  std::function<std::unique_ptr<ResilienceEnvironment>()> make;
};

inline void PrintTo(const ResilienceBackend& backend, std::ostream* os) {
  *os << backend.name;
}

inline std::string ResilienceBackendName(
    const ::testing::TestParamInfo<ResilienceBackend>& info) {
  return info.param.name;
}

namespace resilience_internal {

// The q-quantile of `samples` (nearest rank); zero when empty.
inline absl::Duration Percentile(std::vector<absl::Duration> samples,
                                 double q) {
  if (samples.empty()) return absl::ZeroDuration();
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(q * samples.size() + 0.999999);
  rank = std::clamp<size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

inline std::string Ms(absl::Duration d) {
  return absl::StrCat(absl::ToDoubleMilliseconds(d), " ms");
}

}  // namespace resilience_internal

class ResilienceTest : public ::testing::TestWithParam<ResilienceBackend> {
 protected:
  using Ping = ::micro_nats::service::testing::Ping;
  using Pong = ::micro_nats::service::testing::Pong;
  static constexpr char kEndpoint[] = "Echo.Call";

  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
  }

  void TearDown() override {
    faults_.Release();  // no handler left waiting on a cue
    callers_.clear();
    nodes_.clear();
    env_.reset();
  }

  // A caller with `options`, kept for the test.
  Service* NewCaller(ClientOptions options = {}) {
    auto caller = env_->NewService(absl::StrCat("caller-", callers_.size()), {},
                                   std::move(options));
    EXPECT_THAT(caller, ::micro_nats::testing::IsOk());
    if (!caller.ok()) return nullptr;
    callers_.push_back(std::move(caller).value());
    return callers_.back().get();
  }

  // Starts node `<service>-<index>` of `service`: kEndpoint answers the
  // text, the node's id and the deadline left, behind the fault injector.
  Service* StartNode(const std::string& service, int index,
                     EndpointOptions endpoint = {},
                     ServerOptions options = {}) {
    options.id = absl::StrCat(service, "-", index);
    options.wrappers.push_back(faults_.Wrapper(options.id));
    auto node = env_->NewService(service, std::move(options));
    EXPECT_THAT(node, ::micro_nats::testing::IsOk());
    if (!node.ok()) return nullptr;
    Server& server = (*node)->server();
    EXPECT_THAT((server.Handle<Ping, Pong>(
                    kEndpoint,
                    [&server](Context& ctx, const Ping& ping, Pong* pong) {
                      pong->set_text(ping.text());
                      pong->set_served_by(server.id());
                      pong->set_deadline_left_ms(absl::ToInt64Milliseconds(
                          ctx.deadline() - absl::Now()));
                      return absl::OkStatus();
                    },
                    std::move(endpoint))),
                ::micro_nats::testing::IsOk());
    EXPECT_THAT((*node)->Start(), ::micro_nats::testing::IsOk());
    nodes_[server.id()] = std::move(node).value();
    return nodes_[server.id()].get();
  }

  // Starts nodes 1..count of `service` and waits until `caller` sees
  // them all.
  ::testing::AssertionResult StartNodes(Service& caller,
                                        const std::string& service, int count,
                                        EndpointOptions endpoint = {},
                                        ServerOptions options = {}) {
    for (int i = 1; i <= count; ++i) {
      if (StartNode(service, i, endpoint, options) == nullptr) {
        return ::testing::AssertionFailure() << service << "-" << i;
      }
    }
    return WaitForNodes(caller, service, count);
  }

  static ::testing::AssertionResult WaitForNodes(Service& caller,
                                                 const std::string& service,
                                                 size_t count) {
    return ::micro_nats::testing::Eventually(
        [&] {
          auto lookup = caller.registry().GetService(service);
          return lookup.ok() && !lookup->empty() &&
                 (*lookup)[0].nodes.size() == count;
        },
        absl::Seconds(20), absl::StrCat("every node of ", service));
  }

  static absl::StatusOr<Pong> Call(Service& caller, const std::string& service,
                                   const std::string& text,
                                   CallOptions options = {}) {
    Ping ping;
    ping.set_text(text);
    return caller.client().Call<Ping, Pong>(service, kEndpoint, ping,
                                            std::move(options));
  }

  static std::future<absl::StatusOr<Pong>> CallLater(Service& caller,
                                                     const std::string& service,
                                                     const std::string& text,
                                                     CallOptions options = {}) {
    Ping ping;
    ping.set_text(text);
    return caller.client().CallFuture<Ping, Pong>(service, kEndpoint, ping,
                                                  std::move(options));
  }

  // Starts `service` with one node of one handler thread and holds that
  // thread with a call (`*first`) that hangs until faults_.Release: what
  // comes next waits in the server's queue.
  ::testing::AssertionResult HoldTheOnlyThread(
      Service& caller, const std::string& service,
      std::future<absl::StatusOr<Pong>>* first) {
    ServerOptions one_thread;
    one_thread.listen.handler_threads = 1;
    if (auto started = StartNodes(caller, service, 1, {}, one_thread);
        !started) {
      return started;
    }
    faults_.HangNext();
    *first = CallLater(caller, service, "first",
                       {.timeout = absl::Seconds(30), .retries = 0});
    if (!faults_.WaitForHung(1, absl::Seconds(10))) {
      return ::testing::AssertionFailure() << "the first call never came";
    }
    return ::testing::AssertionSuccess();
  }

  // Kills node `id` as a crash would look to its callers mid-call: the
  // handler keeps running (hung), and the server gives up on it at once
  // and ends its sockets (Stop with a short deadline: DeadlineExceeded).
  void KillNode(const std::string& id) {
    auto node = nodes_.find(id);
    ASSERT_NE(node, nodes_.end()) << id;
    EXPECT_THAT(
        node->second->Stop(absl::Now() + absl::Milliseconds(50)),
        ::micro_nats::testing::StatusIs(absl::StatusCode::kDeadlineExceeded));
  }

  std::unique_ptr<ResilienceEnvironment> env_;
  // Before the services: it outlives the handlers it wraps.
  FaultInjector faults_;
  std::map<std::string, std::unique_ptr<Service>> nodes_;  // by node id
  std::vector<std::unique_ptr<Service>> callers_;
};

using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using resilience_internal::Ms;
using resilience_internal::Percentile;
using ::testing::HasSubstr;
using ::testing::Not;

// The rule issue 10 left open: a request a node took and then died on is
// retried elsewhere only when the endpoint is idempotent.
TEST_P(ResilienceTest, ANonIdempotentCallWhoseNodeDiesMidCallRunsOnce) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "die-once", 2));
  faults_.HangNext();
  auto call =
      CallLater(*caller, "die-once", "charge", {.timeout = absl::Seconds(30)});
  ASSERT_TRUE(faults_.WaitForHung(1, absl::Seconds(10)));
  KillNode(faults_.hung_nodes()[0]);
  EXPECT_THAT(call.get(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("outcome unknown")));
  EXPECT_EQ(faults_.executions(), 1);
  EXPECT_EQ(caller->client().stats().outcome_unknown, 1);
  // The survivor still serves it, once per call.
  EXPECT_THAT(Call(*caller, "die-once", "next"), IsOk());
  EXPECT_EQ(faults_.executions(), 2);
}

TEST_P(ResilienceTest, AnIdempotentCallWhoseNodeDiesMidCallIsRetriedElsewhere) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "die-idem", 2));
  faults_.HangNext();
  auto call = CallLater(*caller, "die-idem", "again",
                        {.timeout = absl::Seconds(30), .idempotent = true});
  ASSERT_TRUE(faults_.WaitForHung(1, absl::Seconds(10)));
  const std::string killed = faults_.hung_nodes()[0];
  KillNode(killed);
  absl::StatusOr<Pong> pong = call.get();
  ASSERT_THAT(pong, IsOk());
  EXPECT_EQ(pong->text(), "again");
  EXPECT_NE(pong->served_by(), killed);
  EXPECT_EQ(faults_.executions(), 2);  // the dead one and the retry
  EXPECT_EQ(faults_.executions(pong->served_by()), 1);
}

// The server's word: an endpoint registered idempotent is retried so
// without the caller saying.
TEST_P(ResilienceTest, AnEndpointMarkedIdempotentIsRetriedByItsMark) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "die-marked", 2, {.idempotent = true}));
  auto versions = caller->registry().GetService("die-marked");
  ASSERT_THAT(versions, IsOk());
  ASSERT_FALSE(versions->empty());
  ASSERT_EQ((*versions)[0].endpoints.size(), 1u);
  EXPECT_EQ((*versions)[0].endpoints[0].metadata.at("idempotent"), "true");
  faults_.HangNext();
  auto call =
      CallLater(*caller, "die-marked", "again", {.timeout = absl::Seconds(30)});
  ASSERT_TRUE(faults_.WaitForHung(1, absl::Seconds(10)));
  const std::string killed = faults_.hung_nodes()[0];
  KillNode(killed);
  absl::StatusOr<Pong> pong = call.get();
  ASSERT_THAT(pong, IsOk());
  EXPECT_NE(pong->served_by(), killed);
  EXPECT_EQ(faults_.executions(), 2);
}

// One of three nodes 200 ms slow: round robin sends it a third of the
// calls (its p99 is the slow node's); the latency-aware selector learns to
// avoid it, and its p99 stays near an all-healthy run's.
TEST_P(ResilienceTest, ASlowNodeBarelyMovesTheP99WithLatencyAwareSelection) {
  constexpr absl::Duration kSlow = absl::Milliseconds(200);
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "lat", 3));
  auto run = [&](const std::shared_ptr<Selector>& selector, int warm_up,
                 int calls) {
    std::vector<absl::Duration> took;
    for (int i = 0; i < warm_up + calls; ++i) {
      const absl::Time start = absl::Now();
      absl::StatusOr<Pong> pong =
          Call(*caller, "lat", "t", {.selector = selector});
      if (i >= warm_up) took.push_back(absl::Now() - start);
      EXPECT_THAT(pong, IsOk()) << i;
    }
    return took;
  };
  const absl::Duration healthy =
      Percentile(run(NewLatencyAwareSelector(), 20, 200), 0.99);
  faults_.Delay("lat-2", kSlow);
  const absl::Duration round_robin =
      Percentile(run(NewRoundRobinSelector(), 0, 30), 0.99);
  const int64_t slow_before = faults_.executions("lat-2");
  std::vector<absl::Duration> aware_runs =
      run(NewLatencyAwareSelector(), 20, 500);
  const int64_t slow_ran = faults_.executions("lat-2") - slow_before;
  const absl::Duration aware = Percentile(aware_runs, 0.99);
  std::printf(
      "[ resilience ] %s: one of three nodes %s slow: p99 healthy %s, round "
      "robin %s, latency-aware %s (p50 %s; the slow node ran %lld of its 520 "
      "calls)\n",
      GetParam().name.c_str(), Ms(kSlow).c_str(), Ms(healthy).c_str(),
      Ms(round_robin).c_str(), Ms(aware).c_str(),
      Ms(Percentile(aware_runs, 0.5)).c_str(),
      static_cast<long long>(slow_ran));
  EXPECT_GE(round_robin, kSlow);  // the fault bites without the selector
  EXPECT_LT(aware, healthy + kSlow / 2);
}

// One node failing every call: its breaker opens within the first second
// (five failures in a row), and from then on callers see under 1 % errors
// (the half-open trials), though the node keeps failing.
TEST_P(ResilienceTest, AFailingNodeIsCutOffByItsBreaker) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "brk", 3));
  faults_.Fail("brk-2", absl::UnavailableError("injected: disk gone"));
  // Round robin: the breaker alone keeps calls off the node.
  const std::shared_ptr<Selector> round_robin = NewRoundRobinSelector();
  const absl::Time start = absl::Now();
  int early_calls = 0, early_errors = 0, calls = 0, errors = 0;
  // At least 3 s and 500 calls after the first second (bounded).
  while ((absl::Now() - start < absl::Seconds(3) || calls < 500) &&
         absl::Now() - start < absl::Seconds(30)) {
    const bool early = absl::Now() - start < absl::Seconds(1);
    absl::StatusOr<Pong> pong =
        Call(*caller, "brk", "t", {.selector = round_robin});
    if (!pong.ok()) {
      EXPECT_THAT(pong, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("disk gone")));
    }
    (early ? early_calls : calls) += 1;
    (early ? early_errors : errors) += pong.ok() ? 0 : 1;
  }
  const ClientStats stats = caller->client().stats();
  std::printf(
      "[ resilience ] %s: one of three nodes failing: first second %d of %d "
      "calls failed; after it %d of %d (%.2f %%); breaker opened %lld times, "
      "the node ran %lld calls\n",
      GetParam().name.c_str(), early_errors, early_calls, errors, calls,
      100.0 * errors / std::max(calls, 1),
      static_cast<long long>(stats.breaker_opened),
      static_cast<long long>(faults_.executions("brk-2")));
  EXPECT_GE(early_errors, 1);
  EXPECT_GE(calls, 500);
  EXPECT_LT(errors, calls / 100.0);
  EXPECT_GE(stats.breaker_opened, 1);
  bool tracked = false;
  for (const NodeHealth& node : caller->client().node_health()) {
    if (node.node_id != "brk-2") continue;
    tracked = true;
    EXPECT_NE(node.breaker, NodeHealth::Breaker::kClosed);
  }
  EXPECT_TRUE(tracked);
}

// A fully overloaded service: every node slow to answer, so a caller
// hedging an idempotent endpoint would send each call three times; the
// retry budget holds what the nodes see (executions and refusals) to about
// 1.1x the calls made.
TEST_P(ResilienceTest, AnOverloadedServiceSeesAboutItsCallRate) {
  constexpr absl::Duration kBusy = absl::Milliseconds(20);
  constexpr int kCallers = 16;
  // The floor is for quiet clients; lowered so the ratio decides at this
  // test's modest call rate. Breakers off: the budget alone bounds it.
  Service* caller =
      NewCaller({.retry_budget = {.ratio = 0.1, .min_per_second = 1},
                 .circuit_breaker = {.enabled = false}});
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "busy", 3,
                         {.max_concurrency = 6, .idempotent = true}));
  for (int i = 1; i <= 3; ++i) faults_.Delay(absl::StrCat("busy-", i), kBusy);
  const ClientStats before = caller->client().stats();
  std::atomic<int> calls{0}, failed{0};
  // At least 3 s and 400 calls (so the bucket's first tokens are a small
  // share of the hedges), at most 20 s on a starved machine.
  const absl::Time start = absl::Now();
  auto more = [&] {
    const absl::Duration ran = absl::Now() - start;
    return ran < absl::Seconds(20) &&
           (ran < absl::Seconds(3) || calls.load() < 400);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&] {
      while (more()) {
        absl::StatusOr<Pong> pong =
            Call(*caller, "busy", "t",
                 {.timeout = absl::Seconds(5),
                  .hedge = HedgePolicy{.delay = absl::Milliseconds(1),
                                       .max_extra = 2}});
        ++calls;
        if (!pong.ok()) ++failed;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t refused = 0;
  for (auto& [id, node] : nodes_) refused += node->server().stats().overloaded;
  const int64_t executed = faults_.executions();
  // Abandoned hedges still running finished by now or will not count.
  const ClientStats stats = caller->client().stats();
  const double amplification =
      static_cast<double>(executed + refused) / std::max(calls.load(), 1);
  std::printf(
      "[ resilience ] %s: overloaded service: %d calls (%d failed), %lld "
      "executions + %lld refusals = %.3fx the calls; hedges %lld, retries "
      "%lld, refused by the budget %lld\n",
      GetParam().name.c_str(), calls.load(), failed.load(),
      static_cast<long long>(executed), static_cast<long long>(refused),
      amplification, static_cast<long long>(stats.hedges - before.hedges),
      static_cast<long long>(stats.retries - before.retries),
      static_cast<long long>(stats.budget_exhausted - before.budget_exhausted));
  ::testing::Test::RecordProperty("amplification_x1000",
                                  static_cast<int>(amplification * 1000));
  EXPECT_GE(calls.load(), 400);
  EXPECT_GT(stats.budget_exhausted, before.budget_exhausted);
  EXPECT_LE(amplification, 1.15);
}

// Hedging: an idempotent endpoint with one slow node answers in about the
// fast node's time; a non-idempotent one is not hedged at all.
TEST_P(ResilienceTest, AHedgedCallAnswersInTheFastNodesTime) {
  // Longer under a sanitizer, where a loaded machine stalls the process
  // for hundreds of milliseconds at times.
  const absl::Duration kSlow = ::micro_nats::testing::UnderSanitizers(
      absl::Milliseconds(500), absl::Seconds(2));
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "hedge", 2, {.idempotent = true}));
  faults_.Delay("hedge-1", kSlow);
  const HedgePolicy hedge = {.delay = absl::Milliseconds(20)};
  const std::shared_ptr<Selector> round_robin = NewRoundRobinSelector();
  absl::Duration slowest;
  for (int i = 0; i < 10; ++i) {  // round robin: half start on the slow one
    const absl::Time start = absl::Now();
    absl::StatusOr<Pong> pong = Call(*caller, "hedge", "t",
                                     {.timeout = absl::Seconds(10),
                                      .selector = round_robin,
                                      .hedge = hedge});
    slowest = std::max(slowest, absl::Now() - start);
    ASSERT_THAT(pong, IsOk());
    EXPECT_EQ(pong->served_by(), "hedge-2");
  }
  const ClientStats stats = caller->client().stats();
  std::printf(
      "[ resilience ] %s: hedged after 20 ms, one of two nodes %s slow: "
      "slowest of 10 calls %s; hedges %lld, won %lld\n",
      GetParam().name.c_str(), Ms(kSlow).c_str(), Ms(slowest).c_str(),
      static_cast<long long>(stats.hedges),
      static_cast<long long>(stats.hedge_wins));
  EXPECT_LT(slowest, kSlow / 2);
  EXPECT_GE(stats.hedges, 1);
  EXPECT_GE(stats.hedge_wins, 1);
}

TEST_P(ResilienceTest, HedgingANonIdempotentEndpointIsInvalidArgument) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "nohedge", 2));
  const HedgePolicy hedge = {.delay = absl::Milliseconds(20)};
  EXPECT_THAT(Call(*caller, "nohedge", "t", {.hedge = hedge}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      Call(*caller, "nohedge", "t", {.idempotent = false, .hedge = hedge}),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(faults_.executions(), 0);  // refused before sending
  // From the client's policies too.
  ClientOptions options;
  options.policies["nohedge.Echo.Call"].hedge = hedge;
  Service* policed = NewCaller(std::move(options));
  ASSERT_NE(policed, nullptr);
  ASSERT_TRUE(WaitForNodes(*policed, "nohedge", 2));
  EXPECT_THAT(Call(*policed, "nohedge", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(faults_.executions(), 0);
}

// A request whose deadline passed while it waited for the server's one
// handler thread is answered DeadlineExceeded and never run.
TEST_P(ResilienceTest, ARequestThatExpiredInTheQueueIsNotRun) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  std::future<absl::StatusOr<Pong>> first;
  ASSERT_TRUE(HoldTheOnlyThread(*caller, "queue", &first));
  // Queued behind it until its caller gave up.
  EXPECT_THAT(Call(*caller, "queue", "late",
                   {.timeout = absl::Milliseconds(100), .retries = 0}),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // The server's deadline for it is its arrival + the Timeout it carried
  // (on a coarse clock, a tick either way): a little after the caller's.
  // Held 50 ms more, so that has passed too when the thread frees.
  absl::SleepFor(absl::Milliseconds(50));
  faults_.Release();
  EXPECT_THAT(first.get(), StatusIs(absl::StatusCode::kUnavailable,
                                    HasSubstr("released by the test")));
  Server& server = nodes_.at("queue-1")->server();
  EXPECT_TRUE(Eventually([&] { return server.stats().expired_in_queue == 1; },
                         absl::Seconds(10), "the late request dropped"));
  EXPECT_EQ(faults_.executions(), 1);  // "first" only
  // The thread serves the next one.
  EXPECT_THAT(Call(*caller, "queue", "next"), IsOk());
  EXPECT_EQ(faults_.executions(), 2);
}

// A handler sees its deadline counted from arrival: less the time it
// queued.
TEST_P(ResilienceTest, AHandlersDeadlineCountsItsQueueing) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  std::future<absl::StatusOr<Pong>> first;
  ASSERT_TRUE(HoldTheOnlyThread(*caller, "queued", &first));
  constexpr absl::Duration kTimeout = absl::Seconds(10);
  auto second = CallLater(*caller, "queued", "second",
                          {.timeout = kTimeout, .retries = 0});
  // The fault: the first holds the thread 300 ms more while the second
  // waits in the queue (a hold, not a synchronisation).
  absl::SleepFor(absl::Milliseconds(300));
  faults_.Release();
  absl::StatusOr<Pong> pong = second.get();
  ASSERT_THAT(pong, IsOk());
  // Not counted, it would see about all 10 s; counted, 300 ms less (the
  // request arrived a little after the hold began: half of it is safe).
  EXPECT_LE(pong->deadline_left_ms(),
            absl::ToInt64Milliseconds(kTimeout - absl::Milliseconds(150)));
  EXPECT_GT(pong->deadline_left_ms(), 0);
  EXPECT_THAT(first.get(), StatusIs(absl::StatusCode::kUnavailable));
}

// A per-endpoint concurrency limit refuses the call beyond it with
// ResourceExhausted; the client tries no other node with it.
TEST_P(ResilienceTest, AnEndpointsConcurrencyLimitRefusesUnretried) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_TRUE(StartNodes(*caller, "limit", 2, {.max_concurrency = 1}));
  faults_.Hang("limit-1");
  faults_.Hang("limit-2");
  // Round robin: one on each node, each at its limit.
  const std::shared_ptr<Selector> round_robin = NewRoundRobinSelector();
  auto a = CallLater(*caller, "limit", "a",
                     {.timeout = absl::Seconds(30), .selector = round_robin});
  auto b = CallLater(*caller, "limit", "b",
                     {.timeout = absl::Seconds(30), .selector = round_robin});
  ASSERT_TRUE(faults_.WaitForHung(2, absl::Seconds(10)));
  const ClientStats before = caller->client().stats();
  EXPECT_THAT(
      Call(*caller, "limit", "c", {.timeout = absl::Seconds(10)}),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("overloaded")));
  EXPECT_EQ(caller->client().stats().retries, before.retries);
  int64_t refused = 0;
  for (auto& [id, node] : nodes_) refused += node->server().stats().overloaded;
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(faults_.executions(), 2);
  faults_.Heal("limit-1");
  faults_.Heal("limit-2");
  faults_.Release();
  EXPECT_THAT(a.get(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(b.get(), StatusIs(absl::StatusCode::kUnavailable));
}

// A call made inside a handler ends by the handler's deadline: it inherits
// the remaining time unless told not to.
TEST_P(ResilienceTest, ANestedCallInheritsTheRemainingDeadline) {
  Service* caller = NewCaller();
  ASSERT_NE(caller, nullptr);
  ASSERT_NE(StartNode("inner", 1), nullptr);
  auto outer = env_->NewService("outer");  // its client: 5 s by default
  ASSERT_THAT(outer, IsOk());
  Service* outer_service = outer->get();
  ASSERT_THAT((outer_service->server().Handle<Ping, Pong>(
                  "Outer.Call",
                  [outer_service](Context&, const Ping& ping, Pong* pong) {
                    absl::StatusOr<Pong> inner = Call(
                        *outer_service, "inner", ping.text(),
                        {.inherit_deadline = ping.text() != "own deadline"});
                    if (!inner.ok()) return inner.status();
                    *pong = *inner;
                    return absl::OkStatus();
                  })),
              IsOk());
  ASSERT_THAT(outer_service->Start(), IsOk());
  nodes_["outer"] = std::move(outer).value();
  ASSERT_TRUE(WaitForNodes(*caller, "outer", 1));
  ASSERT_TRUE(WaitForNodes(*nodes_["outer"], "inner", 1));
  Ping ping;
  ping.set_text("inherit");
  absl::StatusOr<Pong> inherited = caller->client().Call<Ping, Pong>(
      "outer", "Outer.Call", ping, {.timeout = absl::Seconds(1)});
  ASSERT_THAT(inherited, IsOk());
  EXPECT_LE(inherited->deadline_left_ms(), 1000);
  EXPECT_GT(inherited->deadline_left_ms(), 0);
  ping.set_text("own deadline");
  absl::StatusOr<Pong> own = caller->client().Call<Ping, Pong>(
      "outer", "Outer.Call", ping, {.timeout = absl::Seconds(1)});
  ASSERT_THAT(own, IsOk());
  EXPECT_GT(own->deadline_left_ms(), 1000);  // the outer client's 5 s
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_TESTING_RESILIENCE_SUITE_H_
