// Copyright 2026 The micro-nats Authors.
//
// natsgo_micro.h: the nats.go `micro` echo baseline (main.go) as a child
// process, for benchmarks that pair micro-nats with it. It serves one
// endpoint on `subject` that answers a request with its own body; call it
// with a raw nats.c request (or a micro-nats client that speaks the NATS
// Service API) on that subject.
//
//   auto go = bench::NatsGoMicro::Start(bench::ServerUrl(), "bench.natsgo");
//   if (!go.ok()) state.SkipWithError(go.status().ToString().c_str());
//   ... natsConnection_Request(&reply, nc, "bench.natsgo", body, 16, 1000);
//
// The binary is $NATSGO_MICRO_BIN when set (bench/natsgo/build.sh builds
// it), else the one Bazel built into this binary's runfiles
// (//bench/natsgo:natsgo_micro_bin, a data dependency of :natsgo_micro).

#ifndef MICRO_NATS_BENCH_NATSGO_NATSGO_MICRO_H_
#define MICRO_NATS_BENCH_NATSGO_NATSGO_MICRO_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace micro_nats::bench {

// The baseline's path: $NATSGO_MICRO_BIN, or the runfiles' copy.
absl::StatusOr<std::string> FindNatsGoMicroBinary();

class NatsGoMicro {
 public:
  // Starts the service against `url`, serving `subject`; returns once it
  // says it is subscribed at the server, or fails by `timeout` (its first
  // run may be slow: Go starts, connects, subscribes, flushes).
  static absl::StatusOr<std::unique_ptr<NatsGoMicro>> Start(
      const std::string& url, const std::string& subject,
      absl::Duration timeout = absl::Seconds(20));

  NatsGoMicro(const NatsGoMicro&) = delete;
  NatsGoMicro& operator=(const NatsGoMicro&) = delete;
  ~NatsGoMicro();  // Stop(now + 5 s)

  const std::string& subject() const { return subject_; }

  // Asks it to stop (its stdin closes, then SIGTERM) and reaps it; SIGKILL
  // at `deadline`. Returns by the deadline (plus the kill's reaping).
  void Stop(absl::Time deadline);

 private:
  NatsGoMicro(pid_t pid, int stdin_fd, std::string subject)
      : pid_(pid), stdin_fd_(stdin_fd), subject_(std::move(subject)) {}

  pid_t pid_;
  int stdin_fd_;  // the child's stdin: it exits when this closes
  std::string subject_;
};

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_NATSGO_NATSGO_MICRO_H_
