// Copyright 2026 The micro-nats Authors.
//
// Three greeter server processes on a real nats-server; one is killed
// (SIGKILL: no deregistration, no close) in the middle of 1,000 sequential
// calls, and every call must still succeed: the client's retries, node
// eviction and the transport's probe take the dead node out.
//
// Run with the server binary's path as the first argument (BUILD does).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "gtest/gtest.h"
#include "service/nats/nats_service.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

extern char** environ;

namespace {

std::string server_binary;  // argv[1]

using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;

// A greeter server process; killed (SIGKILL) unless it exited.
class GreeterProcess {
 public:
  static pid_t Spawn(const std::string& url) {
    std::vector<std::string> args = {server_binary, "--server", url};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, server_binary.c_str(), nullptr, nullptr, argv.data(),
                    environ) != 0) {
      return -1;
    }
    return pid;
  }
};

void KillAndReap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST(GreeterKillTest, AThousandCallsSucceedWhileOneOfThreeServersIsKilled) {
  ASSERT_FALSE(server_binary.empty()) << "pass the server binary's path";
  auto nats = NatsServer::Start();
  ASSERT_THAT(nats, IsOk());
  std::vector<pid_t> servers;
  for (int i = 0; i < 3; ++i) {
    servers.push_back(GreeterProcess::Spawn((*nats)->url()));
    ASSERT_GT(servers.back(), 0);
  }
  auto client = micro_nats::service::NewNatsService(
      {.servers = {(*nats)->url()}, .identity = {.name = "greeter-caller"}});
  ASSERT_THAT(client, IsOk());
  greeter::HelloRequest request;
  request.set_name("killer test");
  greeter::GreeterClient greeter((*client)->client(), greeter::kServiceName);
  auto call = [&] { return greeter.Hello(request); };
  // Until all three answer (each registers when it is up).
  std::set<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        auto reply = call();
        if (reply.ok()) seen.insert(reply->served_by());
        return seen.size() == 3;
      },
      absl::Seconds(30), "three greeters answering"));

  const int64_t retries_before = (*client)->client().stats().retries;
  absl::Duration slowest;
  int slowest_call = -1;
  int failures = 0;
  std::set<std::string> after_kill;
  // The kill comes from another thread while calls run, so it may land
  // with a request in flight at the victim (as a crash would).
  std::atomic<int> calls_made{0};
  const pid_t victim = servers[1];
  servers[1] = -1;
  std::thread killer([&] {
    Eventually([&] { return calls_made.load() >= 300; }, absl::Seconds(60));
    KillAndReap(victim);
  });
  for (int i = 0; i < 1000; ++i) {
    calls_made = i;
    const absl::Time start = absl::Now();
    auto reply = call();
    const absl::Duration took = absl::Now() - start;
    if (took > slowest) {
      slowest = took;
      slowest_call = i;
    }
    if (!reply.ok()) {
      ++failures;
      ADD_FAILURE() << "call " << i << ": " << reply.status();
    } else if (i > 400) {
      after_kill.insert(reply->served_by());
    }
  }
  killer.join();
  const int64_t retries = (*client)->client().stats().retries - retries_before;
  std::printf(
      "1000 calls, one of three servers killed at call 300: %d failed, %lld "
      "retried, slowest call #%d took %s\n",
      failures, static_cast<long long>(retries), slowest_call,
      absl::FormatDuration(absl::Trunc(slowest, absl::Microseconds(1)))
          .c_str());
  ::testing::Test::RecordProperty("retries", static_cast<int>(retries));
  ::testing::Test::RecordProperty(
      "slowest_us", static_cast<int>(absl::ToInt64Microseconds(slowest)));
  EXPECT_EQ(failures, 0);
  EXPECT_GE(retries, 1);             // the dead node was tried, then skipped
  EXPECT_EQ(after_kill.size(), 2u);  // the two live ones share the load
  for (pid_t pid : servers) KillAndReap(pid);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) server_binary = argv[1];
  return RUN_ALL_TESTS();
}
