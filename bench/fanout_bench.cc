// Copyright 2026 The micro-nats Authors.
//
// fanout_bench: one message to many, next to raw nats.c doing the same on
// the same server in the same run.
//
// Each stack alone, for its absolute figures (the report's tables and
// chart; no ratios: runs one after another differ by ±30 % here):
//
//   BM_FanOut/{raw_nats,raw_nats_pool,broker,broker_immediate}   1 -> N
//       pub/sub (N = 1, 8, 64, 256 subscribers on one subscribing
//       connection), 16-byte messages; raw_nats_pool is the baseline. Each
//       iteration publishes `batch` messages and waits until every
//       subscriber has all of them. batch 1000: the delivery rate
//       (deliveries_per_s); batch 1: publish-to-last-delivery latency (the
//       p50/p99 of one message reaching all N).
//   BM_ScatterGather/{raw_nats,service}   one request answered by each of N
//       instances (N = 1, 8, 64), on 8 server connections at most; an
//       iteration ends with the N-th answer. Raw: a request on a subject
//       that N subscribers answer, gathered on one inbox. micro-nats: the
//       service's scatter-gather (Service::scatter: one publish, answers
//       on one inbox, done when every node the caller's registry knows has
//       answered); complete_pct: the share of gathers whose registry list
//       had all N (the rest expected fewer: a lookup's guess).
//
// The comparisons, paired and interleaved (paired.h): baseline and stack
// set up side by side, then alternating in short rounds; the counters are
// the median ratio over the rounds and its quartiles (the suite's key
// figures fanout_*_vs_raw_N and scatter_p50_vs_raw_N).
//
//   BM_FanOutPaired/rate/subscribers:N        the broker (batched) against
//       raw nats.c with its shared delivery pool: deliveries/s, batches of
//       1000 publishes (rate_vs_raw);
//   BM_FanOutPaired/immediate/subscribers:N   the broker sending each
//       publish at once against raw nats.c sending at once (send-asap):
//       one publish, then wait for all N; the p50 of publish to last
//       delivery (p50_vs_raw);
//   BM_ScatterPaired/instances:N              the service's scatter-gather
//       against the raw one (p50_vs_raw).
//
// Smoke runs (bench/smoke_test.sh) use small batches and generous deadlines
// (sanitizers, a loaded machine): they check that each benchmark runs and
// reports, not what it measures.
//
//   bazel run -c opt //bench:fanout_bench -- --benchmark_min_time=0.5

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/echo.pb.h"
#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
#include "concurrency/wait.h"
#include "service/nats/nats_service.h"
#include "service/scatter.h"

namespace micro_nats {
namespace {

// How long a wait for deliveries, answers or set-up may take: a real
// shortfall in a full run fails after 30 s; a smoke run, possibly under a
// sanitizer on a busy machine, waits longer before calling it one.
absl::Duration WaitLimit() {
  return bench::SmokeRun() ? absl::Minutes(2) : absl::Seconds(30);
}

// Publishes per batch for a rate: small in a smoke run (256 subscribers x
// 1000 under TSan is minutes of deliveries).
int BatchOf(int64_t batch) {
  return static_cast<int>(bench::SmokeRun() ? std::min<int64_t>(batch, 10)
                                            : batch);
}

// Deliveries (or answers) so far, and a wait for a count of them.
class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int64_t expected) {
    std::unique_lock<std::mutex> lock(mu_);
    return concurrency::WaitFor(cv_, lock, WaitLimit(),
                                [&] { return count_ >= expected; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t count_ = 0;  // guarded by mu_
};

// --- 1 -> N pub/sub ---

void CountMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                  void* counter) {
  natsMsg_Destroy(msg);
  static_cast<Counter*>(counter)->Add();
}

// nats.c with default options: a delivery thread per subscription; or
// (kGlobal) with nats.c's shared delivery pool, as a raw user with many
// subscriptions would set. The pool is the baseline: past 8 subscribers
// threads of their own cost it 5x of its rate on 2 cores. kAsap: the
// publisher sends each message at once (send-asap), no flush: the
// baseline of the broker's immediate delivery.
template <bool kGlobal, bool kAsap = false>
class RawFanOut {
 public:
  static absl::StatusOr<std::unique_ptr<RawFanOut>> Start(int subscribers,
                                                          Counter* counter) {
    auto fixture = std::make_unique<RawFanOut>();
    fixture->publisher_ = bench::RawConnect(/*send_asap=*/kAsap);
    fixture->subscriber_ = bench::RawConnect(/*send_asap=*/false, kGlobal);
    if (fixture->publisher_ == nullptr || fixture->subscriber_ == nullptr) {
      return absl::UnavailableError("raw nats.c connect failed");
    }
    fixture->subs_.assign(subscribers, nullptr);
    for (natsSubscription*& sub : fixture->subs_) {
      if (natsConnection_Subscribe(&sub, fixture->subscriber_, "bench.raw.fan",
                                   CountMessage, counter) != NATS_OK) {
        return absl::UnavailableError("raw nats.c subscribe failed");
      }
    }
    if (natsConnection_Flush(fixture->subscriber_) != NATS_OK) {
      return absl::UnavailableError("raw nats.c flush failed");
    }
    return fixture;
  }

