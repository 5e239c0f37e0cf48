// Copyright 2026 The micro-nats Authors.
//
// The greeter client: calls Greeter.Hello and prints the answers; with
// --stream N, opens one Greeter.Repeat stream and prints its N replies as
// they come.
//
//   bazel run //examples/greeter:client -- --server nats://127.0.0.1:4222
//   bazel run //examples/greeter:client -- --memory   # server in-process
//   bazel run //examples/greeter:client -- --memory --stream 5

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "examples/greeter/discovery_flag.h"
#include "examples/greeter/greeter.h"
#include "service/memory/memory_service.h"
#include "service/nats/nats_service.h"
#include "tracing/tracer.h"
#include "tracing/tracing_observer.h"

ABSL_FLAG(std::string, server, "nats://127.0.0.1:4222",
          "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, registry, "nats",
          "discovery: nats (go-micro's broadcast registry) or kv (a JetStream "
          "key-value bucket; nats-server -js)");
ABSL_FLAG(bool, memory, false,
          "run a greeter server in this process, on the memory stack");
ABSL_FLAG(std::string, name, "world", "who to greet");
ABSL_FLAG(std::string, trace_file, "",
          "append the spans of every call as JSON lines to this file (each "
          "call starts a trace the server continues); empty: no tracing");
ABSL_FLAG(int, count, 3, "calls to make");
ABSL_FLAG(bool, json, false, "send the requests as JSON");
ABSL_FLAG(int, stream, 0,
          "instead of calls: one Greeter.Repeat stream of this many replies");

using micro_nats::service::Service;

namespace {

// Greeter.Repeat: prints each reply as it comes; 0 when the stream ended
// cleanly.
int Stream(greeter::GreeterClient& greeter, const std::string& content_type) {
  greeter::RepeatRequest request;
  request.set_name(absl::GetFlag(FLAGS_name));
  request.set_times(absl::GetFlag(FLAGS_stream));
  const absl::Time start = absl::Now();
  auto stream =
      greeter.Repeat(request, {.call = {.content_type = content_type}});
  if (!stream.ok()) {
    std::printf("error: %s\n", stream.status().ToString().c_str());
    return 1;
  }
  for (;;) {
    absl::StatusOr<greeter::HelloReply> reply = stream->Recv();
    if (absl::IsOutOfRange(reply.status())) break;  // the end
    if (!reply.ok()) {
      std::printf("error: %s\n", reply.status().ToString().c_str());
      return 1;
    }
    std::printf("%s (from %s)\n", reply->message().c_str(),
                reply->served_by().c_str());
  }
  std::printf("stream ended after %s\n",
              absl::FormatDuration(
                  absl::Trunc(absl::Now() - start, absl::Microseconds(1)))
                  .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::shared_ptr<micro_nats::service::Observer> tracing;
  if (!absl::GetFlag(FLAGS_trace_file).empty()) {
    auto tracer = micro_nats::tracing::NewJsonLinesTracer(
        absl::GetFlag(FLAGS_trace_file));
    if (!tracer.ok()) {
      std::fprintf(stderr, "greeter client: %s\n",
                   tracer.status().ToString().c_str());
      return 2;
    }
    tracing = micro_nats::tracing::NewTracingObserver(*std::move(tracer));
  }
  absl::StatusOr<std::unique_ptr<Service>> server;
  std::unique_ptr<greeter::Greeter> handler;
  absl::StatusOr<std::unique_ptr<Service>> client;
  if (absl::GetFlag(FLAGS_memory)) {
    server = micro_nats::service::NewMemoryService(
        {.identity = {.name = greeter::kServiceName, .version = "1.0.0"},
         .observer = tracing});
    if (server.ok()) {
      handler = std::make_unique<greeter::Greeter>((*server)->server().id());
      absl::Status started =
          greeter::RegisterGreeterHandler((*server)->server(), *handler);
      if (started.ok()) started = (*server)->Start();
      if (!started.ok()) server = started;
    }
    if (!server.ok()) {
      std::fprintf(stderr, "greeter server: %s\n",
                   server.status().ToString().c_str());
      return 1;
    }
    client = micro_nats::service::NewMemoryService(
        {.identity = {.name = "greeter-client"}, .observer = tracing});
  } else {
    std::vector<std::string> servers =
        absl::StrSplit(absl::GetFlag(FLAGS_server), ',', absl::SkipEmpty());
    auto discovery = greeter::DiscoveryFromFlag(absl::GetFlag(FLAGS_registry));
    if (!discovery.ok()) {
      std::fprintf(stderr, "greeter client: %s\n",
                   discovery.status().ToString().c_str());
      return 2;
    }
    client = micro_nats::service::NewNatsService(
        {.servers = servers,
         .identity = {.name = "greeter-client"},
         .discovery = *discovery,
         .observer = tracing});
  }
  if (!client.ok()) {
    std::fprintf(stderr, "greeter client: %s\n",
                 client.status().ToString().c_str());
    return 1;
  }
  greeter::GreeterClient greeter((*client)->client(), greeter::kServiceName);
  const std::string content_type =
      absl::GetFlag(FLAGS_json) ? "application/json" : "";
  if (absl::GetFlag(FLAGS_stream) > 0) return Stream(greeter, content_type);
  greeter::HelloRequest request;
  request.set_name(absl::GetFlag(FLAGS_name));
  int failures = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_count); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<greeter::HelloReply> reply =
        greeter.Hello(request, {.content_type = content_type});
    const absl::Duration took = absl::Now() - start;
    if (reply.ok()) {
      std::printf("%s (from %s, %s)\n", reply->message().c_str(),
                  reply->served_by().c_str(),
                  absl::FormatDuration(absl::Trunc(took, absl::Microseconds(1)))
                      .c_str());
    } else {
      ++failures;
      std::printf("error: %s\n", reply.status().ToString().c_str());
    }
  }
  return failures == 0 ? 0 : 1;
}
