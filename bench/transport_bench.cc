// Copyright 2026 The micro-nats Authors.
//
// transport_bench: echo round trips over the NATS transport against raw
// nats.c request/reply (a send-asap responder, as the transport's shared
// connection sends), paired and interleaved (paired.h): both side by side
// on the same server, alternating in short rounds; p50_vs_raw is the median
// of the per-round ratios of p50s, with its quartiles.
//
//   bazel run -c opt //bench:transport_bench
//
// The transport runs with each listener style (a blocking Accept handler
// per socket, or AcceptMessages on the listener's pool), and a cold call
// (Dial, one echo, Close) with and without the open/open-ack handshake.

#include <nats/nats.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats {
namespace {

constexpr char kRawSubject[] = "bench.raw.echo";

// The raw baseline: a send-asap echo responder and a requester.
class RawEcho {
 public:
  ~RawEcho() {
    natsSubscription_Destroy(sub_);
    natsConnection_Destroy(requester_);
    natsConnection_Destroy(responder_);
  }

  absl::Status Start() {
    responder_ = bench::RawConnect(/*send_asap=*/true);
    requester_ = bench::RawConnect();
    if (responder_ == nullptr || requester_ == nullptr ||
        natsConnection_Subscribe(&sub_, responder_, kRawSubject,
                                 bench::RawEchoReply, nullptr) != NATS_OK ||
        natsConnection_Flush(responder_) != NATS_OK) {
      return absl::UnavailableError("raw nats setup failed");
    }
    return absl::OkStatus();
  }

  bench::Side Side(absl::Duration round) {
    return [this, round]() {
      return loop_.Run(round, [this] {
        natsMsg* reply = nullptr;
        const natsStatus s = natsConnection_Request(
            &reply, requester_, kRawSubject, body_.data(),
            static_cast<int>(body_.size()), 5000);
        natsMsg_Destroy(reply);
        return s == NATS_OK ? absl::OkStatus()
                            : absl::UnavailableError("nats.c request failed");
      });
    };
  }

 private:
  const std::string body_ = std::string(16, 'x');
  natsConnection* responder_ = nullptr;
  natsConnection* requester_ = nullptr;
  natsSubscription* sub_ = nullptr;
  bench::TimedLoop loop_;
};

// An echo listener in the blocking style (a handler parked in Recv per
// socket) or the message style (AcceptMessages).
absl::StatusOr<std::unique_ptr<transport::Listener>> EchoListener(
    transport::Transport& server, bool messages) {
  auto listener = server.Listen("");
  if (!listener.ok()) return listener.status();
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
  if (!accepted.ok()) return accepted;
  return listener;
}

// Arg cold 0: one warm socket, Send then Recv of a 16-byte echo per op.
// Arg cold 1 (2: with the open/open-ack handshake): Dial, one echo, Close
// per op. Server and
// client on separate connections, as separate processes.
void BM_PairedTransportEcho(benchmark::State& state) {
  const bool messages = state.range(0) == 1;
  const bool cold = state.range(1) >= 1;
  const transport::DialOptions dial{.handshake = state.range(1) == 2};
  RawEcho raw;
  if (absl::Status started = raw.Start(); !started.ok()) {
    state.SkipWithError(started.ToString().c_str());
    return;
  }
  auto server_transport = transport::NewNatsTransport(bench::Connect());
  auto client_transport = transport::NewNatsTransport(bench::Connect());
  if (!server_transport.ok() || !client_transport.ok()) {
    state.SkipWithError("transport setup failed");
    return;
  }
  auto listener = EchoListener(**server_transport, messages);
  if (!listener.ok()) {
    state.SkipWithError(listener.status().ToString().c_str());
    return;
  }
  std::unique_ptr<transport::Socket> warm;
  if (!cold) {
    auto socket = (*client_transport)->Dial((*listener)->Address());
    if (!socket.ok()) {
      state.SkipWithError(socket.status().ToString().c_str());
      return;
    }
    warm = std::move(socket).value();
  }
  const transport::Message message{.body = std::string(16, 'x')};
  const absl::Duration round = bench::RoundTime();
  bench::TimedLoop loop;
  bench::Side ours = [&]() {
    return loop.Run(round, [&]() -> absl::Status {
      const absl::Time deadline = absl::Now() + absl::Seconds(5);
      if (!cold) {
        if (absl::Status sent = warm->Send(message); !sent.ok()) return sent;
        return warm->Recv(deadline).status();
      }
      auto socket = (*client_transport)->Dial((*listener)->Address(), dial);
      if (!socket.ok()) return socket.status();
      absl::Status status = (*socket)->Send(message);
      if (status.ok()) status = (*socket)->Recv(deadline).status();
      (*socket)->Close().IgnoreError();
      return status;
    });
  };
  bench::RunPaired(state, raw.Side(round), ours,
                   {.baseline = "raw", .figures = bench::kP50})
      .IgnoreError();  // reported by RunPaired
  if (warm != nullptr) warm->Close().IgnoreError();
  (*listener)->Close().IgnoreError();
}
BENCHMARK(BM_PairedTransportEcho)
    ->ArgNames({"message_handler", "cold"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
