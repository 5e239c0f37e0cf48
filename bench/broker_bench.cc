// Copyright 2026 The micro-nats Authors.
//
// broker_bench: NATS broker publish throughput and 1 -> N fan-out delivery
// rate, each next to raw nats.c doing the same on the same server in the
// same run; rate_vs_raw is the broker's rate over raw's.
//
//   bazel run -c opt //bench:broker_bench -- --benchmark_min_time=0.5

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
#include "concurrency/wait.h"
#include "nats/connection.h"

namespace micro_nats {
namespace {

std::string PublishKey(const benchmark::State& state) {
  return absl::StrCat("publish/", state.range(0));
}

// Baseline: nats.c with its default (buffered) options.
void BM_RawNatsPublish(benchmark::State& state) {
  natsConnection* nc = bench::RawConnect();
  if (nc == nullptr) {
    state.SkipWithError("connect failed");
    return;
  }
  const std::string body(state.range(0), 'x');
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    natsConnection_Publish(nc, "bench.raw", body.data(),
                           static_cast<int>(body.size()));
  }
  bench::RecordBaseline(PublishKey(state), bench::RatePerSecond(state, start));
  natsConnection_FlushTimeout(nc, 10000);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  natsConnection_Destroy(nc);
}
BENCHMARK(BM_RawNatsPublish)->Arg(16)->Arg(1024)->UseRealTime();

void BM_BrokerPublish(benchmark::State& state) {
  auto broker = broker::NewNatsBroker(bench::Connect()).value();
  const broker::Message message{.body = std::string(state.range(0), 'x')};
  // The first batched publish opens the batching connection: not timed, as
  // raw's connect is not.
  if (!broker->Publish("bench.broker", message).ok()) {
    state.SkipWithError("publish failed");
    return;
  }
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    if (!broker->Publish("bench.broker", message).ok()) {
      state.SkipWithError("publish failed");
      break;
    }
  }
  bench::ReportVsBaseline(state, "rate_vs_raw",
                          bench::RatePerSecond(state, start),
                          PublishKey(state));
  broker->Drain(absl::Seconds(10)).IgnoreError();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BrokerPublish)->Arg(16)->Arg(1024)->UseRealTime();

// Fan-out: one publisher, N subscribers (all on one subscribing
// connection), 16-byte messages. Each iteration publishes a batch and waits
// until every subscriber has all of it; the rate counts deliveries.
constexpr int kFanOutBatch = 1000;

// Deliveries so far, and a wait for a count of them.
class DeliveryCounter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++delivered_;
    cv_.notify_all();
  }
  bool WaitFor(int64_t expected) {
    std::unique_lock<std::mutex> lock(mu_);
    return concurrency::WaitFor(cv_, lock, absl::Seconds(30),
                                [&] { return delivered_ >= expected; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t delivered_ = 0;  // guarded by mu_
};

// Runs the fan-out loop with `publish` and returns deliveries per second,
// or 0 after reporting an error.
template <typename Publish>
double RunFanOut(benchmark::State& state, DeliveryCounter& counter,
                 Publish publish) {
  const int64_t subscribers = state.range(0);
  int64_t expected = 0;
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    for (int i = 0; i < kFanOutBatch; ++i) publish();
    expected += kFanOutBatch * subscribers;
    if (!counter.WaitFor(expected)) {
      state.SkipWithError("deliveries missing");
      return 0;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  state.SetItemsProcessed(expected);
  state.counters["subscribers"] = static_cast<double>(subscribers);
  return seconds > 0 ? static_cast<double>(expected) / seconds : 0;
}

std::string FanOutKey(const benchmark::State& state) {
  return absl::StrCat("fanout/", state.range(0));
}

void CountDelivery(natsConnection*, natsSubscription*, natsMsg* msg,
                   void* counter) {
  natsMsg_Destroy(msg);
  static_cast<DeliveryCounter*>(counter)->Add();
}

// Baseline: nats.c, both connections with default options.
void BM_RawNatsFanOut(benchmark::State& state) {
  natsConnection* publisher = bench::RawConnect();
  natsConnection* subscriber = bench::RawConnect();
  DeliveryCounter counter;
  std::vector<natsSubscription*> subs(state.range(0), nullptr);
  bool ok = publisher != nullptr && subscriber != nullptr;
  for (natsSubscription*& sub : subs) {
    ok = ok && natsConnection_Subscribe(&sub, subscriber, "bench.raw.fan",
                                        CountDelivery, &counter) == NATS_OK;
  }
  ok = ok && natsConnection_Flush(subscriber) == NATS_OK;
  if (ok) {
    const std::string body(16, 'x');
    const double rate = RunFanOut(state, counter, [&] {
      natsConnection_Publish(publisher, "bench.raw.fan", body.data(),
                             static_cast<int>(body.size()));
    });
    bench::RecordBaseline(FanOutKey(state), rate);
  } else {
    state.SkipWithError("raw nats setup failed");
  }
  for (natsSubscription* sub : subs) {
    if (sub == nullptr) continue;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  natsConnection_Destroy(subscriber);
  natsConnection_Destroy(publisher);
}
BENCHMARK(BM_RawNatsFanOut)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

void BM_BrokerFanOut(benchmark::State& state) {
  auto publisher = broker::NewNatsBroker(bench::Connect()).value();
  auto subscriber = broker::NewNatsBroker(bench::Connect()).value();
  DeliveryCounter counter;
  std::vector<std::unique_ptr<broker::Subscriber>> subs;
  for (int i = 0; i < state.range(0); ++i) {
    auto sub = subscriber->Subscribe("bench.fan", [&](const broker::Event&) {
      counter.Add();
      return absl::OkStatus();
    });
    if (!sub.ok()) {
      state.SkipWithError("subscribe failed");
      return;
    }
    subs.push_back(std::move(sub).value());
  }
  const broker::Message message{.body = std::string(16, 'x')};
  // Opens the batching connection before the timing starts (nobody listens
  // on this topic).
  publisher->Publish("bench.warm_up", message).IgnoreError();
  const double rate = RunFanOut(state, counter, [&] {
    publisher->Publish("bench.fan", message).IgnoreError();
  });
  bench::ReportVsBaseline(state, "rate_vs_raw", rate, FanOutKey(state));
}
BENCHMARK(BM_BrokerFanOut)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace micro_nats
