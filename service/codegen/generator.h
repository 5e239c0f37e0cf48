// Copyright 2026 The micro-nats Authors.
//
// generator.h: the code generator behind protoc-gen-micro-cpp.
//
// For each `service` in a .proto it writes, next to protoc's own
// `<file>.pb.h`:
//   - `<file>.micro.h` / `.micro.cc`: per service a names struct
//     (`GreeterNames`: full name, endpoint names, request/response type
//     names), a client interface and its implementation on
//     micro_nats::service::Client (`GreeterClient`, one synchronous and one
//     asynchronous method per unary rpc), a handler interface
//     (`GreeterHandler`) and `RegisterGreeterHandler(server, handler)`;
//   - `<file>.micro_mock.h`: `MockGreeterClient`, a gmock of the client
//     interface (testonly, as gRPC's generate_mocks).
// Comments on services and rpcs in the .proto are copied onto the
// generated classes and methods.
//
// A streaming rpc (service/stream.h) gets `<Rpc>Stream`, its typed stream
// (ClientStreamOf in the client interface, ServerStreamOf in the handler),
// and is registered with Server::HandleStream; by kind:
//   server streaming  client: Rpc(request, StreamOptions) sends the request
//                     and half-closes, returns the stream to Recv from;
//                     handler: Rpc(ctx, request, stream) Sends;
//   client streaming  client: Rpc(StreamOptions) returns the stream to Send
//                     on, then CloseAndRecv; handler: Rpc(ctx, stream,
//                     response) Recvs until OutOfRange, `response` is sent
//                     when it returns OK;
//   bidirectional     client: Rpc(StreamOptions) returns the stream;
//                     handler: Rpc(ctx, stream).
// Streaming rpcs have no Async method: the stream is the asynchrony.

#ifndef MICRO_NATS_SERVICE_CODEGEN_GENERATOR_H_
#define MICRO_NATS_SERVICE_CODEGEN_GENERATOR_H_

#include <google/protobuf/compiler/code_generator.h>

#include <string>

namespace micro_nats::service::codegen {

class MicroGenerator : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file,
                const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;
};

}  // namespace micro_nats::service::codegen

#endif  // MICRO_NATS_SERVICE_CODEGEN_GENERATOR_H_
