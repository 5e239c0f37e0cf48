// Copyright 2026 The micro-nats Authors.
//
// Three greeter server processes on a real nats-server; one is killed
// (SIGKILL: no deregistration, no close) in the middle of 1,000 sequential
// calls, and every call must still succeed: the client's retries, node
// eviction and the transport's probe take the dead node out (Hello is
// idempotent, so even a call the victim took is retried elsewhere).
//
// And the non-idempotent Greeter.Sign: three signer processes (this binary
// with `--sign-victim URL ID`), one killed while it runs a call; that call
// fails "outcome unknown", and no signature is taken twice.
//
// Run with the server binary's path as the first argument (BUILD does).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
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

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;

// Where signers report each signature they take, before answering: on the
// connection the answer goes on, so a caller subscribed on its calls'
// connection hears of a signature before its answer.
constexpr char kSignedTopic[] = "greeter.signed";
// A signer holds a call of this name (after reporting it) until killed.
constexpr char kHeld[] = "held";

// A greeter server process; killed (SIGKILL) unless it exited.
class GreeterProcess {
 public:
  static pid_t Spawn(const std::string& url) {
    return Run(server_binary, {"--server", url});
  }
  // This binary as a signer (ServeSigner).
  static pid_t SpawnSigner(const std::string& url, const std::string& id) {
    return Run("/proc/self/exe", {"--sign-victim", url, id});
  }

