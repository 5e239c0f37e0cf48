// Copyright 2026 The micro-nats Authors.
//
// resilience_bench: calls to a service of three instances on one
// nats-server, one of them slow, by selection policy (issue 26).
//
// The slow instance's handler sleeps before answering, while a healthy one
// answers at once: 9x the p50 of a first all-healthy round, so its calls
// take ~10x a healthy call's whatever the machine and its load (a quiet
// 2-core machine: ~0.2 ms healthy, ~2 ms slow). Callers (4 threads, one client)
// call in rounds; BM_SlowNode interleaves, round by round:
//
//   healthy         all three healthy, round robin: the reference
//   round_robin     the slow node on, round robin (today's default)
//   latency_aware   the slow node on, NewLatencyAwareSelector
//   hedged          the slow node on, latency-aware + HedgePolicy (after the
//                   endpoint's p95, 1 ms before it has one); while the
//                   client does not hedge (ClientStats::hedges stays 0) the
//                   side is left out and the label says so
//
// each side first in turn, after an uncounted warm-up round of each (where
// the latency-aware selectors learn). Counters, per policy side S:
// S_p50_us, S_p99_us (over every counted call of the side), S_p50_vs_healthy
// and S_p99_vs_healthy (medians of per-round ratios, with _q1/_q3); and the
// key figure slow_node_p99_vs_healthy: the best policy's p99_vs_healthy.
//
// BM_PairedHealthySelection pairs latency-aware with round robin on three
// healthy instances (p50 and rate, paired.h): whether latency-aware can be
// the client's default.
//
//   bazel run -c opt //bench:resilience_bench -- --benchmark_filter=SlowNode

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/callers.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "examples/greeter/greeter.pb.h"
#include "service/client.h"
#include "service/nats/nats_service.h"
#include "service/selector.h"

namespace micro_nats {
namespace {

using greeter::HelloReply;
using greeter::HelloRequest;

constexpr char kService[] = "bench-resilience";
constexpr int kInstances = 3;
// What the slow instance adds to each call, in healthy p50s.
constexpr int kSlowFactor = 9;

// The call CallerGroup's callers make this round; set between rounds
// (RunRound's lock publishes it to them).
struct RoundOp {
  std::function<absl::Status()> call;
};

// CallerGroup's fixture: every caller makes the round's call.
struct OpFixture {
  // The RoundOp the next Start hands its callers.
  static RoundOp*& Pending() {
    static RoundOp* op = nullptr;
    return op;
  }
  static absl::StatusOr<std::unique_ptr<OpFixture>> Start(int64_t) {
    auto fixture = std::make_unique<OpFixture>();
    fixture->op = Pending();
    return fixture;
  }
  struct Caller {
    RoundOp* op;
    absl::Status Call() { return op->call(); }
  };
  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(Caller{op});
  }
  RoundOp* op = nullptr;
};

// Three instances of kService (each answering with its index) and a
// caller; instance kInstances - 1 sleeps SetSlow's extra while slow.
class Instances {
 public:
  static absl::StatusOr<std::unique_ptr<Instances>> Start() {
    auto instances = std::unique_ptr<Instances>(new Instances);
    for (int i = 0; i < kInstances; ++i) {
      auto server = service::NewNatsService(
          {.servers = {bench::ServerUrl()}, .identity = {.name = kService}});
      if (!server.ok()) return server.status();
      const bool slowable = i == kInstances - 1;
      std::atomic<int64_t>* slow = &instances->slow_ns_;
      absl::Status handled =
          (*server)->server().Handle<HelloRequest, HelloReply>(
              "Echo.Call", [i, slowable, slow](service::Context&,
                                               const HelloRequest& request,
                                               HelloReply* reply) {
                if (slowable) {
                  const int64_t extra = slow->load(std::memory_order_relaxed);
                  if (extra > 0) absl::SleepFor(absl::Nanoseconds(extra));
                }
                reply->set_message(absl::StrCat(i, request.name()));
                return absl::OkStatus();
              });
      if (!handled.ok()) return handled;
      if (absl::Status started = (*server)->Start(); !started.ok()) {
        return started;
      }
      instances->servers_.push_back(std::move(server).value());
    }
    auto caller = service::NewNatsService(
        {.servers = {bench::ServerUrl()},
         .identity = {.name = "bench-resilience-caller"}});
    if (!caller.ok()) return caller.status();
    instances->caller_ = std::move(caller).value();
    if (absl::Status all = instances->UntilAllAnswer(); !all.ok()) return all;
    return instances;
  }

