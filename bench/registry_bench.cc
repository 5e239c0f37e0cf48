// Copyright 2026 The micro-nats Authors.
//
// registry_bench: NATS registry GetService latency with the idle-gap rule
// against go-micro's fixed wait, next to a raw nats.c request to the query
// subject (the first answer) on the same server in the same run.
//
//   bazel run -c opt //bench:registry_bench -- --benchmark_min_time=1
//
// Three registrar processes (connections) each register one node of
// "greeter"; the looking-up registry is on a fourth connection.
// p50_vs_raw is a lookup's p50 over the raw first answer's (a lookup waits
// for more than the first answer, so it is well above 1 by design).
// complete_pct is the share of lookups that found all three nodes: a short
// idle gap is fast but may end before the slowest registrar answers.

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/latency.h"
#include "bench/lookups.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"
#include "registry/nats/nats_registry.h"

namespace micro_nats {
namespace {

// Three registrar "processes", each with one node of greeter; made once.
size_t StartRegistrars() {
  static auto* registrars = [] {
    auto* list = new std::vector<std::unique_ptr<registry::Registry>>;
    for (int i = 0; i < 3; ++i) {
      auto registry = registry::NewNatsRegistry(bench::Connect());
      const std::string id = "greeter-" + std::to_string(i);
      if (!registry.ok() ||
          !(*registry)
               ->Register({.name = "greeter",
                           .version = "1.0.0",
                           .nodes = {{.id = id, .address = "_INBOX." + id}}})
               .ok()) {
        std::fprintf(stderr, "bench: registrar %d failed\n", i);
        std::abort();
      }
      list->push_back(std::move(registry).value());
    }
    return list;
  }();
  return registrars->size();
}

// Baseline: one raw request on the query subject, answered by the first
// registrar.
void BM_RawNatsFirstAnswer(benchmark::State& state) {
  StartRegistrars();
  bench::RunRawFirstAnswers(state, "micro.nats.query",
                            R"({"Action":"get","Service":{"name":"greeter"}})",
                            "query/p50");
}
BENCHMARK(BM_RawNatsFirstAnswer)->UseRealTime();

// idle_gap_ms 0 is go-micro's rule: wait the whole 100 ms timeout.
void BM_NatsRegistryGetService(benchmark::State& state) {
  const absl::Duration idle_gap = absl::Milliseconds(state.range(0));
  const size_t nodes = StartRegistrars();
  auto registry = registry::NewNatsRegistry(
      bench::Connect(),
      {.timeout = absl::Milliseconds(100), .idle_gap = idle_gap});
  if (!registry.ok()) {
    state.SkipWithError("registry failed");
    return;
  }
  bench::MeasureLookups(state, **registry, "greeter", nodes, "query/p50");
}
BENCHMARK(BM_NatsRegistryGetService)
    ->ArgName("idle_gap_ms")
    ->Arg(0)
    ->Arg(2)
    ->Arg(10)
    ->UseRealTime();

// --- Discovery at round-trip speed (census hints) ---
//
// K = 10 nodes on 5 registrar connections (2 each); one registrar answers
// 20 ms late (a relay on its own nats.c connection holds each query for
// 20 ms before passing it on). Every registrar has heard of every node
// (their censuses are warm). Cold lookups: straight to the backend, no
// cache.

constexpr int kCensusNodes = 10;
// How late the late registrar answers; set by each benchmark.
std::atomic<int> late_ms{20};

void StartCensusRegistrars() {
  static bool started = [] {
    const registry::NatsRegistryOptions warm{.census_warmup =
                                                 absl::ZeroDuration()};
    auto* registrars = new std::vector<std::unique_ptr<registry::Registry>>;
    for (int r = 0; r < 5; ++r) {
      registry::NatsRegistryOptions options = warm;
      if (r == 4) options.query_subject = "micro.nats.query.slow";
      auto registry = registry::NewNatsRegistry(bench::Connect(), options);
      if (!registry.ok()) std::abort();
      registrars->push_back(std::move(registry).value());
    }
    // The late one: each query reaches it 20 ms after it was sent, however
    // many are on their way (a delay line, not a queue).
    struct Delayed {
      absl::Time due;
      std::string reply;
      std::string body;
    };
    struct DelayLine {
      std::mutex mu;
      std::condition_variable cv;
      std::deque<Delayed> queries;
    };
    static auto* line = new DelayLine;
    natsConnection* relay = bench::RawConnect(/*send_asap=*/true);
    natsSubscription* sub = nullptr;
    if (relay == nullptr ||
        natsConnection_Subscribe(
            &sub, relay, "micro.nats.query",
            [](natsConnection*, natsSubscription*, natsMsg* msg, void*) {
              const char* reply = natsMsg_GetReply(msg);
              std::lock_guard<std::mutex> lock(line->mu);
              line->queries.push_back(
                  {absl::Now() + absl::Milliseconds(late_ms.load()),
                   reply == nullptr ? "" : reply,
                   std::string(natsMsg_GetData(msg),
                               natsMsg_GetDataLength(msg))});
              line->cv.notify_one();
              natsMsg_Destroy(msg);
            },
            nullptr) != NATS_OK) {
      std::abort();
    }
    std::thread([relay] {
      std::unique_lock<std::mutex> lock(line->mu);
      while (true) {
        line->cv.wait(lock, [] { return !line->queries.empty(); });
        Delayed next = line->queries.front();
        line->queries.pop_front();
        lock.unlock();
        absl::SleepFor(next.due - absl::Now());
        natsConnection_PublishRequest(relay, "micro.nats.query.slow",
                                      next.reply.c_str(), next.body.data(),
                                      static_cast<int>(next.body.size()));
        lock.lock();
      }
    }).detach();
    natsConnection_Flush(relay);
    // Registered once every registrar watches: each hears of all ten.
    bench::RegisterAndKeepRegistered(registrars, [](int r) {
      registry::Service census{.name = "census", .version = "1.0.0"};
      for (int n = 0; n < 2; ++n) {
        const std::string id = absl::StrCat("census-", r, "-", n);
        census.nodes.push_back({.id = id, .address = "_INBOX." + id});
      }
      return std::vector<registry::Service>{census};
    });
    absl::SleepFor(absl::Milliseconds(200));  // set-up: let the events land
    return true;
  }();
  (void)started;
}

void BM_RawNatsCensusFirstAnswer(benchmark::State& state) {
  StartCensusRegistrars();
  late_ms = 20;
  bench::RunRawFirstAnswers(state, "micro.nats.query",
                            R"({"Action":"get","Service":{"name":"census"}})",
                            "census/p50",
                            /*send_asap=*/true);
}
BENCHMARK(BM_RawNatsCensusFirstAnswer)->UseRealTime();

// rule 0: census hints (idle gap 10 ms as the fallback); 1: idle gap 2 ms;
// 2: idle gap 10 ms; 3: go-micro's fixed 100 ms. late_ms: how late the
// late registrar answers (0: none is late).
void BM_ColdLookupRule(benchmark::State& state) {
  StartCensusRegistrars();
  const int rule = static_cast<int>(state.range(0));
  late_ms = static_cast<int>(state.range(1));
  registry::NatsRegistryOptions options{
      .timeout = absl::Milliseconds(100),
      .idle_gap = rule == 1   ? absl::Milliseconds(2)
                  : rule == 3 ? absl::ZeroDuration()
                              : absl::Milliseconds(10),
      .use_census_hints = rule == 0};
  auto registry = registry::NewNatsRegistry(bench::Connect(), options);
  if (!registry.ok()) {
    state.SkipWithError("registry failed");
    return;
  }
  bench::MeasureLookups(state, **registry, "census", kCensusNodes,
                        "census/p50");
}
BENCHMARK(BM_ColdLookupRule)
    ->ArgNames({"rule", "late_ms"})
    ->ArgsProduct({{0, 1, 2, 3}, {20, 0}})
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
