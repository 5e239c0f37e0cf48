// Copyright 2026 The micro-nats Authors.
//
// nats_bench.h: what every NATS benchmark binary shares. Link
// //bench:nats_bench_main, which starts one nats-server on a free loopback
// port, then runs the binary's benchmarks against it, so every figure and
// its raw nats.c baseline come from the same server in the same run.

#ifndef MICRO_NATS_BENCH_NATS_BENCH_H_
#define MICRO_NATS_BENCH_NATS_BENCH_H_

#include <nats/nats.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/latency.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"

namespace micro_nats::bench {

// The server's URL.
const std::string& ServerUrl();

// A smoke run (bench/smoke_test.sh exports MICRO_NATS_BENCH_SMOKE): small
// sizes, maybe under a sanitizer on a busy machine, so waits and set-up may
// take longer before they count as failed.
bool SmokeRun();

// A new micro-nats connection to the server; aborts on failure (a
// benchmark has nothing to measure without it).
std::shared_ptr<nats::Connection> Connect();

// A raw nats.c connection, with nats.c's defaults or send-asap, and with a
// delivery thread per subscription (nats.c's default) or the library's
// shared delivery pool; the caller destroys it. Null on failure.
natsConnection* RawConnect(bool send_asap = false,
                           bool global_delivery = false);

// A nats.c message handler that answers each request with its own body:
// the raw baselines' echo responder.
void RawEchoReply(natsConnection* nc, natsSubscription*, natsMsg* msg, void*);

// The raw baseline loop: one nats.c request of `body` to `subject` per
// iteration, reported as p50/p90/p99 and returned.
Percentiles RunRawRequests(benchmark::State& state, natsConnection* requester,
                           const char* subject, absl::string_view body);

// The first-answer baseline of a broadcast lookup: RunRawRequests on a new
// connection (default options, or send-asap), its p50 recorded under
// `baseline_key` (RecordBaseline).
void RunRawFirstAnswers(benchmark::State& state, const char* subject,
                        absl::string_view body, const std::string& baseline_key,
                        bool send_asap = false);

// Ratios to the raw baseline of the same run. A BM_RawNats* benchmark
// records its figure under a key; the micro-nats benchmark of the same
// thing, registered after it in the same binary, reports its own figure
// divided by that one as counter `counter`. Left out when the baseline did
// not run (a --benchmark_filter without it).
//
//   rate_vs_raw  throughput over raw: 1.0 is as fast as nats.c, 0.5 half;
//   p50_vs_raw   latency over raw: 1.0 is as fast as nats.c, 2.0 twice as
//                slow.
void RecordBaseline(const std::string& key, double value);
void ReportVsBaseline(benchmark::State& state, const char* counter,
                      double value, const std::string& key);

// Iterations per second of wall time since `start`: benchmarks that report
// a rate against a baseline measure both the same way.
double RatePerSecond(const benchmark::State& state, absl::Time start);

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_NATS_BENCH_H_