  void Publish() {
    natsConnection_Publish(publisher_, "bench.raw.fan", body_.data(),
                           static_cast<int>(body_.size()));
  }
  // A batch is sent before its deliveries are waited for (nats.c buffers).
  void EndBatch() {
    if (!kAsap) natsConnection_Flush(publisher_);
  }

  ~RawFanOut() {
    for (natsSubscription* sub : subs_) {
      if (sub == nullptr) continue;
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    natsConnection_Destroy(subscriber_);
    natsConnection_Destroy(publisher_);
  }

 private:
  const std::string body_ = std::string(16, 'x');
  natsConnection* publisher_ = nullptr;
  natsConnection* subscriber_ = nullptr;
  std::vector<natsSubscription*> subs_;
};

// The NATS broker, batched (its default: publishes wait up to ~1 ms for
// nats.c's flusher) or immediate.
template <nats::Delivery kDelivery>
class BrokerFanOut {
 public:
  static absl::StatusOr<std::unique_ptr<BrokerFanOut>> Start(int subscribers,
                                                             Counter* counter) {
    auto fixture = std::make_unique<BrokerFanOut>();
    auto publisher =
        broker::NewNatsBroker(bench::Connect(), {.delivery = kDelivery});
    auto subscriber = broker::NewNatsBroker(bench::Connect());
    if (!publisher.ok()) return publisher.status();
    if (!subscriber.ok()) return subscriber.status();
    fixture->publisher_ = std::move(publisher).value();
    fixture->subscriber_ = std::move(subscriber).value();
    for (int i = 0; i < subscribers; ++i) {
      auto sub = fixture->subscriber_->Subscribe(
          "bench.fan", [counter](const broker::Event&) {
            counter->Add();
            return absl::OkStatus();
          });
      if (!sub.ok()) return sub.status();
      fixture->subs_.push_back(std::move(sub).value());
    }
    // Opens the batching connection before the timing starts (nobody
    // listens on this topic).
    fixture->publisher_->Publish("bench.warm_up", fixture->message_)
        .IgnoreError();
    return fixture;
  }

  void Publish() { publisher_->Publish("bench.fan", message_).IgnoreError(); }
  void EndBatch() {}  // the broker's batching connection flushes itself

  ~BrokerFanOut() {
    for (auto& sub : subs_) sub->Unsubscribe().IgnoreError();
  }

