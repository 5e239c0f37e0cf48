// Copyright 2026 The micro-nats Authors.
//
// broker_bench: NATS broker publish throughput against raw nats.c
// publishing, paired and interleaved (paired.h): a raw nats.c connection
// (default, buffered options) and the broker, side by side on the same
// server, alternate in short rounds of publishing as fast as they can,
// nobody subscribed; rate_vs_raw is the median of the per-round ratios of
// publishes/s, with its quartiles. Fan-out (1 -> N) is in fanout_bench.
//
//   bazel run -c opt //bench:broker_bench

#include <nats/nats.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
#include "nats/connection.h"

namespace micro_nats {
namespace {

void BM_PairedPublish(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  natsConnection* nc = bench::RawConnect();
  if (nc == nullptr) {
    state.SkipWithError("connect failed");
    return;
  }
  auto broker = broker::NewNatsBroker(bench::Connect());
  if (!broker.ok()) {
    natsConnection_Destroy(nc);
    state.SkipWithError(broker.status().ToString().c_str());
    return;
  }
  const std::string body(bytes, 'x');
  const broker::Message message{.body = body};
  const absl::Duration round = bench::RoundTime();
  bench::Side raw = [&]() {
    return bench::RunForRate(round, [&] {
      return natsConnection_Publish(nc, "bench.raw", body.data(),
                                    static_cast<int>(body.size())) == NATS_OK
                 ? absl::OkStatus()
                 : absl::UnavailableError("nats.c publish failed");
    });
  };
  bench::Side ours = [&]() {
    return bench::RunForRate(
        round, [&] { return (*broker)->Publish("bench.broker", message); });
  };
  // The warm-up round opens the broker's batching connection.
  // Publishing rounds are short and noisy (two threads each side on two
  // cores): three times the rounds of the other comparisons.
  bench::RunPaired(state, raw, ours,
                   {.baseline = "raw",
                    .figures = bench::kRate,
                    .rounds = 3 * bench::GetPairedFlags().rounds,
                    .keys = {{absl::StrCat("publish_rate_vs_raw_",
                                           bytes >= 1024 ? "1KiB" : "16B"),
                              "rate_vs_raw"}}})
      .IgnoreError();  // reported by RunPaired
  (*broker)->Drain(absl::Seconds(10)).IgnoreError();
  natsConnection_FlushTimeout(nc, 10000);
  natsConnection_Destroy(nc);
}
BENCHMARK(BM_PairedPublish)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