  ~Instances() {
    for (auto& server : servers_) {
      server->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
    }
  }

  // The slow instance adds `extra` to each call (zero: healthy).
  void SetSlow(absl::Duration extra) {
    slow_ns_.store(absl::ToInt64Nanoseconds(extra), std::memory_order_relaxed);
  }

  // One call; counts it in `*slow_answers` when the slow instance answered.
  absl::Status Call(const service::CallOptions& options,
                    std::atomic<int64_t>* slow_answers = nullptr) {
    auto reply = caller_->client().Call<HelloRequest, HelloReply>(
        kService, "Echo.Call", request_, options);
    if (!reply.ok()) return reply.status();
    if (slow_answers != nullptr && !reply->message().empty() &&
        reply->message()[0] == '0' + (kInstances - 1)) {
      slow_answers->fetch_add(1, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  service::Client& client() { return caller_->client(); }

 private:
  Instances() { request_.set_name("0123456789abcd"); }  // 16 B encoded

  // Until round robin reaches every instance (the registrations heard),
  // up to 30 s.
  absl::Status UntilAllAnswer() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    auto round_robin = service::NewRoundRobinSelector();
    std::set<char> answered;
    absl::Status last;
    while (absl::Now() < deadline) {
      auto reply = caller_->client().Call<HelloRequest, HelloReply>(
          kService, "Echo.Call", request_, {.selector = round_robin});
      if (reply.ok()) {
        answered.insert(reply->message()[0]);
        if (answered.size() == kInstances) return absl::OkStatus();
      } else if (!absl::IsNotFound(reply.status())) {
        return reply.status();
      } else {
        absl::SleepFor(absl::Milliseconds(20));
      }
      last = reply.status();
    }
    return absl::DeadlineExceededError(
        absl::StrCat("only ", answered.size(), " of ", kInstances,
                     " instances answered in 30 s; last: ", last.ToString()));
  }

  std::atomic<int64_t> slow_ns_{0};
  HelloRequest request_;
  std::vector<std::unique_ptr<service::Service>> servers_;
  std::unique_ptr<service::Service> caller_;
};

// The q-quantile of a round's latencies, in µs (reorders them).
double QuantileUs(std::vector<absl::Duration>& samples, double q) {
  if (samples.empty()) return 0;
  const size_t at =
      std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  std::nth_element(samples.begin(), samples.begin() + at, samples.end());
  return absl::ToDoubleMicroseconds(samples[at]);
}

// One side of BM_SlowNode: how its calls are made, and what its rounds
// measured.
struct PolicySide {
  std::string name;
  bool slow = true;  // the slow instance on during its rounds
  service::CallOptions options;
  bool skipped = false;
  std::vector<double> p50_us, p99_us;    // per counted round
  std::vector<absl::Duration> all;       // every counted call
  std::atomic<int64_t> slow_answers{0};  // calls the slow instance answered
  int64_t calls = 0, hedges = 0, hedge_wins = 0;  // counted rounds
};

// The instances and `callers` callers making the round's call (`op`).
struct Setup {
  static absl::StatusOr<std::unique_ptr<Setup>> Start(int callers) {
    auto setup = std::make_unique<Setup>();
    auto instances = Instances::Start();
    if (!instances.ok()) return instances.status();
    setup->instances = std::move(instances).value();
    OpFixture::Pending() = &setup->op;
    auto group = bench::CallerGroup<OpFixture>::Start(0, callers);
    if (!group.ok()) return group.status();
    setup->group = std::move(group).value();
    return setup;
  }
  // Start(state's callers argument), or null after SkipWithError.
  static std::unique_ptr<Setup> StartFor(benchmark::State& state) {
    auto setup = Start(static_cast<int>(state.range(0)));
    if (setup.ok()) return std::move(setup).value();
    state.SkipWithError(setup.status().ToString().c_str());
    return nullptr;
  }

  std::unique_ptr<Instances> instances;
  RoundOp op;
  // Last: destroyed first, so its callers stop before the instances go.
  std::unique_ptr<bench::CallerGroup<OpFixture>> group;
};

void BM_SlowNode(benchmark::State& state) {
  std::unique_ptr<Setup> setup = Setup::StartFor(state);
  if (setup == nullptr) return;
  Instances& nodes = *setup->instances;
  RoundOp& op = setup->op;
  bench::CallerGroup<OpFixture>& group = *setup->group;
  service::HedgePolicy hedge{.delay = absl::Milliseconds(1), .after_p95 = true};
  std::vector<PolicySide> sides(4);
  sides[0].name = "healthy";
  sides[0].slow = false;
  sides[0].options.selector = service::NewRoundRobinSelector();
  sides[1].name = "round_robin";
  sides[1].options.selector = service::NewRoundRobinSelector();
  sides[2].name = "latency_aware";
  sides[2].options.selector = service::NewLatencyAwareSelector();
  sides[3].name = "hedged";
  sides[3].options.selector = service::NewLatencyAwareSelector();
  sides[3].options.idempotent = true;
  sides[3].options.hedge = hedge;

  const absl::Duration round = bench::RoundTime(absl::Milliseconds(100));
  const int rounds = bench::GetPairedFlags().rounds;
  // The slow instance's extra: kSlowFactor x an all-healthy round's p50.
  op.call = [&nodes, &sides] { return nodes.Call(sides[0].options); };
  absl::StatusOr<bench::Round> calibration = group.RunRound(round);
  if (!calibration.ok()) {
    state.SkipWithError(calibration.status().ToString().c_str());
    return;
  }
  const absl::Duration slow_extra =
      kSlowFactor * absl::Microseconds(calibration->p50_us);
  absl::Status failed;
  for (auto _ : state) {
    // Round -1 warms every side up (the selectors learn) and is not
    // counted.
    for (int r = -1; r < rounds && failed.ok(); ++r) {
      for (size_t k = 0; k < sides.size() && failed.ok(); ++k) {
        PolicySide& side = sides[(k + std::max(r, 0)) % sides.size()];
        if (side.skipped) continue;
        const service::ClientStats before = nodes.client().stats();
        const int64_t slow_before = side.slow_answers.load();
        nodes.SetSlow(side.slow ? slow_extra : absl::ZeroDuration());
        op.call = [&nodes, &side] {
          return nodes.Call(side.options, &side.slow_answers);
        };
        absl::StatusOr<bench::Round> measured = group.RunRound(round);
        const service::ClientStats after = nodes.client().stats();
        if (!measured.ok()) {
          failed = absl::Status(
              measured.status().code(),
              absl::StrCat(side.name, ": ", measured.status().message()));
          break;
        }
        if (side.options.hedge.has_value() && r < 0 &&
            after.hedges == before.hedges) {
          side.skipped = true;  // the client does not hedge yet
          continue;
        }
        if (r < 0) {
          side.slow_answers.store(slow_before);  // the warm-up's not counted
          continue;
        }
        side.calls += measured->ops;
        side.hedges += after.hedges - before.hedges;
        side.hedge_wins += after.hedge_wins - before.hedge_wins;
        std::vector<absl::Duration> samples = group.samples();
        side.all.insert(side.all.end(), samples.begin(), samples.end());
        side.p50_us.push_back(QuantileUs(samples, 0.5));
        side.p99_us.push_back(QuantileUs(samples, 0.99));
      }
    }
  }
  nodes.SetSlow(absl::ZeroDuration());
  if (!failed.ok()) {
    state.SkipWithError(failed.ToString().c_str());
    return;
  }
  const PolicySide& healthy = sides[0];
  std::string best;
  bench::Spread best_p99;
  std::string label;
  for (PolicySide& side : sides) {
    if (side.skipped) {
      absl::StrAppend(&label, " ", side.name,
                      ":not_run(the_client_does_not_hedge)");
      continue;
    }
    state.counters[side.name + "_p50_us"] = QuantileUs(side.all, 0.5);
    state.counters[side.name + "_p99_us"] = QuantileUs(side.all, 0.99);
    if (side.calls > 0) {
      const double calls = static_cast<double>(side.calls);
      if (side.slow) {
        state.counters[side.name + "_slow_share"] =
            static_cast<double>(side.slow_answers.load()) / calls;
      }
      if (side.options.hedge.has_value()) {
        state.counters[side.name + "_hedges_per_call"] =
            static_cast<double>(side.hedges) / calls;
        state.counters[side.name + "_hedge_wins_per_call"] =
            static_cast<double>(side.hedge_wins) / calls;
      }
    }
    if (&side == &healthy) continue;
    std::vector<double> p50_ratios, p99_ratios;
    for (size_t i = 0; i < side.p50_us.size(); ++i) {
      if (healthy.p50_us[i] > 0) {
        p50_ratios.push_back(side.p50_us[i] / healthy.p50_us[i]);
      }
      if (healthy.p99_us[i] > 0) {
        p99_ratios.push_back(side.p99_us[i] / healthy.p99_us[i]);
      }
    }
    const bench::Spread p50 = bench::SpreadOf(p50_ratios);
    const bench::Spread p99 = bench::SpreadOf(p99_ratios);
    bench::internal::SetSpread(state, side.name + "_p50_vs_healthy", p50);
    bench::internal::SetSpread(state, side.name + "_p99_vs_healthy", p99);
    if (best.empty() || p99.median < best_p99.median) {
      best = side.name;
      best_p99 = p99;
    }
  }
  bench::internal::SetSpread(state, "best_p99_vs_healthy", best_p99);
  state.counters["rounds"] = static_cast<double>(healthy.p50_us.size());
  state.counters["slow_extra_us"] = absl::ToDoubleMicroseconds(slow_extra);
  state.counters["calibration_p50_us"] = calibration->p50_us;
  state.SetLabel(absl::StrCat(
      "key:slow_node_p99_vs_healthy=best_p99_vs_healthy best:", best, label));
}
BENCHMARK(BM_SlowNode)->ArgName("callers")->Arg(4)->Apply(bench::AsPaired);

// Latency-aware against round robin with every instance healthy: p50 and
// rate, paired.
void BM_PairedHealthySelection(benchmark::State& state) {
  std::unique_ptr<Setup> setup = Setup::StartFor(state);
  if (setup == nullptr) return;
  Instances& nodes = *setup->instances;
  RoundOp& op = setup->op;
  bench::CallerGroup<OpFixture>& group = *setup->group;
  const service::CallOptions round_robin = {
      .selector = service::NewRoundRobinSelector()};
  const service::CallOptions latency_aware = {
      .selector = service::NewLatencyAwareSelector()};
  const absl::Duration round = bench::RoundTime();
  auto side = [&](const service::CallOptions& options) -> bench::Side {
    return [&nodes, &op, &group, &options, round] {
      op.call = [&nodes, &options] { return nodes.Call(options); };
      return group.RunRound(round);
    };
  };
  bench::RunPaired(state, side(round_robin), side(latency_aware),
                   {.baseline = "round_robin",
                    .figures = bench::kP50 | bench::kRate,
                    .label = "latency_aware_vs_round_robin_healthy"})
      .IgnoreError();  // reported by RunPaired
}
// 16 and 64 callers: where the selector's one mutex (taken three times a
// call) would show.
BENCHMARK(BM_PairedHealthySelection)
    ->ArgName("callers")
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
