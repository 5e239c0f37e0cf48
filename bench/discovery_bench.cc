// Copyright 2026 The micro-nats Authors.
//
// discovery_bench: how to tune a NATS registry lookup. K registered
// instances (K = 1, 10, 100) are spread over min(K, 10) registrar
// connections (processes, in deployment); a lookup on another connection
// broadcasts the query and gathers answers. Each setting of the sweep is
// measured for its lookup latency and its completeness: the share of
// lookups that found all K (complete_pct). bench/report.py marks, per K,
// the fastest setting that found all K in at least 99.9 % of its lookups,
// next to go-micro's rule (wait the whole 100 ms).
//
//   BM_ColdLookup/K/rule   straight to the registry (no cache): every
//       lookup is a broadcast. The rules (the label of each row):
//         fixed <t>      wait the whole timeout t (go-micro: fixed 100ms)
//         idle_gap <g>   return once no answer came for g (timeout 100 ms)
//         quorum <q>     return once q registrars answered
//         census         micro-nats's default: return once the answers
//                        match the set the registrars' census hints name
//                        (two of them at least: one alone never ends a
//                        lookup); the 10 ms idle gap otherwise
//   BM_WarmLookup/K/rule   through the client's cache (CachingRegistry),
//       filled by one lookup first: what a service's calls pay.
//
// The registrars' censuses are warm (census_warmup 0): in a long-running
// deployment they are after 35 s. p50_vs_raw: a lookup's p50 over a raw
// nats.c request's first answer to the same query, from the same run.
//
//   bazel run -c opt //bench:discovery_bench -- --benchmark_min_time=2

#include <nats/nats.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/latency.h"
#include "bench/lookups.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "registry/cache/cache.h"
#include "registry/nats/nats_registry.h"

namespace micro_nats {
namespace {

constexpr int kRegistrars = 10;

// Set-up may take longer in a smoke run before it counts as failed.
absl::Duration SetUpLimit() {
  return bench::SmokeRun() ? absl::Minutes(2) : absl::Seconds(30);
}

std::string ServiceOf(int64_t instances) {
  return absl::StrCat("discovery-", instances);
}

// Registrar connections needed for K instances.
int RegistrarsFor(int64_t instances) {
  return static_cast<int>(std::min<int64_t>(instances, kRegistrars));
}

// The registrars, holding the instances of every K; started once.
void StartRegistrars() {
  static bool started = [] {
    auto* registrars = new std::vector<std::unique_ptr<registry::Registry>>;
    for (int r = 0; r < kRegistrars; ++r) {
      auto registry = registry::NewNatsRegistry(
          bench::Connect(), {.census_warmup = absl::ZeroDuration()});
      if (!registry.ok()) std::abort();
      registrars->push_back(std::move(registry).value());
    }
    // Registered once every registrar watches, so each hears of every
    // instance.
    bench::RegisterAndKeepRegistered(registrars, [](int r) {
      std::vector<registry::Service> services;
      for (int64_t instances : {1, 10, 100}) {
        const int used = RegistrarsFor(instances);
        if (r >= used) continue;
        registry::Service service{.name = ServiceOf(instances),
                                  .version = "1.0.0"};
        for (int64_t n = r; n < instances; n += used) {
          const std::string id = absl::StrCat(service.name, "-", n);
          service.nodes.push_back({.id = id, .address = "_INBOX." + id});
        }
        services.push_back(std::move(service));
      }
      return services;
    });
    // Set-up is done when a lookup of each K finds all and knows it (a
    // lone registrar's hint never makes a lookup complete: K = 1 cannot).
    auto looker = registry::NewNatsRegistry(bench::Connect());
    if (!looker.ok()) std::abort();
    const absl::Time deadline = absl::Now() + SetUpLimit();
    for (int64_t instances : {1, 10, 100}) {
      while (true) {
        auto found = (*looker)->Find(ServiceOf(instances));
        size_t nodes = 0;
        if (found.ok()) {
          for (const auto& version : found->services) {
            nodes += version.nodes.size();
          }
        }
        const bool knowable = RegistrarsFor(instances) >= 2;
        if (found.ok() && (found->complete || !knowable) &&
            nodes == static_cast<size_t>(instances)) {
          break;
        }
        if (absl::Now() > deadline) {
          std::fprintf(stderr, "bench: %s not all registered\n",
                       ServiceOf(instances).c_str());
          std::abort();
        }
      }
    }
    return true;
  }();
  (void)started;
}

std::string FirstAnswerKey(int64_t instances) {
  return absl::StrCat("first_answer/", instances);
}

void BM_RawNatsFirstAnswer(benchmark::State& state) {
  StartRegistrars();
  bench::RunRawFirstAnswers(
      state, "micro.nats.query",
      absl::StrCat(R"({"Action":"get","Service":{"name":")",
                   ServiceOf(state.range(0)), R"("}})"),
      FirstAnswerKey(state.range(0)));
}
BENCHMARK(BM_RawNatsFirstAnswer)
    ->ArgName("K")
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime();