 private:
  const broker::Message message_{.body = std::string(16, 'x')};
  std::unique_ptr<broker::Broker> publisher_;
  std::unique_ptr<broker::Broker> subscriber_;
  std::vector<std::unique_ptr<broker::Subscriber>> subs_;
};

// The one body of both: args {subscribers, batch}.
template <typename Fixture>
void BM_FanOut(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  const int batch = BatchOf(state.range(1));
  Counter counter;
  auto fixture = Fixture::Start(subscribers, &counter);
  if (!fixture.ok()) {
    state.SkipWithError(fixture.status().ToString().c_str());
    return;
  }
  bench::LatencyRecorder latency;
  int64_t expected = 0;
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    const absl::Time sent = absl::Now();
    for (int i = 0; i < batch; ++i) (*fixture)->Publish();
    (*fixture)->EndBatch();
    expected += static_cast<int64_t>(batch) * subscribers;
    if (!counter.WaitFor(expected)) {
      state.SkipWithError("deliveries missing");
      break;
    }
    latency.Add(absl::Now() - sent);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = seconds > 0 ? static_cast<double>(expected) / seconds : 0;
  latency.Report(state);
  state.counters["deliveries_per_s"] = rate;
  state.SetItemsProcessed(expected);
}

template <typename Fixture>
bool RegisterFanOut(const char* name) {
  benchmark::RegisterBenchmark(name, BM_FanOut<Fixture>)
      ->ArgNames({"subscribers", "batch"})
      ->ArgsProduct({{1, 8, 64, 256}, {1000, 1}})
      ->UseRealTime();
  return true;
}

// --- Scatter-gather: one request, N answers ---

// How many server connections N instances share (processes, in
// deployment; fewer here, so 64 instances do not need 64 connections'
// threads on a 2-core machine).
int ServerConnections(int instances) { return std::min(instances, 8); }

class RawScatter {
 public:
  static absl::StatusOr<std::unique_ptr<RawScatter>> Start(int instances) {
    auto fixture = std::make_unique<RawScatter>();
    fixture->instances_ = instances;
    for (int c = 0; c < ServerConnections(instances); ++c) {
      natsConnection* nc = bench::RawConnect(/*send_asap=*/true);
      if (nc == nullptr) return absl::UnavailableError("connect failed");
      fixture->servers_.push_back(nc);
    }
    for (int i = 0; i < instances; ++i) {
      natsSubscription* sub = nullptr;
      natsConnection* nc = fixture->servers_[i % fixture->servers_.size()];
      if (natsConnection_Subscribe(&sub, nc, "bench.raw.scatter",
                                   bench::RawEchoReply, nullptr) != NATS_OK) {
        return absl::UnavailableError("subscribe failed");
      }
      fixture->subs_.push_back(sub);
    }
    for (natsConnection* nc : fixture->servers_) natsConnection_Flush(nc);
    fixture->caller_ = bench::RawConnect(/*send_asap=*/true);
    if (fixture->caller_ == nullptr ||
        natsConnection_Subscribe(&fixture->inbox_sub_, fixture->caller_,
                                 "bench.raw.gather", CountMessage,
                                 &fixture->answers_) != NATS_OK ||
        natsConnection_Flush(fixture->caller_) != NATS_OK) {
      return absl::UnavailableError("caller set-up failed");
    }
    return fixture;
  }

  absl::Status ScatterGather() {
    natsConnection_PublishRequest(caller_, "bench.raw.scatter",
                                  "bench.raw.gather", body_.data(),
                                  static_cast<int>(body_.size()));
    expected_ += instances_;
    return answers_.WaitFor(expected_)
               ? absl::OkStatus()
               : absl::DeadlineExceededError("answers missing");
  }

  // It waits for all N answers or fails.
  double CompletePct() const { return 100; }

  ~RawScatter() {
    natsSubscription_Destroy(inbox_sub_);
    natsConnection_Destroy(caller_);
    for (natsSubscription* sub : subs_) natsSubscription_Destroy(sub);
    for (natsConnection* nc : servers_) natsConnection_Destroy(nc);
  }

