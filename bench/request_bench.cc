// Copyright 2026 The micro-nats Authors.
//
// request_bench: request latency and throughput of the ways a C++ program
// can ask another for an answer, on one machine, in one run:
//
//   raw_nats    nats.c request/reply (natsConnection_Request) to a send-asap
//               echo subscriber: the floor micro-nats is measured against;
//   grpc        a gRPC C++ unary call over loopback TCP (Debian's gRPC):
//               what a C++ user would pick instead;
//   transport   micro-nats's NATS transport: a socket per caller, Send then
//               Recv;
//   service     a full-stack micro-nats Call: typed protobuf, client and
//               server services on separate connections, sockets warm;
//   natsgo      (paired only) raw nats.c requests to an echo service on
//               nats.go's `micro` package (bench/natsgo): the peer a user
//               would pick instead.
//
// BM_PairedRequest/STACK_vs_BASE compares two of them paired and
// interleaved (paired.h): both started side by side on the same
// nats-server, alternating in short rounds of `callers` concurrent callers,
// the median of the per-round ratios with its interquartile range
// (p50_vs_BASE, rate_vs_BASE and their _q1/_q3). Every ratio the report
// shows comes from these.
//
// BM_Request/STACK is each stack alone, at 16 B, 1 KiB and 64 KiB requests
// (the encoded request; the answer is as long), with 1, 4, 16 and 64
// concurrent callers (benchmark threads) sharing one client connection
// (one channel for gRPC): p50/p90/p99/p99.9 of one merged sample and
// calls_per_s, for the percentile tables and charts; not compared, as the
// stacks ran at different times.
//
//   bazel run -c opt //bench:request_bench -- --benchmark_min_time=0.5
//   bazel run -c opt //bench:request_bench -- --benchmark_filter=Paired

#include <grpcpp/grpcpp.h>
#include <nats/nats.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/callers.h"
#include "bench/echo.grpc.pb.h"
#include "bench/echo.pb.h"
#include "bench/grpc_loopback.h"
#include "bench/nats_bench.h"
#include "bench/natsgo/natsgo_micro.h"
#include "bench/paired.h"
#include "bench/service_pair.h"
#include "benchmark/benchmark.h"
#include "nats/connection.h"
#include "service/nats/nats_service.h"
#include "transport/nats/nats_transport.h"

namespace micro_nats {
namespace {

using bench::EchoReply;
using bench::EchoRequest;

constexpr absl::Duration kCallTimeout = absl::Seconds(5);
// How long a new service may take to be found.
constexpr absl::Duration kFirstCallTimeout = absl::Seconds(30);

// A request whose protobuf encoding is `bytes` long: a tag byte and the
// varint length precede the body.
EchoRequest RequestOf(int64_t bytes) {
  EchoRequest request;
  for (int64_t body = bytes - 2; body >= 0; --body) {
    request.set_body(std::string(body, 'x'));
    if (static_cast<int64_t>(request.ByteSizeLong()) <= bytes) break;
  }
  return request;
}

// --- raw_nats: nats.c request/reply ---

class RawNats {
 public:
  static constexpr const char* kSubject = "bench.request.raw";

  class Caller {
   public:
    Caller(natsConnection* requester, const char* subject,
           const std::string* body)
        : requester_(requester), subject_(subject), body_(body) {}
    absl::Status Call() {
      natsMsg* reply = nullptr;
      const natsStatus s =
          natsConnection_Request(&reply, requester_, subject_, body_->data(),
                                 static_cast<int>(body_->size()),
                                 absl::ToInt64Milliseconds(kCallTimeout));
      const bool whole = s == NATS_OK && natsMsg_GetDataLength(reply) ==
                                             static_cast<int>(body_->size());
      natsMsg_Destroy(reply);
      if (s != NATS_OK) {
        return absl::UnavailableError(
            absl::StrCat("nats.c request: ", natsStatus_GetText(s)));
      }
      return whole ? absl::OkStatus()
                   : absl::DataLossError("the echo is not the request");
    }

   private:
    natsConnection* const requester_;
    const char* const subject_;
    const std::string* const body_;
  };

