// Copyright 2026 The micro-nats Authors.
//
// service_bench: a full-stack service Call (typed protobuf, client and
// server on separate connections, sockets warm) against raw nats.c
// request/reply on the same server, and the memory stack's Call against the
// cost of the protobuf encoding and decoding such a call does, at a 16-byte
// and a 1 KiB request. Each pair runs side by side, alternating in short
// rounds (paired.h): p50_vs_raw and p50_vs_codec are medians of per-round
// ratios with their quartiles; stack_p50_us of the memory stack is the key
// figure memory_call_p50_us_16B.
//
//   bazel run -c opt //bench:service_bench

#include <nats/nats.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
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

absl::Status StartEcho(Service& server) {
  absl::Status handled =
      server.server().Handle<HelloRequest, HelloReply>("Echo.Call", Echo);
  return handled.ok() ? server.Start() : handled;
}

// The first Call from `caller`: looks bench-echo up and warms a socket.
// Until the registration is heard (slow under sanitizers on a busy
// machine) the lookup finds nothing: asked again, for up to 30 s.
absl::Status FirstCall(Service& caller, const HelloRequest& request) {
  auto call = [&] {
    return caller.client()
        .Call<HelloRequest, HelloReply>("bench-echo", "Echo.Call", request)
        .status();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::Status called = call();
  while (absl::IsNotFound(called) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    called = call();
  }
  return called;
}

// A side of typed Calls from `caller` to bench-echo, one at a time.
bench::Side CallSide(Service& caller, const HelloRequest& request,
                     bench::TimedLoop& loop, absl::Duration round) {
  return [&caller, &request, &loop, round]() {
    return loop.Run(round, [&] {
      return caller.client()
          .Call<HelloRequest, HelloReply>("bench-echo", "Echo.Call", request)
          .status();
    });
  };
}

// Raw nats.c request/reply of the encoded request to a send-asap responder
// (as our server answers), paired with a NATS service Call. Arg inline 1:
// handlers run on the NATS delivery thread
// (ServerOptions::listen.inline_handlers), for handlers that never block.
void BM_PairedServiceCall(benchmark::State& state) {
  const HelloRequest request = RequestOf(state.range(0));
  const std::string encoded = request.SerializeAsString();
  natsConnection* responder = bench::RawConnect(true);
  natsConnection* requester = bench::RawConnect(false);
  natsSubscription* sub = nullptr;
  auto server = service::NewNatsService(
      {.servers = {bench::ServerUrl()},
       .identity = {.name = "bench-echo"},
       .server = {.listen = {.inline_handlers = state.range(1) == 1}}});
  auto caller = service::NewNatsService(
      {.servers = {bench::ServerUrl()}, .identity = {.name = "bench-caller"}});
  if (responder == nullptr || requester == nullptr ||
      natsConnection_Subscribe(&sub, responder, "bench.raw.call",
                               bench::RawEchoReply, nullptr) != NATS_OK ||
      natsConnection_Flush(responder) != NATS_OK) {
    state.SkipWithError("raw nats setup failed");
  } else if (!server.ok() || !caller.ok() || !StartEcho(**server).ok()) {
    state.SkipWithError("service setup failed");
  } else if (absl::Status first = FirstCall(**caller, request); !first.ok()) {
    state.SkipWithError(first.ToString().c_str());
  } else {
    const absl::Duration round = bench::RoundTime();
    bench::TimedLoop raw_loop, our_loop;
    bench::Side raw = [&]() {
      return raw_loop.Run(round, [&] {
        natsMsg* reply = nullptr;
        const natsStatus s = natsConnection_Request(
            &reply, requester, "bench.raw.call", encoded.data(),
            static_cast<int>(encoded.size()), 5000);
        natsMsg_Destroy(reply);
        return s == NATS_OK ? absl::OkStatus()
                            : absl::UnavailableError("nats.c request failed");
      });
    };
    bench::RunPaired(state, raw, CallSide(**caller, request, our_loop, round),
                     {.baseline = "raw", .figures = bench::kP50})
        .IgnoreError();  // reported by RunPaired
  }
  if (server.ok())
    (*server)->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(requester);
  natsConnection_Destroy(responder);
}
BENCHMARK(BM_PairedServiceCall)
    ->ArgNames({"bytes", "inline"})
    ->ArgsProduct({{16, 1024}, {0, 1}})
    ->Apply(bench::AsPaired);

// The memory stack's Call, paired with what such a call encodes and
// decodes (request and reply, once each way) per op: p50_vs_codec, and its
// own p50 (stack_p50_us) as a key figure.
void BM_PairedMemoryCall(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  const HelloRequest request = RequestOf(bytes);
  auto network = service::NewMemoryNetwork();
  auto server = service::NewMemoryService(
      {.identity = {.name = "bench-echo"}, .network = network});
  auto caller = service::NewMemoryService(
      {.identity = {.name = "bench-caller"}, .network = network});
  if (!server.ok() || !caller.ok() || !StartEcho(**server).ok()) {
    state.SkipWithError("service setup failed");
    return;
  }
  if (absl::Status first = FirstCall(**caller, request); !first.ok()) {
    state.SkipWithError(first.ToString().c_str());
    return;
  }
  const absl::Duration round = bench::RoundTime();
  bench::TimedLoop codec_loop, our_loop;
  bench::Side codec = [&]() {
    return codec_loop.Run(round, [&] {
      HelloRequest decoded;
      decoded.ParseFromString(request.SerializeAsString());
      HelloReply reply;
      reply.set_message(decoded.name());
      HelloReply back;
      back.ParseFromString(reply.SerializeAsString());
      benchmark::DoNotOptimize(back);
      return absl::OkStatus();
    });
  };
  std::vector<std::pair<std::string, std::string>> keys;
  if (bytes == 16) keys.push_back({"memory_call_p50_us_16B", "stack_p50_us"});
  bench::RunPaired(
      state, codec, CallSide(**caller, request, our_loop, round),
      {.baseline = "codec", .figures = bench::kP50, .keys = std::move(keys)})
      .IgnoreError();  // reported by RunPaired
  (*server)->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
}
BENCHMARK(BM_PairedMemoryCall)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
