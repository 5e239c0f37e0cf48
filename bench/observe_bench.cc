// Copyright 2026 The micro-nats Authors.
//
// observe_bench: what observing a call costs (issue 27). A full-stack
// micro-nats Call (typed protobuf, 16 B, client and server services on
// connections of their own, as request_bench's service case) with
// observers on both ends against the same call with none, paired and
// interleaved on one nats-server (paired.h):
//
//   plain      no observer (the default)
//   metrics    metrics::NewMetricsObserver on a Prometheus registry (no
//              HTTP server: nothing scrapes during the rounds)
//   tracing    tracing::NewTracingObserver on a JSON-lines exporter whose
//              output is thrown away: spans are started, carried in
//              traceparent, ended, queued, formatted and written
//   observed   both, as NatsServiceOptions{.metrics, .observer} combine them
//   tracing_noop  the tracing observer on a no-op tracer (ids made and
//              carried, nothing kept): what the exporter's part is
//
// Each stack is its own pair of services ("bench-observe-<side>"). Key
// figure: call_p50_observed_vs_plain_16B_1 (the budget: <= 1.03),
// with rate ratios and allocations per call (stack_allocs_per_op -
// base_allocs_per_op: what the observers allocate per call, both ends).
//
//   bazel run -c opt //bench:observe_bench

#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/callers.h"
#include "bench/echo.pb.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "bench/service_pair.h"
#include "benchmark/benchmark.h"
#include "metrics/prometheus.h"
#include "service/nats/nats_service.h"
#include "tracing/tracer.h"
#include "tracing/tracing_observer.h"

namespace micro_nats {
namespace {

using bench::EchoReply;
using bench::EchoRequest;

// How long a new service may take to be found.
constexpr absl::Duration kFirstCallTimeout = absl::Seconds(30);

enum class Observing { kNone, kMetrics, kTracing, kTracingNoop, kBoth };

const char* SideName(Observing observing) {
  switch (observing) {
    case Observing::kNone:
      return "plain";
    case Observing::kMetrics:
      return "metrics";
    case Observing::kTracing:
      return "tracing";
    case Observing::kTracingNoop:
      return "tracing_noop";
    case Observing::kBoth:
      return "observed";
  }
  return "";
}

// A sink that takes every byte and keeps none: the exporter formats and
// writes each span, and nothing piles up.
class DiscardBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

std::ostream* DiscardStream() {
  static auto* const stream = new std::ostream(new DiscardBuffer);
  return stream;
}

// Sets `options` up to observe as `observing` says.
void Observe(Observing observing, service::NatsServiceOptions& options) {
  if (observing == Observing::kMetrics || observing == Observing::kBoth) {
    options.metrics = metrics::NewPrometheusMetrics();
  }
  if (observing == Observing::kTracingNoop) {
    options.observer = tracing::NewTracingObserver(tracing::NewNoopTracer());
  }
  if (observing == Observing::kTracing || observing == Observing::kBoth) {
    options.observer = tracing::NewTracingObserver(
        tracing::NewJsonLinesTracer(DiscardStream()));
  }
}

// 16 B on the wire: a tag byte and a length byte before the body.
EchoRequest Request16() {
  EchoRequest request;
  request.set_body(std::string(14, 'x'));
  return request;
}

// CallerGroup's fixture: an echo service and its caller, observed as
// kObserving says on both ends.
template <Observing kObserving>
class EchoStack {
 public:
  class Caller {
   public:
    Caller(const std::string* service, service::Service* caller,
           const EchoRequest* request)
        : service_(service), caller_(caller), request_(request) {}
    absl::Status Call() {
      auto reply = caller_->client().Call<EchoRequest, EchoReply>(
          *service_, "Echo.Call", *request_);
      if (!reply.ok()) return reply.status();
      return reply->body().size() == request_->body().size()
                 ? absl::OkStatus()
                 : absl::DataLossError("the echo is not the request");
    }

   private:
    const std::string* const service_;
    service::Service* const caller_;
    const EchoRequest* const request_;
  };