 private:
  static pid_t Run(const std::string& binary, std::vector<std::string> rest) {
    std::vector<std::string> args = {binary};
    args.insert(args.end(), rest.begin(), rest.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(),
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
  // Round robin, so the two survivors are seen to share the calls (a
  // latency-aware selector may favour one).
  auto client = micro_nats::service::NewNatsService(
      {.servers = {(*nats)->url()},
       .identity = {.name = "greeter-caller"},
       .client = {.selector = micro_nats::service::NewRoundRobinSelector()}});
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

// The child: a greeter on the nats-server at `url` with node id `id`,
// reporting each signature on kSignedTopic ("<name>" from node "<id>"), and
// holding a kHeld call after reporting it, until killed.
int ServeSigner(const std::string& url, const std::string& id) {
  auto service = micro_nats::service::NewNatsService(
      {.servers = {url},
       .identity = {.name = greeter::kServiceName},
       .server = {.id = id}});
  if (!service.ok()) {
    std::fprintf(stderr, "signer: %s\n", service.status().ToString().c_str());
    return 1;
  }
  micro_nats::service::Service* self = service->get();
  greeter::Greeter handler(
      id, [self, id](micro_nats::service::Context&,
                     const greeter::SignRequest& request, int64_t) {
        greeter::HelloReply signed_by;
        signed_by.set_message(request.name());
        signed_by.set_served_by(id);
        MN_RETURN_IF_ERROR(self->client().Publish(kSignedTopic, signed_by));
        if (request.name() == kHeld) {
          for (;;) absl::SleepFor(absl::Hours(1));  // until killed
        }
        return absl::OkStatus();
      });
  absl::Status started =
      greeter::RegisterGreeterHandler((*service)->server(), handler);
  if (started.ok()) started = (*service)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "signer: %s\n", started.ToString().c_str());
    return 1;
  }
  for (;;) pause();  // until killed
}

TEST(GreeterKillTest, ASignatureWhoseServerIsKilledMidCallIsTakenOnce) {
  auto nats = NatsServer::Start();
  ASSERT_THAT(nats, IsOk());
  std::map<std::string, pid_t> signers;
  struct Reaper {
    std::map<std::string, pid_t>& pids;
    ~Reaper() {
      for (auto& [id, pid] : pids) KillAndReap(pid);
    }
  } reaper{signers};
  for (int i = 1; i <= 3; ++i) {
    const std::string id = absl::StrCat("signer-", i);
    signers[id] = GreeterProcess::SpawnSigner((*nats)->url(), id);
    ASSERT_GT(signers[id], 0);
  }
  auto caller = micro_nats::service::NewNatsService(
      {.servers = {(*nats)->url()},
       .identity = {.name = "signer-caller"},
       // An answer lost with its node is noticed after about this long.
       .client = {.probe_interval = absl::Milliseconds(200)}});
  ASSERT_THAT(caller, IsOk());
  // Each signature as "<name>@<node>", in the order the signers took them.
  Collector<std::string> signatures;
  ASSERT_THAT(
      (*caller)->server().Subscribe<greeter::HelloReply>(
          kSignedTopic,
          [&](micro_nats::service::Context&, const greeter::HelloReply& r) {
            signatures.Add(absl::StrCat(r.message(), "@", r.served_by()));
            return absl::OkStatus();
          }),
      IsOk());
  ASSERT_THAT((*caller)->Start(), IsOk());
  greeter::GreeterClient greeter((*caller)->client(), greeter::kServiceName);
  std::set<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        greeter::HelloRequest hello;
        hello.set_name("anyone there");
        auto reply = greeter.Hello(hello);
        if (reply.ok()) seen.insert(reply->served_by());
        return seen.size() == 3;
      },
      absl::Seconds(30), "three signers answering"));

  // The node that took the held call is killed once it reported it.
  std::string killed;
  std::thread killer([&] {
    if (!Eventually(
            [&] {
              for (const std::string& got : signatures.Snapshot()) {
                if (absl::StartsWith(got, absl::StrCat(kHeld, "@"))) {
                  killed = got.substr(got.find('@') + 1);
                  return true;
                }
              }
              return false;
            },
            absl::Seconds(60), "the held call taken")) {
      return;
    }
    KillAndReap(signers[killed]);
    signers[killed] = -1;
  });
  constexpr int kCalls = 100;
  constexpr int kHeldCall = 50;
  int failures = 0;
  absl::Status held;
  absl::Duration held_took;
  for (int i = 0; i < kCalls; ++i) {
    greeter::SignRequest request;
    request.set_name(i == kHeldCall ? kHeld : absl::StrCat("guest-", i));
    const absl::Time start = absl::Now();
    auto reply = greeter.Sign(request, {.timeout = absl::Seconds(30)});
    if (i == kHeldCall) {
      held = reply.status();
      held_took = absl::Now() - start;
    } else if (!reply.ok()) {
      ++failures;
      ADD_FAILURE() << "call " << i << ": " << reply.status();
    }
  }
  killer.join();
  ASSERT_FALSE(killed.empty());
  // Heard of in call order: once the last one's report is here, any
  // signature taken twice before it is too.
  const std::string last = absl::StrCat("guest-", kCalls - 1, "@");
  ASSERT_TRUE(Eventually(
      [&] {
        for (const std::string& got : signatures.Snapshot()) {
          if (absl::StartsWith(got, last)) return true;
        }
        return false;
      },
      absl::Seconds(30), "the last signature reported"));
  std::map<std::string, int> taken;
  for (const std::string& got : signatures.Snapshot()) {
    ++taken[got.substr(0, got.find('@'))];
  }
  int twice = 0;
  for (const auto& [name, times] : taken) {
    EXPECT_EQ(times, 1) << name;
    if (times > 1) ++twice;
  }
  EXPECT_EQ(taken.size(), static_cast<size_t>(kCalls));
  EXPECT_EQ(failures, 0);
  EXPECT_THAT(held, StatusIs(absl::StatusCode::kUnavailable,
                             ::testing::HasSubstr("outcome unknown")));
  EXPECT_EQ((*caller)->client().stats().outcome_unknown, 1);
  std::printf(
      "%d signatures, the server running #%d (%s) killed mid-call: that call "
      "said \"%s\" after %s; %d other calls failed, %d signatures taken "
      "twice\n",
      kCalls, kHeldCall, killed.c_str(), std::string(held.message()).c_str(),
      absl::FormatDuration(absl::Trunc(held_took, absl::Milliseconds(1)))
          .c_str(),
      failures, twice);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--sign-victim") == 0) {
    return ServeSigner(argv[2], argv[3]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) server_binary = argv[1];
  return RUN_ALL_TESTS();
}
