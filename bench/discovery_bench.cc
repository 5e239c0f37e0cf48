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
// Key-value discovery (registry/kv), K = 10, 100, 10,000, on a JetStream
// nats-server of its own (the shared one has no JetStream), which also
// holds 10 broadcast registrars with the same K, so each pair shares one
// server; paired (bench/paired.h), baseline and KV alternating in rounds:
//   BM_KvNewClient/K   a new client (its connection made beforehand) until
//       it has all K: KV (making the consumer, the initial values) vs a
//       new broadcast client's first lookup (census default). load_ms: the
//       KV side's median (key figure kv_initial_load_ms_10000);
//       replica_kib: what a loaded replica's client holds (malloc'd bytes,
//       nats.c's included, measured once).
//   BM_KvLookup/K      a loaded KV client's lookup (local) vs the census
//       default's cold lookup.
//   BM_KvVisible/K     a registration changed at one client until another
//       client's watcher has it (p50 per round; visible_p99_us over all)
//       vs a raw nats.c (send-asap) request/reply round trip: key figure
//       kv_visible_p50_vs_raw_rtt at K = 100.
// Each K has a bucket of its own (a client replicates its whole bucket).
//
//   bazel run -c opt //bench:discovery_bench -- --benchmark_min_time=2

#include <malloc.h>
#include <nats/nats.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/latency.h"
#include "bench/lookups.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "registry/cache/cache.h"
#include "registry/kv/kv_registry.h"
#include "registry/nats/nats_registry.h"
#include "testing/nats_server.h"

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

// ---------------------------------------------------------------------------
// Key-value discovery beside broadcast discovery, on one JetStream server.

// K as measured: a smoke run (sanitizers) shrinks 10,000 to 1,000.
int64_t KvInstances(int64_t k) {
  return bench::SmokeRun() ? std::min<int64_t>(k, 1000) : k;
}

std::string KvServiceOf(int64_t k) { return absl::StrCat("kv-", k); }

// A bucket per K: a client replicates its whole bucket.
registry::KvRegistryOptions KvOptionsOf(int64_t k) {
  return {.bucket = absl::StrCat("bench-kv-", k)};
}
std::string BroadcastServiceOf(int64_t k) { return absl::StrCat("bc-", k); }

size_t NodesOf(const absl::StatusOr<registry::LookupResult>& found) {
  if (!found.ok()) return 0;
  size_t nodes = 0;
  for (const auto& version : found->services) nodes += version.nodes.size();
  return nodes;
}

struct KvWorld {
  std::unique_ptr<testing::NatsServer> server;
  std::vector<std::unique_ptr<registry::Registry>>* broadcast = nullptr;
  std::map<int64_t, std::unique_ptr<registry::Registry>> kv_registrars;
  // Raw nats.c, send-asap: a requester and an echo responder (the round
  // trip baseline).
  natsConnection* raw = nullptr;
  natsConnection* raw_responder = nullptr;
  natsSubscription* raw_echo = nullptr;

  std::shared_ptr<nats::Connection> Connect() const {
    auto conn = nats::Connection::Connect({.servers = {server->url()}});
    if (!conn.ok()) std::abort();
    return *conn;
  }
};

