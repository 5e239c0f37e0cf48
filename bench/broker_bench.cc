// Copyright 2026 The micro-nats Authors.
//
// broker_bench: NATS broker publish throughput next to raw nats.c
// publishing on the same server in the same run; rate_vs_raw is the
// broker's rate over raw's. Fan-out (1 -> N) is in fanout_bench.
//
//   bazel run -c opt //bench:broker_bench -- --benchmark_min_time=0.5

#include <nats/nats.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
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
BENCHMARK(BM_RawNatsPublish)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->UseRealTime();

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
BENCHMARK(BM_BrokerPublish)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
