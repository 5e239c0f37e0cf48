// Copyright 2026 The micro-nats Authors.
//
// broker_bench: NATS broker publish throughput next to raw nats.c publish on
// the same server in the same run, and 1 -> N fan-out delivery rate.
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

#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
#include "nats/connection.h"

namespace micro_nats {
namespace {

// Baseline: nats.c with its default (buffered) options.
void BM_RawNatsPublish(benchmark::State& state) {
  natsConnection* nc = bench::RawConnect();
  if (nc == nullptr) {
    state.SkipWithError("connect failed");
    return;
  }
  const std::string body(state.range(0), 'x');
  for (auto _ : state) {
    natsConnection_Publish(nc, "bench.raw", body.data(),
                           static_cast<int>(body.size()));
  }
  natsConnection_FlushTimeout(nc, 10000);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  natsConnection_Destroy(nc);
}
BENCHMARK(BM_RawNatsPublish)->Arg(16)->Arg(1024)->UseRealTime();

void BM_BrokerPublish(benchmark::State& state) {
  auto broker = broker::NewNatsBroker(bench::Connect());
  const broker::Message message{.body = std::string(state.range(0), 'x')};
  for (auto _ : state) {
    if (!broker->Publish("bench.broker", message).ok()) {
      state.SkipWithError("publish failed");
      break;
    }
  }
  broker->Drain(absl::Seconds(10)).IgnoreError();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BrokerPublish)->Arg(16)->Arg(1024)->UseRealTime();

// One publisher, N subscribers (on one subscribing connection); counts
// deliveries. Each iteration publishes a batch and waits for all of it.
void BM_BrokerFanOut(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  constexpr int kBatch = 1000;
  auto publisher = broker::NewNatsBroker(bench::Connect());
  auto subscriber = broker::NewNatsBroker(bench::Connect());
  std::mutex mu;
  std::condition_variable cv;
  int64_t delivered = 0;
  std::vector<std::unique_ptr<broker::Subscriber>> subs;
  for (int i = 0; i < subscribers; ++i) {
    auto sub = subscriber->Subscribe("bench.fan", [&](const broker::Event&) {
      std::lock_guard<std::mutex> lock(mu);
      ++delivered;
      cv.notify_all();
      return absl::OkStatus();
    });
    if (!sub.ok()) {
      state.SkipWithError("subscribe failed");
      return;
    }
    subs.push_back(std::move(sub).value());
  }
  const broker::Message message{.body = std::string(16, 'x')};
  int64_t expected = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      publisher->Publish("bench.fan", message).IgnoreError();
    }
    expected += int64_t{kBatch} * subscribers;
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30),
                     [&] { return delivered >= expected; })) {
      state.SkipWithError("deliveries missing");
      break;
    }
  }
  state.SetItemsProcessed(expected);
  state.counters["subscribers"] = subscribers;
}
BENCHMARK(BM_BrokerFanOut)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace micro_nats
