// Copyright 2026 The micro-nats Authors.
//
// The greeter server: serves Greeter.Hello, and the streams Greeter.Repeat
// and Greeter.Chat, on NATS until SIGINT/SIGTERM.
//
//   bazel run //examples/greeter:server -- --server nats://127.0.0.1:4222
//
// --metrics 127.0.0.1:9464 serves /metrics (Prometheus), /healthz and
// /readyz there; --trace_file appends each call's spans as JSON lines.

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "examples/greeter/discovery_flag.h"
#include "examples/greeter/greeter.h"
#include "service/nats/nats_service.h"
#include "tracing/tracer.h"
#include "tracing/tracing_observer.h"

ABSL_FLAG(std::string, server, "nats://127.0.0.1:4222",
          "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, registry, "nats",
          "discovery: nats (go-micro's broadcast registry) or kv (a JetStream "
          "key-value bucket; nats-server -js)");
ABSL_FLAG(std::string, version, "1.0.0", "the version to register");
ABSL_FLAG(std::string, metrics, "",
          "ip:port to serve /metrics, /healthz and /readyz on (e.g. "
          "127.0.0.1:9464); empty: none");
ABSL_FLAG(std::string, trace_file, "",
          "append the spans of every call as JSON lines to this file; empty: "
          "no tracing");

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void OnSignal(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::vector<std::string> servers =
      absl::StrSplit(absl::GetFlag(FLAGS_server), ',', absl::SkipEmpty());
  auto discovery = greeter::DiscoveryFromFlag(absl::GetFlag(FLAGS_registry));
  if (!discovery.ok()) {
    std::fprintf(stderr, "greeter: %s\n",
                 discovery.status().ToString().c_str());
    return 2;
  }
  std::shared_ptr<micro_nats::service::Observer> tracing;
  if (!absl::GetFlag(FLAGS_trace_file).empty()) {
    auto tracer = micro_nats::tracing::NewJsonLinesTracer(
        absl::GetFlag(FLAGS_trace_file));
    if (!tracer.ok()) {
      std::fprintf(stderr, "greeter: %s\n", tracer.status().ToString().c_str());
      return 2;
    }
    tracing = micro_nats::tracing::NewTracingObserver(*std::move(tracer));
  }
  auto service = micro_nats::service::NewNatsService(
      {.servers = servers,
       .identity = {.name = greeter::kServiceName,
                    .version = absl::GetFlag(FLAGS_version)},
       .discovery = *discovery,
       .metrics_address = absl::GetFlag(FLAGS_metrics),
       .observer = std::move(tracing)});
  if (!service.ok()) {
    std::fprintf(stderr, "greeter: %s\n", service.status().ToString().c_str());
    return 1;
  }
  greeter::Greeter handler((*service)->server().id());
  absl::Status status =
      greeter::RegisterGreeterHandler((*service)->server(), handler);
  if (status.ok()) status = (*service)->Start();
  if (!status.ok()) {
    std::fprintf(stderr, "greeter: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("greeter %s serving at %s\n", (*service)->server().id().c_str(),
              (*service)->server().address().c_str());
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    std::printf("metrics at http://%s/metrics\n",
                absl::GetFlag(FLAGS_metrics).c_str());
  }
  std::fflush(stdout);
  while (!stop_requested) absl::SleepFor(absl::Milliseconds(100));
  status = (*service)->Stop(absl::Now() + absl::Seconds(10));
  std::printf("greeter stopped: %s\n", status.ToString().c_str());
  return status.ok() ? 0 : 1;
}