  static absl::StatusOr<std::unique_ptr<RawNats>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<RawNats>(new RawNats(bytes));
    fixture->responder_ = bench::RawConnect(/*send_asap=*/true);
    fixture->requester_ = bench::RawConnect();
    if (fixture->responder_ == nullptr || fixture->requester_ == nullptr ||
        natsConnection_Subscribe(&fixture->sub_, fixture->responder_, kSubject,
                                 bench::RawEchoReply, nullptr) != NATS_OK ||
        natsConnection_Flush(fixture->responder_) != NATS_OK) {
      return absl::UnavailableError("raw nats.c set-up failed");
    }
    return fixture;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(requester_, kSubject, &body_);
  }

  ~RawNats() {
    natsSubscription_Destroy(sub_);
    natsConnection_Destroy(requester_);
    natsConnection_Destroy(responder_);
  }

 private:
  explicit RawNats(int64_t bytes) : body_(bytes, 'x') {}

  const std::string body_;
  natsConnection* responder_ = nullptr;
  natsConnection* requester_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

// --- natsgo: nats.c requests to an echo service on nats.go's micro ---

// The peer a user would pick instead of a C++ framework on NATS: the same
// raw nats.c requests as RawNats, answered by nats.go's `micro` package
// (bench/natsgo, a child process) instead of a nats.c callback.
class NatsGo {
 public:
  static constexpr const char* kSubject = "bench.request.natsgo";
  using Caller = RawNats::Caller;

  static absl::StatusOr<std::unique_ptr<NatsGo>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<NatsGo>(new NatsGo(bytes));
    auto service = bench::NatsGoMicro::Start(bench::ServerUrl(), kSubject);
    if (!service.ok()) return service.status();
    fixture->service_ = std::move(service).value();
    fixture->requester_ = bench::RawConnect();
    if (fixture->requester_ == nullptr) {
      return absl::UnavailableError("raw nats.c connect failed");
    }
    return fixture;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(requester_, kSubject, &body_);
  }

  ~NatsGo() {
    natsConnection_Destroy(requester_);
    if (service_ != nullptr) service_->Stop(absl::Now() + absl::Seconds(5));
  }

 private:
  explicit NatsGo(int64_t bytes) : body_(bytes, 'x') {}

  const std::string body_;
  std::unique_ptr<bench::NatsGoMicro> service_;
  natsConnection* requester_ = nullptr;
};

// --- grpc: a unary call over loopback ---

class EchoGrpcService final : public bench::Echo::Service {
  grpc::Status Call(grpc::ServerContext*, const EchoRequest* request,
                    EchoReply* reply) override {
    reply->set_body(request->body());
    return grpc::Status::OK;
  }
};

class Grpc {
 public:
  class Caller {
   public:
    Caller(bench::Echo::Stub* stub, const EchoRequest* request)
        : stub_(stub), request_(request) {}
    absl::Status Call() {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
      EchoReply reply;
      const grpc::Status status = stub_->Call(&context, *request_, &reply);
      if (!status.ok()) {
        return absl::UnavailableError(
            absl::StrCat("gRPC call: ", status.error_message()));
      }
      return reply.body().size() == request_->body().size()
                 ? absl::OkStatus()
                 : absl::DataLossError("the echo is not the request");
    }

   private:
    bench::Echo::Stub* const stub_;
    const EchoRequest* const request_;
  };

  static absl::StatusOr<std::unique_ptr<Grpc>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<Grpc>(new Grpc(bytes));
    auto grpc = bench::GrpcLoopback::Start(&fixture->service_);
    if (!grpc.ok()) return grpc.status();
    fixture->grpc_.emplace(std::move(grpc).value());
    fixture->stub_ = bench::Echo::NewStub(fixture->grpc_->channel());
    return fixture;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(stub_.get(), &request_);
  }

 private:
  explicit Grpc(int64_t bytes) : request_(RequestOf(bytes)) {}

  const EchoRequest request_;
  EchoGrpcService service_;
  std::optional<bench::GrpcLoopback> grpc_;  // after service_, before stub_
  std::unique_ptr<bench::Echo::Stub> stub_;
};

// --- transport: a micro-nats socket per caller ---

class Transport {
 public:
  class Caller {
   public:
    Caller(std::unique_ptr<transport::Socket> socket,
           const transport::Message* message)
        : socket_(std::move(socket)), message_(message) {}
    ~Caller() { socket_->Close().IgnoreError(); }
    absl::Status Call() {
      const absl::Time deadline = absl::Now() + kCallTimeout;
      if (absl::Status sent = socket_->Send(*message_); !sent.ok()) {
        return sent;
      }
      auto reply = socket_->Recv(deadline);
      if (!reply.ok()) return reply.status();
      return reply->body.size() == message_->body.size()
                 ? absl::OkStatus()
                 : absl::DataLossError("the echo is not the request");
    }

