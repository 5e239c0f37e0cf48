// Copyright 2026 The micro-nats Authors.
//
// service_bench: a full-stack service Call (typed protobuf, client and
// server on separate connections, sockets warm) against raw nats.c
// request/reply on the same server, and the memory stack's Call against the
// cost of the protobuf encoding and decoding such a call does, at a 16-byte
// and a 1 KiB request.
//
//   bazel run -c opt //bench:service_bench -- --benchmark_min_time=1

#include <nats/nats.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "examples/greeter/greeter.pb.h"
#include "service/memory/memory_service.h"
#include "service/nats/nats_service.h"

namespace micro_nats {
namespace {

using greeter::HelloReply;
using greeter::HelloRequest;
using service::Context;
using service::Service;

// A request whose encoding is `bytes` long (16 or 1024).
HelloRequest RequestOf(int64_t bytes) {
  HelloRequest request;
  // One tag byte and a one- or two-byte length precede the name.
  request.set_name(std::string(bytes - (bytes < 130 ? 2 : 3), 'x'));
  return request;
}

absl::Status Echo(Context&, const HelloRequest& request, HelloReply* reply) {
  reply->set_message(request.name());
  return absl::OkStatus();
}

std::string Key(const char* what, int64_t bytes) {
  return absl::StrCat(what, "/", bytes);
}

// Baseline: nats.c request/reply of the encoded request, send-asap
// responder (as our server answers).
void BM_RawNatsRequestReply(benchmark::State& state) {
  natsConnection* responder = bench::RawConnect(true);
  natsConnection* requester = bench::RawConnect(false);
  natsSubscription* sub = nullptr;
  if (responder == nullptr || requester == nullptr ||
      natsConnection_Subscribe(&sub, responder, "bench.raw.call",
                               bench::RawEchoReply, nullptr) != NATS_OK) {
    state.SkipWithError("raw nats setup failed");
    return;
  }
  natsConnection_Flush(responder);
  const bench::Percentiles raw =
      bench::RunRawRequests(state, requester, "bench.raw.call",
                            RequestOf(state.range(0)).SerializeAsString());
  bench::RecordBaseline(Key("call_p50", state.range(0)), raw.p50_us);
  bench::RecordBaseline(Key("call_p99", state.range(0)), raw.p99_us);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(requester);
  natsConnection_Destroy(responder);
}
BENCHMARK(BM_RawNatsRequestReply)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->UseRealTime();

// The measured loop of both stacks: one typed Call per iteration.
bench::Percentiles RunCalls(benchmark::State& state, Service& caller) {
  const HelloRequest request = RequestOf(state.range(0));
  auto call = [&] {
    return caller.client().Call<HelloRequest, HelloReply>("bench-echo",
                                                          "Echo.Call", request);
  };
  if (!call().ok()) {  // looks up and warms a socket
    state.SkipWithError("the first call failed");
    return {};
  }
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::StatusOr<HelloReply> reply = call();
    latency.Add(absl::Now() - start);
    if (!reply.ok()) {
      state.SkipWithError(reply.status().ToString().c_str());
      break;
    }
  }
  return latency.Report(state);
}

absl::Status StartEcho(Service& server) {
  absl::Status handled =
      server.server().Handle<HelloRequest, HelloReply>("Echo.Call", Echo);
  return handled.ok() ? server.Start() : handled;
}

// Arg 1 (inline): handlers run on the NATS delivery thread
// (ServerOptions::inline_handlers), for handlers that never block.
void BM_NatsServiceCall(benchmark::State& state) {
  auto server = service::NewNatsService(
      {.servers = {bench::ServerUrl()},
       .name = "bench-echo",
       .server = {.inline_handlers = state.range(1) == 1}});
  auto caller = service::NewNatsService(
      {.servers = {bench::ServerUrl()}, .name = "bench-caller"});
  if (!server.ok() || !caller.ok() || !StartEcho(**server).ok()) {
    state.SkipWithError("service setup failed");
    return;
  }
  const bench::Percentiles ours = RunCalls(state, **caller);
  bench::ReportVsBaseline(state, "p50_vs_raw", ours.p50_us,
                          Key("call_p50", state.range(0)));
  bench::ReportVsBaseline(state, "p99_vs_raw", ours.p99_us,
                          Key("call_p99", state.range(0)));
}
BENCHMARK(BM_NatsServiceCall)
    ->ArgNames({"bytes", "inline"})
    ->ArgsProduct({{16, 1024}, {0, 1}})
    ->UseRealTime();

// Baseline of the memory stack: what a call encodes and decodes (request
// and reply, once each way), per iteration.
void BM_EncodeDecode(benchmark::State& state) {
  const HelloRequest request = RequestOf(state.range(0));
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    HelloRequest decoded;
    decoded.ParseFromString(request.SerializeAsString());
    HelloReply reply;
    reply.set_message(decoded.name());
    HelloReply back;
    back.ParseFromString(reply.SerializeAsString());
    benchmark::DoNotOptimize(back);
    latency.Add(absl::Now() - start);
  }
  const bench::Percentiles codec = latency.Report(state);
  bench::RecordBaseline(Key("codec_p50", state.range(0)), codec.p50_us);
}
BENCHMARK(BM_EncodeDecode)->ArgName("bytes")->Arg(16)->Arg(1024)->UseRealTime();

void BM_MemoryServiceCall(benchmark::State& state) {
  auto network = service::NewMemoryNetwork();
  auto server =
      service::NewMemoryService({.name = "bench-echo", .network = network});
  auto caller =
      service::NewMemoryService({.name = "bench-caller", .network = network});
  if (!server.ok() || !caller.ok() || !StartEcho(**server).ok()) {
    state.SkipWithError("service setup failed");
    return;
  }
  const bench::Percentiles ours = RunCalls(state, **caller);
  bench::ReportVsBaseline(state, "p50_vs_codec", ours.p50_us,
                          Key("codec_p50", state.range(0)));
}
BENCHMARK(BM_MemoryServiceCall)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