// The sweep's settings, by index (the second argument).
struct Rule {
  const char* label;
  absl::Duration timeout;
  absl::Duration idle_gap;
  int quorum;  // -1: the number of registrars that hold K
  bool census_hints;
};
constexpr absl::Duration kMs = absl::Milliseconds(1);
const Rule kRules[] = {
    {"fixed 100ms (go-micro)", 100 * kMs, absl::ZeroDuration(), 0, false},
    {"fixed 50ms", 50 * kMs, absl::ZeroDuration(), 0, false},
    {"fixed 20ms", 20 * kMs, absl::ZeroDuration(), 0, false},
    {"fixed 10ms", 10 * kMs, absl::ZeroDuration(), 0, false},
    {"idle_gap 20ms", 100 * kMs, 20 * kMs, 0, false},
    {"idle_gap 10ms", 100 * kMs, 10 * kMs, 0, false},
    {"idle_gap 5ms", 100 * kMs, 5 * kMs, 0, false},
    {"idle_gap 2ms", 100 * kMs, 2 * kMs, 0, false},
    {"idle_gap 1ms", 100 * kMs, 1 * kMs, 0, false},
    {"quorum 1", 100 * kMs, absl::ZeroDuration(), 1, false},
    {"quorum all registrars", 100 * kMs, absl::ZeroDuration(), -1, false},
    {"census (default)", 100 * kMs, 10 * kMs, 0, true},
};
constexpr int kGoMicroRule = 0;
constexpr int kDefaultRule = 11;

registry::NatsRegistryOptions OptionsOf(const Rule& rule, int64_t instances) {
  return {.timeout = rule.timeout,
          .idle_gap = rule.idle_gap,
          .quorum = rule.quorum < 0 ? RegistrarsFor(instances) : rule.quorum,
          .use_census_hints = rule.census_hints};
}

// The one body of both: args {K, rule}; `warm` looks up through a cache.
void RunLookups(benchmark::State& state, bool warm) {
  StartRegistrars();
  const int64_t instances = state.range(0);
  const Rule& rule = kRules[state.range(1)];
  state.SetLabel(rule.label);
  auto backend =
      registry::NewNatsRegistry(bench::Connect(), OptionsOf(rule, instances));
  if (!backend.ok()) {
    state.SkipWithError(backend.status().ToString().c_str());
    return;
  }
  std::shared_ptr<registry::Registry> looker = std::move(backend).value();
  if (warm) {
    auto cache = registry::CachingRegistry::Create(looker);
    if (!cache.ok()) {
      state.SkipWithError(cache.status().ToString().c_str());
      return;
    }
    // Filled by a lookup that found every node: a rule's window may close
    // before any answer on a slow machine (then the cache holds nothing),
    // or before the last (then it asks again after its partial_ttl).
    const absl::Time deadline = absl::Now() + SetUpLimit();
    while (true) {
      auto filled = (*cache)->Lookup(ServiceOf(instances), deadline);
      size_t nodes = 0;
      if (filled.ok()) {
        for (const auto& version : filled->services) {
          nodes += version.nodes.size();
        }
      }
      if (nodes == static_cast<size_t>(instances)) break;
      if (absl::Now() >= deadline) {
        state.SkipWithError(absl::StrCat("the cache's first lookups found ",
                                         nodes, " of ", instances,
                                         " instances in ",
                                         absl::FormatDuration(SetUpLimit()),
                                         ": ", filled.status().ToString())
                                .c_str());
        return;
      }
      // Forgotten once it holds no node: the next lookup asks again.
      for (int64_t n = 0; n < instances; ++n) {
        (*cache)->Evict(ServiceOf(instances),
                        absl::StrCat(ServiceOf(instances), "-", n));
      }
    }
    looker = std::move(cache).value();
  }
  bench::MeasureLookups(state, *looker, ServiceOf(instances),
                        static_cast<size_t>(instances),
                        FirstAnswerKey(instances));
  state.counters["K"] = static_cast<double>(instances);
}

void BM_ColdLookup(benchmark::State& state) { RunLookups(state, false); }
void BM_WarmLookup(benchmark::State& state) { RunLookups(state, true); }

BENCHMARK(BM_ColdLookup)
    ->ArgNames({"K", "rule"})
    ->ArgsProduct({{1, 10, 100},
                   benchmark::CreateDenseRange(0, std::size(kRules) - 1, 1)})
    ->UseRealTime();
BENCHMARK(BM_WarmLookup)
    ->ArgNames({"K", "rule"})
    ->ArgsProduct({{1, 10, 100}, {kGoMicroRule, kDefaultRule}})
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