 private:
  const std::string body_ = std::string(16, 'x');
  int instances_ = 0;
  std::vector<natsConnection*> servers_;
  std::vector<natsSubscription*> subs_;
  natsConnection* caller_ = nullptr;
  natsSubscription* inbox_sub_ = nullptr;
  Counter answers_;
  int64_t expected_ = 0;
};

class ServiceScatter {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceScatter>> Start(int instances) {
    auto fixture = std::make_unique<ServiceScatter>();
    // A name of its own per fixture: the last benchmark's instances may
    // still be deregistering.
    static std::atomic<int> fixtures{0};
    fixture->name_ = absl::StrCat("bench-scatter-", fixtures.fetch_add(1));
    std::vector<std::shared_ptr<nats::Connection>> connections;
    for (int c = 0; c < ServerConnections(instances); ++c) {
      connections.push_back(bench::Connect());
    }
    for (int i = 0; i < instances; ++i) {
      auto instance = service::NewNatsService(
          {.identity = {.name = fixture->name_},
           .connection = connections[i % connections.size()]});
      if (!instance.ok()) return instance.status();
      absl::Status handled =
          (*instance)->server().Handle<bench::EchoRequest, bench::EchoReply>(
              "Echo.Call",
              [](service::Context&, const bench::EchoRequest& request,
                 bench::EchoReply* reply) {
                reply->set_body(request.body());
                return absl::OkStatus();
              });
      if (!handled.ok()) return handled;
      if (absl::Status started = (*instance)->Start(); !started.ok()) {
        return started;
      }
      fixture->instances_.push_back(std::move(instance).value());
    }
    auto caller =
        service::NewNatsService({.servers = {bench::ServerUrl()},
                                 .identity = {.name = "bench-gatherer"}});
    if (!caller.ok()) return caller.status();
    fixture->caller_ = std::move(caller).value();
    fixture->request_.set_body(std::string(14, 'x'));  // 16 bytes encoded
    // Until the caller's lookup finds every instance (registrations are
    // broadcast; a lookup's idle gap may end before the last answer).
    const absl::Time deadline = absl::Now() + WaitLimit();
    while (true) {
      auto found =
          fixture->caller_->registry().Lookup(fixture->name_, deadline);
      size_t nodes = 0;
      if (found.ok()) {
        for (const auto& version : found->services) {
          nodes += version.nodes.size();
        }
      }
      if (nodes == static_cast<size_t>(instances)) break;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the caller found ", nodes, " of ", instances, " instances"));
      }
      for (const auto& instance : fixture->instances_) {
        fixture->caller_->registry().Evict(fixture->name_,
                                           instance->server().id());
      }
    }
    // Warm: the caller's inbox, every instance's scatter subscription.
    return fixture->ScatterGather().ok()
               ? absl::StatusOr<std::unique_ptr<ServiceScatter>>(
                     std::move(fixture))
               : absl::UnavailableError("the first scatter-gather failed");
  }

  // One scatter-gather through the service's primitive
  // (Service::scatter): one publish, the answers gathered on one inbox,
  // done when every node the caller's registry knows has answered. A node
  // that failed, or was silent past the limit, fails it. A gather that
  // expected fewer than all instances (the registry's list was a guess) is
  // counted: CompletePct.
  absl::Status ScatterGather() {
    auto result = caller_->scatter().Call<bench::EchoRequest, bench::EchoReply>(
        name_, "Echo.Call", request_, {.timeout = WaitLimit()});
    if (!result.ok()) return result.status();
    for (const auto& [node, answer] : result->nodes) {
      if (!answer.ok()) {
        return absl::Status(
            answer.status().code(),
            absl::StrCat("instance ", node, ": ", answer.status().message()));
      }
    }
    ++gathers_;
    if (result->nodes.size() < instances_.size()) ++short_gathers_;
    return absl::OkStatus();
  }

  // The share of gathers that expected every instance.
  double CompletePct() const {
    return gathers_ == 0
               ? 0
               : 100.0 * static_cast<double>(gathers_ - short_gathers_) /
                     static_cast<double>(gathers_);
  }

  ~ServiceScatter() {
    caller_.reset();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (auto& instance : instances_) instance->Stop(deadline).IgnoreError();
  }

