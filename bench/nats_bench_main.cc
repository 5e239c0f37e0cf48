// Copyright 2026 The micro-nats Authors.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "testing/nats_server.h"

namespace micro_nats::bench {
namespace {

std::string* server_url = nullptr;

// Benchmarks run one at a time, on the main thread.
std::map<std::string, double>& Baselines() {
  static auto* baselines = new std::map<std::string, double>;
  return *baselines;
}

}  // namespace

void RecordBaseline(const std::string& key, double value) {
  Baselines()[key] = value;
}

void ReportVsBaseline(benchmark::State& state, const char* counter,
                      double value, const std::string& key) {
  auto it = Baselines().find(key);
  if (it == Baselines().end() || it->second == 0) return;
  state.counters[counter] = value / it->second;
}

double RatePerSecond(const benchmark::State& state, absl::Time start) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return seconds > 0 ? static_cast<double>(state.iterations()) / seconds : 0;
}

const std::string& ServerUrl() { return *server_url; }

bool SmokeRun() {
  static const bool smoke = std::getenv("MICRO_NATS_BENCH_SMOKE") != nullptr;
  return smoke;
}

std::shared_ptr<nats::Connection> Connect() {
  auto conn = nats::Connection::Connect({.servers = {ServerUrl()}});
  if (!conn.ok()) {
    std::fprintf(stderr, "bench: %s\n", conn.status().ToString().c_str());
    std::abort();
  }
  return *conn;
}

natsConnection* RawConnect(bool send_asap, bool global_delivery) {
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK) return nullptr;
  natsOptions_SetURL(opts, ServerUrl().c_str());
  natsOptions_SetSendAsap(opts, send_asap);
  natsOptions_UseGlobalMessageDelivery(opts, global_delivery);
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  return s == NATS_OK ? nc : nullptr;
}

void RawEchoReply(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg),
                         natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

Percentiles RunRawRequests(benchmark::State& state, natsConnection* requester,
                           const char* subject, absl::string_view body) {
  LatencyRecorder latency;
  for (auto _ : state) {
    natsMsg* reply = nullptr;
    absl::Time start = absl::Now();
    natsStatus s =
        natsConnection_Request(&reply, requester, subject, body.data(),
                               static_cast<int>(body.size()), 5000);
    latency.Add(absl::Now() - start);
    natsMsg_Destroy(reply);
    if (s != NATS_OK) {
      state.SkipWithError("request failed");
      break;
    }
  }
  return latency.Report(state);
}

void RunRawFirstAnswers(benchmark::State& state, const char* subject,
                        absl::string_view body, const std::string& baseline_key,
                        bool send_asap) {
  natsConnection* nc = RawConnect(send_asap);
  if (nc == nullptr) {
    state.SkipWithError("connect failed");
    return;
  }
  RecordBaseline(baseline_key, RunRawRequests(state, nc, subject, body).p50_us);
  natsConnection_Destroy(nc);
}

}  // namespace micro_nats::bench

// --nats_url=URL runs against that server instead of starting one (its
// other clients then share it, and the figures are noisier).
// --paired_rounds=N and --paired_scale=F: the rounds of each paired
// comparison (paired.h; 20 by default) and a factor on their length (1 by
// default). A smoke run (--benchmark_min_time below 0.05) without them
// takes 3 rounds at a tenth of the length: it checks that each runs and
// reports, not what it measures.
int main(int argc, char** argv) {
  micro_nats::bench::PairedFlags& paired = micro_nats::bench::GetPairedFlags();
  for (int i = 1; i < argc; ++i) {  // before Initialize takes its flags out
    absl::string_view arg = argv[i];
    double min_time = 0;
    if (absl::ConsumePrefix(&arg, "--benchmark_min_time=") &&
        absl::SimpleAtod(absl::StripSuffix(arg, "s"), &min_time) &&
        min_time < 0.05) {
      paired.rounds = 3;
      paired.scale = 0.1;
      paired.smoke = true;
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("nats_c", nats_GetVersion());
  std::string url;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--nats_url=")) {
      url = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--paired_rounds=")) {
      if (!absl::SimpleAtoi(arg, &paired.rounds) || paired.rounds < 1) {
        std::fprintf(stderr, "bench: --paired_rounds wants a count\n");
        return 2;
      }
    } else if (absl::ConsumePrefix(&arg, "--paired_scale=")) {
      if (!absl::SimpleAtod(arg, &paired.scale) || !(paired.scale > 0)) {
        std::fprintf(stderr, "bench: --paired_scale wants a factor\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::unique_ptr<micro_nats::testing::NatsServer> server;
  if (url.empty()) {
    auto started = micro_nats::testing::NatsServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "bench: %s\n", started.status().ToString().c_str());
      return 1;
    }
    server = std::move(started).value();
    url = server->url();
  }
  benchmark::AddCustomContext("nats_server_url", url);
  benchmark::AddCustomContext("paired_rounds", std::to_string(paired.rounds));
  benchmark::AddCustomContext("paired_scale", std::to_string(paired.scale));
  micro_nats::bench::server_url = &url;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