   private:
    const std::unique_ptr<transport::Socket> socket_;
    const transport::Message* const message_;
  };

  static absl::StatusOr<std::unique_ptr<Transport>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<Transport>(new Transport(bytes));
    auto server = transport::NewNatsTransport(bench::Connect());
    auto client = transport::NewNatsTransport(bench::Connect());
    if (!server.ok()) return server.status();
    if (!client.ok()) return client.status();
    fixture->server_ = std::move(server).value();
    fixture->client_ = std::move(client).value();
    auto listener = fixture->server_->Listen("");
    if (!listener.ok()) return listener.status();
    fixture->listener_ = std::move(listener).value();
    absl::Status accepted = fixture->listener_->AcceptMessages(
        [](const std::shared_ptr<transport::Socket>& socket,
           transport::Message message) {
          socket->Send(message).IgnoreError();
        });
    if (!accepted.ok()) return accepted;
    return fixture;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    auto socket = client_->Dial(listener_->Address());
    if (!socket.ok()) return socket.status();
    return std::make_unique<Caller>(std::move(socket).value(), &message_);
  }

  ~Transport() {
    if (listener_ != nullptr) listener_->Close().IgnoreError();
  }

 private:
  explicit Transport(int64_t bytes)
      : message_{.body = std::string(bytes, 'x')} {}

  const transport::Message message_;
  std::unique_ptr<transport::Transport> server_;
  std::unique_ptr<transport::Transport> client_;
  std::unique_ptr<transport::Listener> listener_;
};

// --- service: a full-stack micro-nats Call ---

class FullStack {
 public:
  class Caller {
   public:
    Caller(service::Service* caller, const EchoRequest* request)
        : caller_(caller), request_(request) {}
    absl::Status Call() {
      auto reply = caller_->client().Call<EchoRequest, EchoReply>(
          "bench-echo", "Echo.Call", *request_);
      if (!reply.ok()) return reply.status();
      return reply->body().size() == request_->body().size()
                 ? absl::OkStatus()
                 : absl::DataLossError("the echo is not the request");
    }

   private:
    service::Service* const caller_;
    const EchoRequest* const request_;
  };

  static absl::StatusOr<std::unique_ptr<FullStack>> Start(int64_t bytes) {
    auto fixture = std::unique_ptr<FullStack>(new FullStack(bytes));
    auto pair = bench::ServicePair::Start(
        "bench-echo", "bench-caller", [](service::Server& server) {
          return server.Handle<EchoRequest, EchoReply>(
              "Echo.Call", [](service::Context&, const EchoRequest& request,
                              EchoReply* reply) {
                reply->set_body(request.body());
                return absl::OkStatus();
              });
        });
    if (!pair.ok()) return pair.status();
    fixture->services_.emplace(std::move(pair).value());
    // Looks the service up and opens a socket: callers start warm.
    Caller first(fixture->services_->caller.get(), &fixture->request_);
    absl::Status called = bench::UntilFound(absl::Now() + kFirstCallTimeout,
                                            [&first] { return first.Call(); });
    if (!called.ok()) return called;
    return fixture;
  }

  absl::StatusOr<std::unique_ptr<Caller>> NewCaller() {
    return std::make_unique<Caller>(services_->caller.get(), &request_);
  }

 private:
  explicit FullStack(int64_t bytes) : request_(RequestOf(bytes)) {}

  const EchoRequest request_;
  std::optional<bench::ServicePair> services_;
};

// Each stack alone: RunCallers sets the percentile and calls_per_s
// counters. No ratios: those are paired (BM_PairedRequest).
template <typename Fixture>
void BM_Request(benchmark::State& state) {
  bench::RunCallers<Fixture>(state);
}