 private:
  std::string name_;
  std::vector<std::unique_ptr<service::Service>> instances_;
  std::unique_ptr<service::Service> caller_;
  bench::EchoRequest request_;
  int64_t gathers_ = 0;
  int64_t short_gathers_ = 0;
};

template <typename Fixture>
void BM_ScatterGather(benchmark::State& state) {
  auto fixture = Fixture::Start(static_cast<int>(state.range(0)));
  if (!fixture.ok()) {
    state.SkipWithError(fixture.status().ToString().c_str());
    return;
  }
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::Status gathered = (*fixture)->ScatterGather();
    latency.Add(absl::Now() - start);
    if (!gathered.ok()) {
      state.SkipWithError(gathered.ToString().c_str());
      break;
    }
  }
  latency.Report(state);
  state.counters["complete_pct"] = (*fixture)->CompletePct();
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

template <typename Fixture>
bool RegisterScatter(const char* name) {
  benchmark::RegisterBenchmark(name, BM_ScatterGather<Fixture>)
      ->ArgName("instances")
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->UseRealTime();
  return true;
}

// The absolute figures, baselines first.
const bool registered =
    RegisterFanOut<RawFanOut<false>>("BM_FanOut/raw_nats") &&
    RegisterFanOut<RawFanOut<true>>("BM_FanOut/raw_nats_pool") &&
    RegisterFanOut<BrokerFanOut<nats::Delivery::kBatched>>(
        "BM_FanOut/broker") &&
    RegisterFanOut<BrokerFanOut<nats::Delivery::kImmediate>>(
        "BM_FanOut/broker_immediate") &&
    RegisterScatter<RawScatter>("BM_ScatterGather/raw_nats") &&
    RegisterScatter<ServiceScatter>("BM_ScatterGather/service");

// --- Paired, interleaved comparisons (paired.h) ---

// One side of a paired fan-out: a fixture and its own delivery counter.
template <typename Fixture>
class FanOutSide {
 public:
  static absl::StatusOr<std::unique_ptr<FanOutSide>> Start(int subscribers) {
    auto side = std::unique_ptr<FanOutSide>(new FanOutSide(subscribers));
    auto fixture = Fixture::Start(subscribers, &side->counter_);
    if (!fixture.ok()) return fixture.status();
    side->fixture_ = std::move(fixture).value();
    return side;
  }

  // Batches of `batch` publishes, each waited for to its last delivery,
  // for `duration` (one batch at least): deliveries per second.
  absl::StatusOr<bench::Round> RateRound(absl::Duration duration, int batch) {
    const absl::Time start = absl::Now();
    int64_t delivered = 0;
    absl::Time now = start;
    do {
      for (int i = 0; i < batch; ++i) fixture_->Publish();
      fixture_->EndBatch();
      const int64_t batch_deliveries =
          static_cast<int64_t>(batch) * subscribers_;
      if (absl::Status arrived = AwaitDeliveries(batch_deliveries);
          !arrived.ok()) {
        return arrived;
      }
      delivered += batch_deliveries;
      now = absl::Now();
    } while (now < start + duration);
    bench::Round round;
    round.ops = delivered;
    round.per_s =
        static_cast<double>(delivered) / absl::ToDoubleSeconds(now - start);
    return round;
  }

  // One publish at a time, each timed to its last delivery.
  absl::StatusOr<bench::Round> LatencyRound(absl::Duration duration) {
    return loop_.Run(duration, [this] {
      fixture_->Publish();
      fixture_->EndBatch();
      return AwaitDeliveries(subscribers_);
    });
  }

 private:
  explicit FanOutSide(int subscribers) : subscribers_(subscribers) {}

  absl::Status AwaitDeliveries(int64_t deliveries) {
    expected_ += deliveries;
    if (counter_.WaitFor(expected_)) return absl::OkStatus();
    return absl::DeadlineExceededError(absl::StrCat(
        "deliveries missing: fewer than ", expected_, " to ", subscribers_,
        " subscribers within ", absl::FormatDuration(WaitLimit())));
  }

