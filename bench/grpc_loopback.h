// Copyright 2026 The micro-nats Authors.
//
// grpc_loopback.h: a gRPC server on a free loopback port, and a channel to
// it, for the benchmarks' gRPC baselines (request_bench, stream_bench).
//
//   EchoGrpcService service;  // outlives the server
//   std::optional<bench::GrpcLoopback> grpc;
//   MN_ASSIGN_OR_RETURN(grpc, bench::GrpcLoopback::Start(&service));
//   auto stub = Echo::NewStub(grpc->channel());  // destroyed before grpc

#ifndef MICRO_NATS_BENCH_GRPC_LOOPBACK_H_
#define MICRO_NATS_BENCH_GRPC_LOOPBACK_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace micro_nats::bench {

// Owns the server; shuts it down (up to 5 s for calls in flight) when
// destroyed. Stubs made on its channel must go first.
class GrpcLoopback {
 public:
  // Serves `service` (which must outlive this) on 127.0.0.1, port 0: a
  // free port, as the nats-server fixture's.
  static absl::StatusOr<GrpcLoopback> Start(grpc::Service* service) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (server == nullptr || port == 0) {
      return absl::UnavailableError("the gRPC server did not start");
    }
    return GrpcLoopback(
        std::move(server),
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                            grpc::InsecureChannelCredentials()));
  }

  GrpcLoopback(GrpcLoopback&&) = default;
  GrpcLoopback& operator=(GrpcLoopback&&) = delete;

  ~GrpcLoopback() {
    channel_.reset();
    if (server_ != nullptr) {
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    }
  }

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  GrpcLoopback(std::unique_ptr<grpc::Server> server,
               std::shared_ptr<grpc::Channel> channel)
      : server_(std::move(server)), channel_(std::move(channel)) {}

  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_GRPC_LOOPBACK_H_