// Started once: the server, K instances of each size registered both ways.
KvWorld& World() {
  static KvWorld* world = [] {
    auto* w = new KvWorld;
    auto server = testing::NatsServer::Start({.jetstream = true});
    if (!server.ok()) {
      std::fprintf(stderr, "bench: %s\n", server.status().ToString().c_str());
      std::abort();
    }
    w->server = std::move(server).value();
    // The clients stay (their threads may run to the end), but the server
    // process and its store go at exit.
    static KvWorld* at_exit = w;
    std::atexit([] { at_exit->server.reset(); });
    for (natsConnection** nc : {&w->raw, &w->raw_responder}) {
      natsOptions* opts = nullptr;
      if (natsOptions_Create(&opts) != NATS_OK ||
          natsOptions_SetURL(opts, w->server->url().c_str()) != NATS_OK ||
          natsOptions_SetSendAsap(opts, true) != NATS_OK ||
          natsConnection_Connect(nc, opts) != NATS_OK) {
        std::abort();
      }
      natsOptions_Destroy(opts);
    }
    if (natsConnection_Subscribe(&w->raw_echo, w->raw_responder,
                                 "bench.kv.echo", bench::RawEchoReply,
                                 nullptr) != NATS_OK ||
        natsConnection_Flush(w->raw_responder) != NATS_OK) {
      std::abort();
    }
    w->broadcast = new std::vector<std::unique_ptr<registry::Registry>>;
    for (int r = 0; r < kRegistrars; ++r) {
      auto registry = registry::NewNatsRegistry(
          w->Connect(), {.census_warmup = absl::ZeroDuration()});
      if (!registry.ok()) std::abort();
      w->broadcast->push_back(std::move(registry).value());
    }
    bench::RegisterAndKeepRegistered(w->broadcast, [](int r) {
      std::vector<registry::Service> services;
      for (int64_t k : {10, 100, 10000}) {
        const int64_t instances = KvInstances(k);
        registry::Service service{.name = BroadcastServiceOf(k),
                                  .version = "1.0.0"};
        for (int64_t n = r; n < instances; n += kRegistrars) {
          const std::string id = absl::StrCat(service.name, "-", n);
          service.nodes.push_back({.id = id, .address = "_INBOX." + id});
        }
        services.push_back(std::move(service));
      }
      return services;
    });
    for (int64_t k : {10, 100, 10000}) {
      auto kv = registry::NewKvRegistry(w->Connect(), KvOptionsOf(k));
      if (!kv.ok()) {
        std::fprintf(stderr, "bench: %s\n", kv.status().ToString().c_str());
        std::abort();
      }
      registry::Service service{.name = KvServiceOf(k), .version = "1.0.0"};
      for (int64_t n = 0; n < KvInstances(k); ++n) {
        const std::string id = absl::StrCat(service.name, "-", n);
        service.nodes.push_back({.id = id, .address = "_INBOX." + id});
      }
      if (!(*kv)->Register(service).ok()) std::abort();
      w->kv_registrars[k] = std::move(kv).value();
    }
    return w;
  }();
  return *world;
}

// A new broadcast client (census default) on `conn`, once its first
// lookup found all K; the client, kept.
absl::StatusOr<std::unique_ptr<registry::Registry>> BroadcastUntilComplete(
    std::shared_ptr<nats::Connection> conn, int64_t k) {
  auto registry = registry::NewNatsRegistry(std::move(conn));
  if (!registry.ok()) return registry.status();
  const absl::Time deadline = absl::Now() + SetUpLimit();
  while (NodesOf((*registry)->Find(BroadcastServiceOf(k))) !=
         static_cast<size_t>(KvInstances(k))) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("broadcast lookup never complete");
    }
  }
  return std::move(registry).value();
}

// A new KV client on `conn`, once it has all K and knows it; the client.
absl::StatusOr<std::unique_ptr<registry::Registry>> KvUntilComplete(
    std::shared_ptr<nats::Connection> conn, int64_t k) {
  auto registry = registry::NewKvRegistry(std::move(conn), KvOptionsOf(k));
  if (!registry.ok()) return registry.status();
  const absl::Time deadline = absl::Now() + SetUpLimit();
  while (true) {
    auto found = (*registry)->Find(KvServiceOf(k));
    if (found.ok() && found->complete &&
        NodesOf(found) == static_cast<size_t>(KvInstances(k))) {
      return std::move(registry).value();
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "KV client never complete: ", found.status().ToString()));
    }
  }
}

using NewClient =
    std::function<absl::StatusOr<std::unique_ptr<registry::Registry>>(
        std::shared_ptr<nats::Connection>)>;

// One op per round: a new client on a connection made beforehand, timed
// until it has all K (its connection and its closing are not timed).
bench::Side NewClientSide(const KvWorld& world, NewClient make) {
  return [&world, make]() -> absl::StatusOr<bench::Round> {
    std::shared_ptr<nats::Connection> conn = world.Connect();
    const absl::Time start = absl::Now();
    auto client = make(conn);
    const absl::Duration took = absl::Now() - start;
    if (!client.ok()) return client.status();
    return bench::Round{.ops = 1,
                        .p50_us = absl::ToDoubleMicroseconds(took),
                        .per_s = 1 / absl::ToDoubleSeconds(took)};
  };
}