  const int subscribers_;
  Counter counter_;  // before fixture_: its subscriptions count into it
  std::unique_ptr<Fixture> fixture_;
  bench::TimedLoop loop_;
  int64_t expected_ = 0;
};

// The figures key_figures.json takes from a row, by its size.
std::vector<std::pair<std::string, std::string>> KeysFor(
    const char* prefix, int64_t size, std::initializer_list<int64_t> keyed,
    const char* counter) {
  for (int64_t k : keyed) {
    if (k == size) return {{absl::StrCat(prefix, size), counter}};
  }
  return {};
}

// Deliveries/s: the broker's default (batched) against nats.c's shared
// delivery pool.
void BM_FanOutPairedRate(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  const int batch = BatchOf(1000);
  auto raw = FanOutSide<RawFanOut<true>>::Start(subscribers);
  auto ours =
      FanOutSide<BrokerFanOut<nats::Delivery::kBatched>>::Start(subscribers);
  if (!raw.ok() || !ours.ok()) {
    state.SkipWithError(
        (!raw.ok() ? raw.status() : ours.status()).ToString().c_str());
    return;
  }
  bench::RunPaired(
      state, [&] { return (*raw)->RateRound(bench::RoundTime(), batch); },
      [&] { return (*ours)->RateRound(bench::RoundTime(), batch); },
      {.baseline = "raw",
       .figures = bench::kRate,
       .keys = KeysFor("fanout_rate_vs_raw_", subscribers, {64, 256},
                       "rate_vs_raw"),
       .label = absl::StrCat("deliveries/s, batches of ", batch,
                             ", broker vs nats.c pool")})
      .IgnoreError();  // reported by RunPaired
}
BENCHMARK(BM_FanOutPairedRate)
    ->Name("BM_FanOutPaired/rate")
    ->ArgName("subscribers")
    ->Arg(8)
    ->Arg(64)
    ->Arg(256)
    ->Apply(bench::AsPaired);

// Publish-to-last-delivery p50: the broker sending each publish at once
// against nats.c sending at once (send-asap).
void BM_FanOutPairedImmediate(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  auto raw = FanOutSide<RawFanOut<true, true>>::Start(subscribers);
  auto ours =
      FanOutSide<BrokerFanOut<nats::Delivery::kImmediate>>::Start(subscribers);
  if (!raw.ok() || !ours.ok()) {
    state.SkipWithError(
        (!raw.ok() ? raw.status() : ours.status()).ToString().c_str());
    return;
  }
  bench::RunPaired(
      state, [&] { return (*raw)->LatencyRound(bench::RoundTime()); },
      [&] { return (*ours)->LatencyRound(bench::RoundTime()); },
      {.baseline = "raw",
       .figures = bench::kP50,
       .keys = KeysFor("fanout_immediate_p50_vs_raw_", subscribers, {8, 64},
                       "p50_vs_raw"),
       .label = "publish to last delivery, broker immediate vs nats.c "
                "send-asap"})
      .IgnoreError();
}
BENCHMARK(BM_FanOutPairedImmediate)
    ->Name("BM_FanOutPaired/immediate")
    ->ArgName("subscribers")
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Apply(bench::AsPaired);

// Scatter-gather p50: the service's against the raw one.
void BM_ScatterPaired(benchmark::State& state) {
  const int instances = static_cast<int>(state.range(0));
  auto raw = RawScatter::Start(instances);
  auto ours = ServiceScatter::Start(instances);
  if (!raw.ok() || !ours.ok()) {
    state.SkipWithError(
        (!raw.ok() ? raw.status() : ours.status()).ToString().c_str());
    return;
  }
  bench::TimedLoop raw_loop, our_loop;
  bench::RunPaired(
      state,
      [&] {
        return raw_loop.Run(bench::RoundTime(),
                            [&] { return (*raw)->ScatterGather(); });
      },
      [&] {
        return our_loop.Run(bench::RoundTime(),
                            [&] { return (*ours)->ScatterGather(); });
      },
      {.baseline = "raw",
       .figures = bench::kP50,
       .keys = KeysFor("scatter_p50_vs_raw_", instances, {8, 64}, "p50_vs_raw"),
       .label = "one request to N instances, done at the N-th answer"})
      .IgnoreError();
  state.counters["complete_pct"] = (*ours)->CompletePct();
}
BENCHMARK(BM_ScatterPaired)
    ->ArgName("instances")
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
