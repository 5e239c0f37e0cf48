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
#include "benchmark/benchmark.h"
#include "nats/connection.h"

namespace micro_nats::bench {

// The server's URL.
const std::string& ServerUrl();

// A new micro-nats connection to the server; aborts on failure (a
// benchmark has nothing to measure without it).
std::shared_ptr<nats::Connection> Connect();

// A raw nats.c connection, with nats.c's defaults or send-asap; the caller
// destroys it. Null on failure.
natsConnection* RawConnect(bool send_asap = false);

// The raw baseline loop: one nats.c request of `body` to `subject` per
// iteration, reported as p50/p90/p99.
void RunRawRequests(benchmark::State& state, natsConnection* requester,
                    const char* subject, absl::string_view body);

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_NATS_BENCH_H_