void BM_KvNewClient(benchmark::State& state) {
  KvWorld& world = World();
  const int64_t k = state.range(0);
  bench::Side broadcast =
      NewClientSide(world, [k](std::shared_ptr<nats::Connection> conn) {
        return BroadcastUntilComplete(std::move(conn), k);
      });
  bench::Side kv =
      NewClientSide(world, [k](std::shared_ptr<nats::Connection> conn) {
        return KvUntilComplete(std::move(conn), k);
      });
  bench::PairedOptions options{
      .baseline = "census",
      .figures = bench::kP50,
      .rounds = k >= 10000 ? 10 : 0,
      .label =
          "new client until it has all K: KV / broadcast census "
          "default"};
  if (k == 10000) options.keys = {{"kv_initial_load_ms_10000", "load_ms"}};
  auto result = bench::RunPaired(state, broadcast, kv, options);
  if (!result.ok()) return;
  state.counters["load_ms"] = result->stack_p50_us.median / 1000;
  state.counters["load_ms_q1"] = result->stack_p50_us.q1 / 1000;
  state.counters["load_ms_q3"] = result->stack_p50_us.q3 / 1000;
  state.counters["K"] = static_cast<double>(KvInstances(k));
  // What one loaded replica's client holds (malloc'd, nats.c's too; its
  // connection made before).
  std::shared_ptr<nats::Connection> conn = world.Connect();
  const size_t before = mallinfo2().uordblks;
  auto held = KvUntilComplete(conn, k);
  const size_t after = mallinfo2().uordblks;
  if (held.ok() && after > before) {
    state.counters["replica_kib"] = static_cast<double>(after - before) / 1024;
  }
}

void BM_KvLookup(benchmark::State& state) {
  KvWorld& world = World();
  const int64_t k = state.range(0);
  auto kv = KvUntilComplete(world.Connect(), k);
  auto broadcast = registry::NewNatsRegistry(world.Connect());
  if (!kv.ok() || !broadcast.ok()) {
    state.SkipWithError("set-up failed");
    return;
  }
  const size_t want = static_cast<size_t>(KvInstances(k));
  bench::TimedLoop base_loop, kv_loop;
  int64_t complete = 0, lookups = 0;
  bench::Side base = [&]() {
    return base_loop.Run(bench::RoundTime(), [&] {
      auto found = (*broadcast)->Find(BroadcastServiceOf(k));
      ++lookups;
      if (NodesOf(found) == want) ++complete;
      return found.ok() || absl::IsNotFound(found.status()) ? absl::OkStatus()
                                                            : found.status();
    });
  };
  bench::Side ours = [&]() {
    return kv_loop.Run(bench::RoundTime(), [&] {
      auto found = (*kv)->Find(KvServiceOf(k));
      if (NodesOf(found) != want) {
        return absl::InternalError("a KV lookup missed instances");
      }
      return absl::OkStatus();
    });
  };
  if (!bench::RunPaired(state, base, ours,
                        {.baseline = "census",
                         .figures = bench::kP50 | bench::kRate,
                         .label = "lookup: KV replica (local) / broadcast "
                                  "census default (cold)"})
           .ok()) {
    return;
  }
  state.counters["census_complete_pct"] =
      lookups > 0
          ? 100.0 * static_cast<double>(complete) / static_cast<double>(lookups)
          : 0;
  state.counters["K"] = static_cast<double>(want);
}

// Tells the time each event reached the watcher (NotifyWhenReady).
struct Arrivals {
  std::mutex mu;
  std::condition_variable cv;
  int64_t count = 0;
  absl::Time last;
};

