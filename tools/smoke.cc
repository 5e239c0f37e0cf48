// Copyright 2026 The micro-nats Authors.
//
// smoke: the README's "main job" for now. Starts a local nats-server on a
// free loopback port, sends a message through the shared connection, and
// measures the connection's two paths: request/reply round trips on the
// send-asap path, and bulk publishing on the immediate vs. batched path.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "nats/connection.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

ABSL_FLAG(int, round_trips, 2000, "request/reply round trips to time");
ABSL_FLAG(int, messages, 200000, "messages to publish per delivery mode");

namespace micro_nats {
namespace {

using nats::Connection;
using nats::Delivery;

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "smoke: %s\n", status.ToString().c_str());
  return 1;
}

double PercentileMicros(std::vector<absl::Duration>& samples, double q) {
  std::sort(samples.begin(), samples.end());
  size_t i =
      std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  return absl::ToDoubleMicroseconds(samples[i]);
}

int Run() {
  auto server = testing::NatsServer::Start();
  if (!server.ok()) return Fail(server.status());
  std::printf("nats-server on %s\n", (*server)->url().c_str());
  auto conn = Connection::Connect({.servers = {(*server)->url()}});
  if (!conn.ok()) return Fail(conn.status());

  // 1. One message through the shared connection.
  testing::Collector<std::string> got;
  auto sub = (*conn)->Subscribe("smoke.hello", [&](natsMsg* msg) {
    got.Add(std::string(nats::Body(msg)));
  });
  if (!sub.ok()) return Fail(sub.status());
  if (auto s = (*conn)->Flush(absl::Seconds(2)); !s.ok()) return Fail(s);
  if (auto s = (*conn)->Publish("smoke.hello", "hello, NATS"); !s.ok()) {
    return Fail(s);
  }
  if (!got.WaitForCount(1, absl::Seconds(5))) {
    return Fail(absl::DeadlineExceededError("no message came back"));
  }
  std::printf("received: %s\n", got.Snapshot().front().c_str());

  // 2. Request/reply round trips: replies go out on the send-asap path.
  auto echo = (*conn)->Subscribe("smoke.echo", [&](natsMsg* msg) {
    (*conn)->Publish(nats::Reply(msg), nats::Body(msg)).IgnoreError();
  });
  if (!echo.ok()) return Fail(echo.status());
  std::vector<absl::Duration> rtts;
  for (int i = 0; i < absl::GetFlag(FLAGS_round_trips); ++i) {
    natsMsg* reply = nullptr;
    absl::Time start = absl::Now();
    natsStatus s = natsConnection_RequestString(&reply, (*conn)->get(),
                                                "smoke.echo", "ping", 2000);
    rtts.push_back(absl::Now() - start);
    natsMsg_Destroy(reply);
    if (s != NATS_OK) return Fail(absl::UnavailableError("request failed"));
  }
  std::printf("request/reply (send-asap): p50 %.0f us, p99 %.0f us over %zu\n",
              PercentileMicros(rtts, 0.5), PercentileMicros(rtts, 0.99),
              rtts.size());

  // 3. Bulk publishing, each delivery mode.
  const std::string body(16, 'x');
  const int n = absl::GetFlag(FLAGS_messages);
  for (Delivery mode : {Delivery::kImmediate, Delivery::kBatched}) {
    absl::Time start = absl::Now();
    for (int i = 0; i < n; ++i) {
      if (auto s = (*conn)->Publish("smoke.bulk", body, {.delivery = mode});
          !s.ok()) {
        return Fail(s);
      }
    }
    if (auto s = (*conn)->Flush(absl::Seconds(10)); !s.ok()) return Fail(s);
    double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("publish 16 B, %s: %.2f M msgs/s\n",
                mode == Delivery::kImmediate ? "immediate" : "batched",
                n / secs / 1e6);
  }
  return 0;
}

}  // namespace
}  // namespace micro_nats

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return micro_nats::Run();
}
