// Copyright 2026 The micro-nats Authors.
//
// nats_server.h: a real nats-server for tests, on a free loopback port.
//
// NATS backends are tested against the real server, never a fake broker.
// `NatsServer` starts `nats-server` as a child process bound to 127.0.0.1 on
// a port the server picks itself (port -1, read back from its ports file,
// so no other process can take it in between), waits until it accepts
// connections, and removes everything on teardown. It can be stopped and
// restarted on the same port (reconnect tests), killed (SIGKILL) or frozen
// (SIGSTOP, a server that stops answering but keeps its TCP connections)
// for fault tests, and given configuration of its own (users, permissions,
// TLS) or JetStream (`jetstream = true`, its store in the fixture's own
// directory: kept across Stop, Kill and Restart, so persistence can be
// tested; removed with the server). `NatsCluster` starts several servers routed
// to each other (failover tests).
//
//   MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
//   ConnectionOptions options{.servers = {server->url()}};
//
// When `nats-server` is not installed, Start() fails with a message that says
// how to install it: a test that needs it fails, it never silently skips.

#ifndef MICRO_NATS_TESTING_NATS_SERVER_H_
#define MICRO_NATS_TESTING_NATS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace micro_nats::testing {

struct NatsServerOptions {
  // 0: the server picks a free loopback port.
  int port = 0;
  // Appended to the generated configuration file: authorization blocks,
  // TLS, accounts. Paths in it are the test's own.
  std::string extra_config;
  // Largest message payload the server accepts; 0 keeps the server's default
  // (1 MiB).
  int64_t max_payload = 0;
  // How long to wait for the server to accept connections.
  absl::Duration start_timeout = absl::Seconds(10);
  // Cluster settings; filled in by NatsCluster. cluster_port 0: the server
  // picks one.
  std::string cluster_name;
  int cluster_port = 0;
  std::vector<int> route_ports;
  // Enables JetStream (nats-server -js) with its store_dir in dir()/jetstream.
  // The store outlives Stop, Kill and Restart and goes with the fixture.
  bool jetstream = false;
};

// NatsServer
//
// One nats-server child process. Not thread-safe: drive it from the test.
class NatsServer {
 public:
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start(
      NatsServerOptions options = {});

  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;
  ~NatsServer();

  // "nats://127.0.0.1:<port>"
  std::string url() const;
  int port() const { return options_.port; }
  int cluster_port() const { return options_.cluster_port; }
  // A directory for the test's files (certificates), removed with the
  // server.
  const std::string& dir() const { return dir_; }
  // JetStream's store directory (NatsServerOptions::jetstream), or "".
  std::string store_dir() const;
  bool running() const { return pid_ > 0; }

  // Stops the server (SIGTERM, then SIGKILL after a grace period). Clients
  // see a disconnect.
  absl::Status Stop();
  // Starts the server again on the same port, with the same configuration.
  absl::Status Restart();
  // Ends the server at once (SIGKILL), as a crash would.
  absl::Status Kill();
  // Freezes the server (SIGSTOP): its TCP connections stay open but nothing
  // answers, as a hung host or a half-open connection. Resume undoes it.
  absl::Status Pause();
  absl::Status Resume();

 private:
  NatsServer(NatsServerOptions options, std::string binary, std::string dir);
  absl::Status Launch();
  absl::Status WaitUntilReady();
  // Reads the ports the server picked from its ports file; false until it
  // is written.
  bool ReadPickedPorts();
  std::string ReadLog() const;

  NatsServerOptions options_;
  std::string binary_;
  std::string dir_;  // config and log; removed in the destructor
  pid_t pid_ = -1;
};

// NatsCluster
//
// `size` servers on loopback, each routed to all the others.
class NatsCluster {
 public:
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(int size = 3);

  NatsServer& server(int i) { return *servers_[i]; }
  int size() const { return static_cast<int>(servers_.size()); }
  // Every server's URL, for ConnectionOptions::servers.
  std::vector<std::string> urls() const;

 private:
  std::vector<std::unique_ptr<NatsServer>> servers_;
};

// Returns a TCP port on 127.0.0.1 that was free a moment ago (for tests of
// connecting to nothing).
absl::StatusOr<int> PickFreeLoopbackPort();

// Returns the path of the nats-server binary, or FailedPrecondition saying
// how to install it. $NATS_SERVER_BIN overrides the search.
absl::StatusOr<std::string> FindNatsServerBinary();

}  // namespace micro_nats::testing

#endif  // MICRO_NATS_TESTING_NATS_SERVER_H_