void BM_KvVisible(benchmark::State& state) {
  KvWorld& world = World();
  const int64_t k = state.range(0);
  auto observer = KvUntilComplete(world.Connect(), k);
  if (!observer.ok()) {
    state.SkipWithError(observer.status().ToString().c_str());
    return;
  }
  auto watcher = (*observer)->Watch({.service = KvServiceOf(k)});
  auto arrivals = std::make_shared<Arrivals>();
  if (!watcher.ok() || !(*watcher)->NotifyWhenReady([arrivals] {
        std::lock_guard<std::mutex> lock(arrivals->mu);
        ++arrivals->count;
        arrivals->last = absl::Now();
        arrivals->cv.notify_all();
      })) {
    state.SkipWithError("no watcher");
    return;
  }
  bench::TimedLoop raw_loop;
  bench::Side raw = [&]() {
    return raw_loop.Run(bench::RoundTime(), [&] {
      natsMsg* reply = nullptr;
      natsStatus s = natsConnection_RequestString(
          &reply, world.raw, "bench.kv.echo", "ping", 1000);
      natsMsg_Destroy(reply);
      return s == NATS_OK ? absl::OkStatus()
                          : absl::UnavailableError("raw request failed");
    });
  };
  // The node changed: its metadata carries a counter, so every put is an
  // update event.
  registry::Service service{.name = KvServiceOf(k), .version = "1.0.0"};
  const std::string id = absl::StrCat(service.name, "-0");
  int64_t seq = 0;
  std::vector<double> all_us;
  bench::Side kv = [&]() -> absl::StatusOr<bench::Round> {
    std::vector<double> us;
    const absl::Time end = absl::Now() + bench::RoundTime();
    const absl::Time round_start = absl::Now();
    while (absl::Now() < end || us.empty()) {
      int64_t seen;
      {
        std::lock_guard<std::mutex> lock(arrivals->mu);
        seen = arrivals->count;
      }
      service.nodes = {{.id = id,
                        .address = "_INBOX." + id,
                        .metadata = {{"seq", absl::StrCat(++seq)}}}};
      const absl::Time start = absl::Now();
      if (absl::Status s = world.kv_registrars[k]->Register(service); !s.ok()) {
        return s;
      }
      absl::Time arrived;
      {
        std::unique_lock<std::mutex> lock(arrivals->mu);
        if (!arrivals->cv.wait_for(lock, std::chrono::seconds(5),
                                   [&] { return arrivals->count > seen; })) {
          return absl::DeadlineExceededError("the update never arrived");
        }
        arrived = arrivals->last;
      }
      while ((*watcher)->Next(absl::InfinitePast()).ok()) {
      }
      us.push_back(absl::ToDoubleMicroseconds(arrived - start));
    }
    all_us.insert(all_us.end(), us.begin(), us.end());
    const int64_t ops = static_cast<int64_t>(us.size());
    return bench::Round{
        .ops = ops,
        .p50_us = bench::Quantile(us, 0.5),
        .per_s = static_cast<double>(ops) /
                 absl::ToDoubleSeconds(absl::Now() - round_start)};
  };
  bench::PairedOptions options{
      .baseline = "raw",
      .figures = bench::kP50,
      .label =
          "registration-to-visible at another client: KV / raw nats.c "
          "round trip"};
  if (k == 100) options.keys = {{"kv_visible_p50_vs_raw_rtt", "p50_vs_raw"}};
  if (!bench::RunPaired(state, raw, kv, options).ok()) return;
  state.counters["visible_p50_us"] = bench::Quantile(all_us, 0.5);
  state.counters["visible_p99_us"] = bench::Quantile(all_us, 0.99);
  state.counters["K"] = static_cast<double>(KvInstances(k));
}

BENCHMARK(BM_KvNewClient)
    ->ArgName("K")
    ->Arg(10)
    ->Arg(100)
    ->Arg(10000)
    ->Apply(bench::AsPaired);
BENCHMARK(BM_KvLookup)
    ->ArgName("K")
    ->Arg(10)
    ->Arg(100)
    ->Arg(10000)
    ->Apply(bench::AsPaired);
BENCHMARK(BM_KvVisible)
    ->ArgName("K")
    ->Arg(10)
    ->Arg(100)
    ->Arg(10000)
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
