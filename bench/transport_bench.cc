// Copyright 2026 The micro-nats Authors.
//
// transport_bench: echo round trips over the NATS transport next to raw
// nats.c request/reply on the same server in the same run, as p50/p90/p99.
//
//   bazel run -c opt //bench:transport_bench -- --benchmark_min_time=1
//
// The raw baseline runs twice: with nats.c's default options on the
// responder (its replies wait for the flusher) and with send-asap (what the
// transport's shared connection uses). p50_vs_raw and p99_vs_raw are the
// transport's latencies over the send-asap baseline's.
//
// The transport runs with each listener style (a blocking Accept handler
// per socket, or AcceptMessages on the listener's pool), and a cold call
// (Dial, one echo) with and without the open/open-ack handshake.

#include <nats/nats.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats {
namespace {

// Baseline: nats.c request/reply, responder with default options (arg 0)
// or send-asap (arg 1).
void BM_RawNatsRequestReply(benchmark::State& state) {
  natsConnection* responder = bench::RawConnect(state.range(0) == 1);
  natsConnection* requester = bench::RawConnect(false);
  natsSubscription* sub = nullptr;
  if (responder == nullptr || requester == nullptr ||
      natsConnection_Subscribe(&sub, responder, "bench.raw.echo",
                               bench::RawEchoReply, nullptr) != NATS_OK) {
    state.SkipWithError("raw nats setup failed");
    return;
  }
  natsConnection_Flush(responder);
  const bench::Percentiles raw = bench::RunRawRequests(
      state, requester, "bench.raw.echo", std::string(16, 'x'));
  if (state.range(0) == 1) {  // the transport's like: replies sent at once
    bench::RecordBaseline("echo/p50", raw.p50_us);
    bench::RecordBaseline("echo/p99", raw.p99_us);
  }
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(requester);
  natsConnection_Destroy(responder);
}
BENCHMARK(BM_RawNatsRequestReply)
    ->ArgName("send_asap")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();

// An echo listener in the blocking style (arg 0: a handler parked in Recv
// per socket) or the message style (arg 1: AcceptMessages, a pool thread
// per message); null after reporting an error.
std::unique_ptr<transport::Listener> EchoListener(benchmark::State& state,
                                                  transport::Transport& server,
                                                  bool messages) {
  auto listener = server.Listen("");
  if (!listener.ok()) {
    state.SkipWithError("listen failed");
    return nullptr;
  }
  absl::Status accepted =
      messages
          ? (*listener)->AcceptMessages(
                [](const std::shared_ptr<transport::Socket>& socket,
                   transport::Message message) {
                  socket->Send(message).IgnoreError();
                })
          : (*listener)->Accept([](std::unique_ptr<transport::Socket> socket) {
              while (true) {
                auto m = socket->Recv(absl::InfiniteFuture());
                if (!m.ok() || !socket->Send(*m).ok()) return;
              }
            });
  if (!accepted.ok()) {
    state.SkipWithError("accept failed");
    return nullptr;
  }
  return std::move(listener).value();
}

// The transport: one socket, Send then Recv of a 16-byte echo; server and
// client on separate connections, as separate processes.
void BM_TransportEcho(benchmark::State& state) {
  auto server_transport = transport::NewNatsTransport(bench::Connect()).value();
  auto client_transport = transport::NewNatsTransport(bench::Connect()).value();
  auto listener =
      EchoListener(state, *server_transport, /*messages=*/state.range(0) == 1);
  if (listener == nullptr) return;
  auto socket = client_transport->Dial(listener->Address());
  if (!socket.ok()) {
    state.SkipWithError("dial failed");
    return;
  }
  const transport::Message message{.body = std::string(16, 'x')};
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    absl::Time start = absl::Now();
    absl::Status sent = (*socket)->Send(message);
    auto reply = (*socket)->Recv(start + absl::Seconds(5));
    latency.Add(absl::Now() - start);
    if (!sent.ok() || !reply.ok()) {
      state.SkipWithError("echo failed");
      break;
    }
  }
  const bench::Percentiles ours = latency.Report(state);
  bench::ReportVsBaseline(state, "p50_vs_raw", ours.p50_us, "echo/p50");
  bench::ReportVsBaseline(state, "p99_vs_raw", ours.p99_us, "echo/p99");
  (*socket)->Close().IgnoreError();
}
BENCHMARK(BM_TransportEcho)
    ->ArgName("message_handler")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();

// A cold call: Dial, one echo, Close, per iteration; with the open/open-ack
// handshake (arg 1) or without (arg 0, the socket opens with its first
// message). A warm socket (BM_TransportEcho) pays neither.
void BM_TransportDialAndCall(benchmark::State& state) {
  auto server_transport = transport::NewNatsTransport(bench::Connect()).value();
  auto client_transport = transport::NewNatsTransport(bench::Connect()).value();
  auto listener = EchoListener(state, *server_transport, /*messages=*/true);
  if (listener == nullptr) return;
  const transport::Message message{.body = std::string(16, 'x')};
  const transport::DialOptions options{.handshake = state.range(0) == 1};
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    absl::Time start = absl::Now();
    auto socket = client_transport->Dial(listener->Address(), options);
    absl::Status status = socket.status();
    if (status.ok()) status = (*socket)->Send(message);
    if (status.ok())
      status = (*socket)->Recv(start + absl::Seconds(5)).status();
    latency.Add(absl::Now() - start);
    if (!status.ok()) {
      state.SkipWithError("call failed");
      break;
    }
  }
  const bench::Percentiles ours = latency.Report(state);
  bench::ReportVsBaseline(state, "p50_vs_raw", ours.p50_us, "echo/p50");
  bench::ReportVsBaseline(state, "p99_vs_raw", ours.p99_us, "echo/p99");
}
BENCHMARK(BM_TransportDialAndCall)
    ->ArgName("handshake")
    ->Arg(1)
    ->Arg(0)
    ->UseRealTime();

}  // namespace
}  // namespace micro_nats