// Two stacks side by side, alternating rounds of range(1) callers at
// range(0)-byte requests; `keys` names the key figures it gives.
template <typename Base, typename Stack>
void BM_PairedRequest(benchmark::State& state, const char* baseline,
                      std::vector<std::pair<std::string, std::string>> keys) {
  const int64_t bytes = state.range(0);
  const int callers = static_cast<int>(state.range(1));
  auto base = bench::CallerGroup<Base>::Start(bytes, callers);
  if (!base.ok()) {
    state.SkipWithError(base.status().ToString().c_str());
    return;
  }
  auto stack = bench::CallerGroup<Stack>::Start(bytes, callers);
  if (!stack.ok()) {
    state.SkipWithError(stack.status().ToString().c_str());
    return;
  }
  // Long enough for several calls per caller: at 64 callers a 64 KiB call
  // takes tens of milliseconds.
  const absl::Duration round = bench::RoundTime(
      callers == 1 ? absl::Milliseconds(50)
                   : absl::Milliseconds(bytes >= (64 << 10) ? 300 : 100));
  bench::RunPaired(
      state, [&] { return (*base)->RunRound(round); },
      [&] { return (*stack)->RunRound(round); },
      {.baseline = baseline, .keys = std::move(keys)})
      .IgnoreError();  // reported by RunPaired
}

// The key figure names of a size: 16B, 1KiB, 64KiB.
std::string SizeName(int64_t bytes) {
  return bytes >= 1024 ? absl::StrCat(bytes / 1024, "KiB")
                       : absl::StrCat(bytes, "B");
}

// One paired comparison per (bytes, callers); at one caller the key figure
// is the p50 ratio, at more the rate ratio: `prefix`_p50_vs_`key_base`_16B_1
// or `prefix`_rate_vs_`key_base`_16B_64.
template <typename Base, typename Stack>
void RegisterPaired(const std::string& name, const char* baseline,
                    const char* prefix, const char* key_base,
                    std::initializer_list<std::pair<int64_t, int>> configs) {
  for (const auto& [bytes, callers] : configs) {
    std::vector<std::pair<std::string, std::string>> keys;
    if (prefix != nullptr) {
      const bool latency = callers == 1;
      keys.push_back(
          {absl::StrCat(prefix, latency ? "_p50_vs_" : "_rate_vs_", key_base,
                        "_", SizeName(bytes), "_", callers),
           absl::StrCat(latency ? "p50_vs_" : "rate_vs_", baseline)});
    }
    benchmark::RegisterBenchmark(("BM_PairedRequest/" + name).c_str(),
                                 [baseline, keys](benchmark::State& state) {
                                   BM_PairedRequest<Base, Stack>(
                                       state, baseline, keys);
                                 })
        ->ArgNames({"bytes", "callers"})
        ->Args({bytes, callers})
        ->Apply(bench::AsPaired);
  }
}

template <typename Fixture>
bool Register(const char* name) {
  benchmark::RegisterBenchmark(name, BM_Request<Fixture>)
      ->ArgName("bytes")
      ->Arg(16)
      ->Arg(1024)
      ->Arg(64 << 10)
      ->Threads(1)
      ->Threads(4)
      ->Threads(16)
      ->Threads(64)
      ->UseRealTime();
  return true;
}

const bool registered = [] {
  benchmark::AddCustomContext("grpc", grpc::Version());
  // The issue-23 figures: service and transport against raw nats.c.
  RegisterPaired<RawNats, FullStack>(
      "service_vs_raw", "raw", "call", "raw",
      {{16, 1}, {1024, 1}, {16, 16}, {16, 64}, {1024, 64}, {64 << 10, 64}});
  RegisterPaired<RawNats, Transport>("transport_vs_raw", "raw", "transport",
                                     "raw", {{16, 1}, {16, 64}});
  // Against what a user would pick instead: nats.go's micro on the same
  // server (and it against raw nats.c: what a framework can cost), gRPC.
  RegisterPaired<NatsGo, FullStack>("service_vs_natsgo", "natsgo", "call",
                                    "natsgo_micro", {{16, 1}, {16, 64}});
  RegisterPaired<RawNats, NatsGo>("natsgo_vs_raw", "raw", nullptr, nullptr,
                                  {{16, 1}, {16, 64}});
  RegisterPaired<Grpc, FullStack>("service_vs_grpc", "grpc", nullptr, nullptr,
                                  {{16, 1}, {16, 64}, {64 << 10, 64}});
  return Register<RawNats>("BM_Request/raw_nats") &&
         Register<Grpc>("BM_Request/grpc") &&
         Register<Transport>("BM_Request/transport") &&
         Register<FullStack>("BM_Request/service");
}();

}  // namespace
}  // namespace micro_nats