  static absl::StatusOr<std::unique_ptr<EchoStack>> Start(int64_t) {
    auto stack = std::unique_ptr<EchoStack>(new EchoStack());
    service::NatsServiceOptions server_options{
        .servers = {bench::ServerUrl()}, .identity = {.name = stack->name_}};
    service::NatsServiceOptions caller_options{
        .servers = {bench::ServerUrl()},
        .identity = {.name = stack->name_ + "-caller"}};
    if (bench::SmokeRun()) {
      // As ServicePair: a slow first lookup under a sanitizer.
      caller_options.registry.timeout = absl::Seconds(2);
      caller_options.registry.idle_gap = absl::Milliseconds(100);
    }
    Observe(kObserving, server_options);
    Observe(kObserving, caller_options);
    auto server = service::NewNatsService(std::move(server_options));
    if (!server.ok()) return server.status();
    auto caller = service::NewNatsService(std::move(caller_options));
    if (!caller.ok()) return caller.status();
    // ServicePair's members: it stops the server when it goes.
    stack->services_.server = std::move(server).value();
    stack->services_.caller = std::move(caller).value();
    service::Server& served = stack->services_.server->server();
    if (absl::Status handled = served.Handle<EchoRequest, EchoReply>(
            "Echo.Call",
            [](service::Context&, const EchoRequest& request,
               EchoReply* reply) {
              reply->set_body(request.body());
              return absl::OkStatus();
            });
        !handled.ok()) {
      return handled;
    }
    if (absl::Status started = stack->services_.server->Start();
        !started.ok()) {
      return started;
    }
    // Looks the service up and opens a socket: callers start warm.
    Caller first(&stack->name_, stack->services_.caller.get(),
                 &stack->request_);
    absl::Status called = bench::UntilFound(absl::Now() + kFirstCallTimeout,
                                            [&first] { return first.Call(); });
    if (!called.ok()) return called;
    return stack;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(&name_, services_.caller.get(), &request_);
  }

 private:
  EchoStack()
      : name_(absl::StrCat("bench-observe-", SideName(kObserving))),
        request_(Request16()) {}

  const std::string name_;
  const EchoRequest request_;
  bench::ServicePair services_;
};

// `kObserving` against plain calls, alternating rounds of range(0)
// callers; `key` names the key figure it gives (none when empty).
template <Observing kObserving>
void BM_PairedObserve(benchmark::State& state, const std::string& key) {
  const int callers = static_cast<int>(state.range(0));
  auto plain =
      bench::CallerGroup<EchoStack<Observing::kNone>>::Start(16, callers);
  if (!plain.ok()) {
    state.SkipWithError(plain.status().ToString().c_str());
    return;
  }
  auto observed = bench::CallerGroup<EchoStack<kObserving>>::Start(16, callers);
  if (!observed.ok()) {
    state.SkipWithError(observed.status().ToString().c_str());
    return;
  }
  const absl::Duration round =
      bench::RoundTime(absl::Milliseconds(callers == 1 ? 50 : 100));
  std::vector<std::pair<std::string, std::string>> keys;
  if (!key.empty()) keys.push_back({key, "p50_vs_plain"});
  bench::RunPaired(
      state, [&] { return (*plain)->RunRound(round); },
      [&] { return (*observed)->RunRound(round); },
      {.baseline = "plain",
       .keys = std::move(keys),
       .label = absl::StrCat(SideName(kObserving), " vs plain, 16 B")})
      .IgnoreError();  // reported by RunPaired
}

template <Observing kObserving>
void Register(int callers, const std::string& key = "") {
  benchmark::RegisterBenchmark(
      absl::StrCat("BM_PairedObserve/", SideName(kObserving), "_vs_plain")
          .c_str(),
      [key](benchmark::State& state) {
        BM_PairedObserve<kObserving>(state, key);
      })
      ->ArgName("callers")
      ->Arg(callers)
      ->Apply(bench::AsPaired);
}

const bool registered = [] {
  // The figure, then where it goes: each observer alone, and the
  // rate with callers in parallel.
  Register<Observing::kBoth>(1, "call_p50_observed_vs_plain_16B_1");
  Register<Observing::kMetrics>(1);
  Register<Observing::kTracing>(1);
  Register<Observing::kTracingNoop>(1);
  Register<Observing::kBoth>(16);
  return true;
}();

}  // namespace
}  // namespace micro_nats
