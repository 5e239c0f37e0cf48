// Copyright 2026 The micro-nats Authors.
//
// The `micro` CLI driven as a user drives it: a subprocess per command,
// against a real nats-server with the greeter example server running;
// stdout, stderr and exit codes checked.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "registry/kv/kv_registry.h"
#include "registry/registry.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

extern char** environ;

namespace micro_nats::tools {
namespace {

using ::micro_nats::testing::NatsServer;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

std::string Runfile(const std::string& path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root == nullptr ? "." : root, "/micro_nats/", path);
}

std::string TmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp == nullptr ? "/tmp" : tmp;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class MicroCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // JetStream for --registry kv and `micro events`.
    auto server = NatsServer::Start({.jetstream = true});
    ASSERT_THAT(server, ::micro_nats::testing::IsOk());
    server_ = std::move(server).value().release();
    // The greeter example, as a user would run it.
    greeter_ = StartGreeter();
    ASSERT_GT(greeter_, 0);
    ASSERT_TRUE(::micro_nats::testing::Eventually(
        [] { return Micro("health greeter").exit_code == 0; },
        absl::Seconds(10), "the greeter to answer"));
  }

  static void TearDownTestSuite() {
    StopGreeter(greeter_);
    delete server_;
  }

  // A greeter server process on this nats-server; its pid, 0 when it did
  // not start.
  static pid_t StartGreeter(std::vector<std::string> flags = {}) {
    const std::string binary = Runfile("examples/greeter/server");
    flags.insert(flags.begin(), {binary, "--server", server_->url()});
    std::vector<char*> argv;
    for (std::string& flag : flags) argv.push_back(flag.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) !=
        0) {
      return 0;
    }
    return pid;
  }

  static void StopGreeter(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  // Runs `micro <args> --server <url>` (a shell command line), with
  // `input` on stdin.
  // `base`: where its output goes (base.out, base.err); empty: a new name.
  // `binary` false: `args` names the program itself.
  static Result Micro(const std::string& args, const std::string& input = "",
                      bool with_server = true, std::string base = "",
                      bool binary = true) {
    static std::atomic<int> counter{0};
    if (base.empty()) base = absl::StrCat(TmpDir(), "/micro_", ++counter);
    {
      std::ofstream in(base + ".in");
      in << input;
    }
    const std::string command = absl::StrCat(
        "timeout 30 ", binary ? Runfile("tools/micro") + " " : "", args,
        with_server ? absl::StrCat(" --server ", server_->url()) : "", " <",
        base, ".in >", base, ".out 2>", base, ".err");
    const int status = std::system(command.c_str());
    return {.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            .out = Slurp(base + ".out"),
            .err = Slurp(base + ".err")};
  }

  // Runs `micro <args>` in the background and, once it says `ready` on
  // stderr, `meanwhile` (given the file its stdout goes to); then waits for
  // it to end (its --duration bounds that) and returns what it did.
  static Result MicroWhile(
      const std::string& args, const std::string& ready,
      const std::function<void(const std::string& out)>& meanwhile) {
    static std::atomic<int> counter{0};
    const std::string base = absl::StrCat(TmpDir(), "/background_", ++counter);
    Result result;
    std::thread command([&] { result = Micro(args, "", true, base); });
    const bool said = ::micro_nats::testing::Eventually(
        [&] { return Slurp(base + ".err").find(ready) != std::string::npos; },
        absl::Seconds(10), ready);
    if (said) meanwhile(base + ".out");
    command.join();
    EXPECT_TRUE(said) << "micro " << args << " never said " << ready;
    return result;
  }

  static NatsServer* server_;
  static pid_t greeter_;
};

NatsServer* MicroCliTest::server_ = nullptr;
pid_t MicroCliTest::greeter_ = 0;

TEST_F(MicroCliTest, ServicesListsTheGreeter) {
  Result r = Micro("services");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out,
              MatchesRegex("(.|\n)*greeter +1\\.0\\.0 +1 +\\$SRV,registry"
                           "(.|\n)*"));
  Result json = Micro("services --json");
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, HasSubstr(R"("name": "greeter")"));
  EXPECT_THAT(json.out, HasSubstr(R"("instances": 1)"));
}

TEST_F(MicroCliTest, DescribeShowsInstancesAndFields) {
  Result r = Micro("describe greeter");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      AllOf(HasSubstr("service greeter, version 1.0.0"),
            HasSubstr("Greeter.Hello\n"), HasSubstr("Greeter.Repeat (stream)"),
            HasSubstr("request HelloRequest"), HasSubstr("times int32"),
            HasSubstr("name string"), HasSubstr("served_by string"),
            HasSubstr("protocol=micro-nats")));
}

TEST_F(MicroCliTest, CallPrintsTheJsonAnswer) {
  Result r = Micro(R"(call greeter Greeter.Hello '{"name": "cli"}')");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("message": "Hello cli")"));
  Result piped = Micro("call greeter Greeter.Hello", R"({"name": "stdin"})");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_THAT(piped.out, HasSubstr("Hello stdin"));
  Result filtered = Micro(
      R"(call greeter Greeter.Hello '{"name": "v"}' --version 9.9 --timeout 1s)");
  EXPECT_EQ(filtered.exit_code, 1);
  EXPECT_THAT(filtered.err, HasSubstr("no node that matches"));
}

TEST_F(MicroCliTest, CallErrorsSayCodeAndDetail) {
  Result handler = Micro(R"(call greeter Greeter.Hello '{"name": ""}')");
  EXPECT_EQ(handler.exit_code, 1);
  EXPECT_EQ(handler.out, "");
  EXPECT_THAT(handler.err,
              HasSubstr("INVALID_ARGUMENT: say who to greet: name is empty"));
  Result unknown = Micro(R"(call nobody Any.Thing '{}')");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND: service 'nobody' not found"));
  Result bad_json = Micro(R"(call greeter Greeter.Hello '{"name": ')");
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("not valid JSON: at byte 10"));
}

// One greeter reply as `micro stream` prints it: a line of compact JSON.
std::string ReplyLine(const std::string& message) {
  return absl::StrCat(R"(\{"message":")", message,
                      R"(","served_by":"greeter-[0-9a-f]+"\})");
}

TEST_F(MicroCliTest, StreamPrintsEachResponseAsALine) {
  Result r =
      Micro(R"(stream greeter Greeter.Repeat '{"name": "cli", "times": 3}')");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex(absl::StrCat(
                         ReplyLine("Hello cli \\(1 of 3\\)"), "\n",
                         ReplyLine("Hello cli \\(2 of 3\\)"), "\n",
                         ReplyLine("Hello cli \\(3 of 3\\)"), "\n")));

  // Each argument is a request on the one stream (bidirectional here).
  Result args =
      Micro(R"(stream greeter Greeter.Chat '{"name": "x"}' '{"name": "y"}')");
  EXPECT_EQ(args.exit_code, 0) << args.err;
  EXPECT_THAT(args.out, MatchesRegex(absl::StrCat(ReplyLine("Hello x"), "\n",
                                                  ReplyLine("Hello y"), "\n")));

  // Without: each line of standard input (blank ones skipped).
  Result lines = Micro("stream greeter Greeter.Chat",
                       "{\"name\": \"a\"}\n\n{\"name\": \"b\"}");
  EXPECT_EQ(lines.exit_code, 0) << lines.err;
  EXPECT_THAT(lines.out,
              MatchesRegex(absl::StrCat(ReplyLine("Hello a"), "\n",
                                        ReplyLine("Hello b"), "\n")));
}

TEST_F(MicroCliTest, StreamErrorsSayCodeAndDetail) {
  // The handler's error, before any response.
  Result refused =
      Micro(R"(stream greeter Greeter.Repeat '{"name": "n", "times": 1001}')");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_THAT(refused.err, HasSubstr("stream failed: INVALID_ARGUMENT: times "
                                     "is 1001: from 0 to 1000"));
  // After some: those are printed first.
  Result midway =
      Micro(R"(stream greeter Greeter.Chat '{"name": "m"}' '{"name": ""}')");
  EXPECT_EQ(midway.exit_code, 1);
  EXPECT_THAT(midway.out, MatchesRegex(ReplyLine("Hello m") + "\n"));
  EXPECT_THAT(midway.err, HasSubstr("stream failed: INVALID_ARGUMENT: say who "
                                    "to greet: name is empty"));
  Result bad_line =
      Micro("stream greeter Greeter.Chat", "{\"name\": \"ok\"}\n{\"name\": \n");
  EXPECT_EQ(bad_line.exit_code, 1);
  EXPECT_THAT(bad_line.out, MatchesRegex(ReplyLine("Hello ok") + "\n"));
  EXPECT_THAT(bad_line.err,
              HasSubstr("line 2 of standard input is not valid JSON"));
  Result bad_arg =
      Micro(R"(stream greeter Greeter.Chat '{"name": "a"}' '{"name"')");
  EXPECT_EQ(bad_arg.exit_code, 1);
  EXPECT_THAT(bad_arg.err, HasSubstr("request 2 is not valid JSON: at byte"));
  Result unknown = Micro(R"(stream nobody Any.Thing '{}')");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(
      unknown.err,
      HasSubstr("stream failed: NOT_FOUND: service 'nobody' not found"));
  Result unary = Micro(R"(stream greeter Greeter.Hello '{"name": "u"}')");
  EXPECT_EQ(unary.exit_code, 1);
  EXPECT_THAT(unary.err, HasSubstr("stream failed: "));
}

TEST_F(MicroCliTest, PublishReachesSubscribeWithHeaders) {
  // It says so on stderr once subscribed.
  Result subscribed = MicroWhile(
      "subscribe 'orders.*' --count 1 --duration 20s", "subscribed to orders.*",
      [](const std::string&) {
        Result published =
            Micro(R"(publish orders.new '{"id":1}' --header k=v)");
        EXPECT_EQ(published.exit_code, 0) << published.err;
        EXPECT_EQ(published.out, "published 8 bytes to orders.new\n");
      });
  EXPECT_EQ(subscribed.exit_code, 0) << subscribed.err;
  EXPECT_EQ(subscribed.out, "[orders.new] k=v {\"id\":1}\n");
}

// Issue 22: what a peer sends is printed with its control characters
// escaped, so it cannot drive the user's terminal (retitle it, clear it).
TEST_F(MicroCliTest, RemoteTextIsEscapedBeforePrinting) {
  auto conn = nats::Connection::Connect({.servers = {server_->url()}});
  ASSERT_THAT(conn, ::micro_nats::testing::IsOk());
  // A rogue registrar answering every lookup, of a service only it has: a
  // lookup ends an idle gap (10 ms) after the last answer, so beside the
  // real greeter's answer the rogue's could come too late to be printed
  // (it did under TSan), and the test would not see it at all.
  constexpr char kRogue[] =
      R"({"name":"rogue","version":"9.9.9","metadata":{},"endpoints":[],)"
      R"("nodes":[{"id":"rogue-1","address":"_INBOX.rogue",)"
      R"("metadata":{"k":"\u001b]0;pwned\u0007\u001b[2J"}}]})";
  auto rogue = (*conn)->Subscribe("micro.nats.query", [&](natsMsg* msg) {
    (*conn)->Publish(nats::Reply(msg), kRogue).IgnoreError();
  });
  ASSERT_THAT(rogue, ::micro_nats::testing::IsOk());
  ASSERT_THAT((*conn)->Flush(absl::Seconds(5)), ::micro_nats::testing::IsOk());
  Result r = Micro("describe rogue");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rogue-1"));
  EXPECT_THAT(r.out, HasSubstr("k=\\x1b]0;pwned\\x07\\x1b[2J"));
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
  (*rogue)->Unsubscribe().IgnoreError();

  Result subscribed = MicroWhile(
      "subscribe 'esc.*' --count 1 --duration 20s", "subscribed to esc.*",
      [&](const std::string&) {
        EXPECT_THAT((*conn)->Publish("esc.body", "\x1b[2Jhi\r\n",
                                     {.headers = {{"K", "\xc2\x9bv"}}}),
                    ::micro_nats::testing::IsOk());
      });
  EXPECT_EQ(subscribed.exit_code, 0) << subscribed.err;
  EXPECT_EQ(subscribed.out, "[esc.body] K=\\u009bv \\x1b[2Jhi\\r\\n\n");
}

TEST_F(MicroCliTest, HealthAndStats) {
  Result health = Micro("health greeter");
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("1 of 1 instances answered"));
  EXPECT_THAT(health.out,
              MatchesRegex("greeter-[0-9a-f]+  ok  [0-9.]+(us|ms|s)\n"
                           "(.|\n)*"));
  ASSERT_EQ(Micro(R"(call greeter Greeter.Hello '{"name": "s"}')").exit_code,
            0);
  Result stats = Micro("stats greeter");
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, AllOf(HasSubstr("ENDPOINT"), HasSubstr("REQUESTS"),
                               HasSubstr("P50"), HasSubstr("P90"),
                               HasSubstr("P99"), HasSubstr("Greeter_Hello")));
  // Hello was called: its row has three percentiles (durations, not "-"),
  // between its average and its total.
  const std::string duration = "[0-9.]+(ns|us|ms|s)";
  EXPECT_THAT(stats.out, MatchesRegex(absl::StrCat(
                             "(.|\n)*Greeter_Hello +[0-9]+ +[0-9]+ +", duration,
                             " +", duration, " +", duration, " +", duration,
                             " +", duration, " +[^\n]+\n(.|\n)*")));
  Result json = Micro("stats greeter --json");
  EXPECT_THAT(json.out,
              HasSubstr(R"("type": "io.nats.micro.v1.stats_response")"));
  // The histogram behind them (STATS data.latency, srv/protocol.h).
  EXPECT_THAT(json.out,
              AllOf(HasSubstr(R"("latency": {)"), HasSubstr(R"("p99_ns": )"),
                    HasSubstr(R"("le_ns": [)")));
  Result none = Micro("health nobody");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("not found"));
}

// A STATS answer is another process's word: text is escaped, and latency
// data that is too large or not well formed is left out ("-"), never
// trusted or printed as given.
TEST_F(MicroCliTest, HostileStatsAreBoundedAndEscaped) {
  auto conn = nats::Connection::Connect({.servers = {server_->url()}});
  ASSERT_THAT(conn, ::micro_nats::testing::IsOk());
  // A registrar for service "rogue", as in RemoteTextIsEscapedBeforePrinting.
  constexpr char kRogue[] =
      R"({"name":"rogue","version":"9.9.9","metadata":{},"endpoints":[],)"
      R"("nodes":[{"id":"rogue-1","address":"_INBOX.rogue","metadata":{}}]})";
  auto registrar = (*conn)->Subscribe("micro.nats.query", [&](natsMsg* msg) {
    (*conn)->Publish(nats::Reply(msg), kRogue).IgnoreError();
  });
  ASSERT_THAT(registrar, ::micro_nats::testing::IsOk());
  // Its STATS: one endpoint with 100,000 buckets, one whose counts do not
  // add up, one with a terminal escape in its last error.
  std::string flood = R"({"latency":{"count":100000,"le_ns":[)";
  std::string counts;
  for (int i = 1; i <= 100000; ++i) {
    absl::StrAppend(&flood, i == 1 ? "" : ",", i);
    absl::StrAppend(&counts, i == 1 ? "" : ",", 1);
  }
  absl::StrAppend(&flood, R"(],"counts":[)", counts,
                  R"(],"p50_ns":1,"p90_ns":2,"p99_ns":3}})");
  const std::string answer = absl::StrCat(
      R"({"type":"io.nats.micro.v1.stats_response","name":"rogue",)",
      R"("id":"rogue-1","version":"9.9.9","started":"2026-11-28T12:00:00Z",)",
      R"("endpoints":[{"name":"Flood","subject":"rogue.flood",)",
      R"("num_requests":100000,"data":)", flood, "},",
      R"({"name":"Liar","subject":"rogue.liar","num_requests":1,"data":)",
      R"({"latency":{"count":5,"p50_ns":7777777,"p90_ns":7777777,)",
      R"("p99_ns":7777777,"le_ns":[1024],"counts":[1]}}},)",
      R"({"name":"Escape","subject":"rogue.escape","num_requests":1,)",
      R"("last_error":"\u001b]0;pwned\u0007"}]})");
  auto stats =
      (*conn)->Subscribe("$SRV.STATS.rogue.rogue-1", [&](natsMsg* msg) {
        (*conn)->Publish(nats::Reply(msg), answer).IgnoreError();
      });
  ASSERT_THAT(stats, ::micro_nats::testing::IsOk());
  ASSERT_THAT((*conn)->Flush(absl::Seconds(5)), ::micro_nats::testing::IsOk());

  Result r = Micro("stats rogue");
  (*stats)->Unsubscribe().IgnoreError();
  (*registrar)->Unsubscribe().IgnoreError();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // No percentile from either bad histogram: three "-" in each row.
  EXPECT_THAT(r.out, MatchesRegex("(.|\n)*rogue-1 +Flood +100000 +0 +0 +- +"
                                  "- +- +0 +-\n(.|\n)*"));
  EXPECT_THAT(r.out, MatchesRegex("(.|\n)*rogue-1 +Liar +1 +0 +0 +- +- +- "
                                  "+0 +-\n(.|\n)*"));
  EXPECT_THAT(r.out, Not(HasSubstr("7.777")));
  EXPECT_THAT(r.out, HasSubstr("\\x1b]0;pwned\\x07"));
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
}

TEST_F(MicroCliTest, WatchSeesANewInstanceComeAndGo) {
  // A second greeter instance registers while the watch runs, and is
  // stopped once the watch printed it. The running greeter re-registers
  // every 30 s: its "update" may come in between (a run under TSan is long
  // enough to meet one), and then takes the second line.
  Result watched = MicroWhile(
      "watch greeter --count 2 --duration 20s", "watching greeter",
      [&](const std::string& out) {
        const pid_t second = StartGreeter();
        EXPECT_GT(second, 0);
        EXPECT_TRUE(::micro_nats::testing::Eventually(
            [&] { return Slurp(out).find("create ") != std::string::npos; },
            absl::Seconds(15), "the new instance's create"));
        StopGreeter(second);
      });
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  const std::vector<std::string> lines =
      absl::StrSplit(watched.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << watched.out;
  std::string created;
  std::string other;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, "create ")) {
      EXPECT_TRUE(created.empty()) << watched.out;
      created = line;
    } else {
      other = line;
    }
  }
  ASSERT_THAT(created, MatchesRegex("create greeter 1\\.0\\.0 greeter-[^ ,]+"))
      << watched.out;
  const std::string id = created.substr(created.rfind(' ') + 1);
  // Its delete, or the running greeter's update (another id).
  if (absl::StartsWith(other, "delete ")) {
    EXPECT_EQ(other, "delete greeter 1.0.0 " + id);
  } else {
    EXPECT_THAT(other, MatchesRegex("update greeter 1\\.0\\.0 greeter-[^ ,]+"))
        << watched.out;
    EXPECT_NE(other.substr(other.rfind(' ') + 1), id) << watched.out;
  }
}

TEST_F(MicroCliTest, KvRegistryListsDescribesAndWatches) {
  auto conn = nats::Connection::Connect({.servers = {server_->url()}});
  ASSERT_THAT(conn, ::micro_nats::testing::IsOk());
  auto kv = registry::NewKvRegistry(*conn);
  ASSERT_THAT(kv, ::micro_nats::testing::IsOk());
  registry::Service service{.name = "kvsvc", .version = "2.0.0"};
  service.nodes.push_back({.id = "kvsvc-1", .address = "_INBOX.kvsvc"});
  service.endpoints.push_back({.name = "Kv.Get"});
  Result listed;
  Result described;
  Result broadcast;
  Result watched = MicroWhile(
      "watch kvsvc --registry kv --count 2 --duration 20s", "watching kvsvc",
      [&](const std::string& out) {
        ASSERT_THAT((*kv)->Register(service), ::micro_nats::testing::IsOk());
        EXPECT_TRUE(::micro_nats::testing::Eventually(
            [&] { return Slurp(out).find("create ") != std::string::npos; },
            absl::Seconds(15), "the create"));
        listed = Micro("services --registry kv");
        described = Micro("describe kvsvc --registry=kv");
        broadcast = Micro("services");
        ASSERT_THAT((*kv)->Deregister(service), ::micro_nats::testing::IsOk());
      });
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out,
              MatchesRegex("(.|\n)*kvsvc +2\\.0\\.0 +1 +kv\n(.|\n)*"));
  EXPECT_EQ(described.exit_code, 0) << described.err;
  EXPECT_THAT(described.out,
              AllOf(HasSubstr("service kvsvc, version 2.0.0"),
                    HasSubstr("kvsvc-1  _INBOX.kvsvc"), HasSubstr("Kv.Get")));
  // Key-value registrations are not answered by broadcast discovery.
  EXPECT_EQ(broadcast.exit_code, 0) << broadcast.err;
  EXPECT_THAT(broadcast.out, ::testing::Not(HasSubstr("kvsvc")));
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_EQ(watched.out,
            "create kvsvc 2.0.0 kvsvc-1\ndelete kvsvc 2.0.0 kvsvc-1\n");
}

TEST_F(MicroCliTest, AGreeterWithKeyValueDiscoveryIsListedCalledAndStreamed) {
  const pid_t kv_greeter =
      StartGreeter({"--registry", "kv", "--version", "2.0.0"});
  ASSERT_GT(kv_greeter, 0);
  Result called;
  EXPECT_TRUE(::micro_nats::testing::Eventually(
      [&] {
        called = Micro(
            "call greeter Greeter.Hello '{\"name\": \"kv\"}' --registry kv "
            "--version 2.0.0");
        return called.exit_code == 0;
      },
      absl::Seconds(10), "a call through key-value discovery"));
  EXPECT_THAT(called.out, HasSubstr("Hello kv"));
  // Found in the bucket (and, as every greeter, through $SRV).
  Result listed = Micro("services --registry kv");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out,
              MatchesRegex("(.|\n)*greeter +1\\.0\\.0,2\\.0\\.0 +2 +\\$SRV,kv\n"
                           "(.|\n)*"));
  Result streamed = Micro(
      "stream greeter Greeter.Repeat '{\"name\": \"x\", \"times\": 3}' "
      "--registry kv --version 2.0.0");
  EXPECT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(std::count(streamed.out.begin(), streamed.out.end(), '\n'), 3)
      << streamed.out;
  // The greeter client finds it the same way.
  Result client = Micro(absl::StrCat(Runfile("examples/greeter/client"),
                                     " --registry kv --count 1 --name c"),
                        "", true, "", /*binary=*/false);
  EXPECT_EQ(client.exit_code, 0) << client.out << client.err;
  EXPECT_THAT(client.out, HasSubstr("Hello c"));
  StopGreeter(kv_greeter);
  // Deregistered from the bucket when it stops.
  EXPECT_TRUE(::micro_nats::testing::Eventually(
      [&] {
        Result r = Micro("describe greeter --registry kv");
        return r.exit_code == 0 &&
               r.out.find("version 2.0.0") == std::string::npos;
      },
      absl::Seconds(10), "the kv greeter gone"));
}

TEST_F(MicroCliTest, EventsPublishConsumeAndInfo) {
  // The first publish declares the stream; the others find it on the
  // server.
  Result r = Micro(
      "events publish evt.a '{\"n\": 1}' --stream EVT --subjects 'evt.>'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stored evt.a as sequence 1\n");
  r = Micro("events publish evt.a - --header K=v", "{\"n\": 2}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stored evt.a as sequence 2\n");
  r = Micro("events publish evt.b '\"text\"'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stored evt.b as sequence 3\n");
  // A durable group from the start: two, then it resumes where it left.
  r = Micro("events consume 'evt.*' --group g --start all --count 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 1 evt.a {\"n\":1}\n2 1 evt.a {\"n\":2}\n");
  EXPECT_THAT(r.err, HasSubstr("consuming evt.* as group g"));
  r = Micro("events info 'evt.*' --group g");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              MatchesRegex("stream EVT: 3 events, [0-9]+ bytes, sequences "
                           "1\\.\\.3\n"
                           "dead-lettered \\(dead\\.evt\\.\\*\\): 0\n"
                           "group g: pending (1, in flight 0|0, in flight 1), "
                           "redelivered 0, acknowledged up to 2\n"));
  // Event 3 may have reached that consumer after its count and been handed
  // back (in flight until the nak lands, then delivered a second time).
  r = Micro("events consume 'evt.*' --group g --count 1 --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("\"sequence\":3"),
                           MatchesRegex(".*\"delivery_count\":[12],.*\n"),
                           HasSubstr("\"body\":\"text\""),
                           HasSubstr("\"topic\":\"evt.b\"")));
  // An ephemeral consumer from a sequence sees the header too.
  r = Micro("events consume evt.a --start seq:2 --count 1 --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              AllOf(HasSubstr("\"sequence\":2"), HasSubstr("\"K\":\"v\"")));
  // Dead letters of the topic: what its dead-letter topic stores.
  r = Micro(
      "events publish dead.evt.a '{}' --stream EVDEAD --subjects 'dead.evt.>'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Micro("events info evt.a --group g --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      AllOf(HasSubstr("\"dead_lettered\": 1"), HasSubstr("\"pending\": 0"),
            HasSubstr("\"ack_floor\": 3"), HasSubstr("\"last_sequence\": 3")));
}

TEST_F(MicroCliTest, EventsErrorsSayWhy) {
  struct Use {
    std::string args;
    int exit_code;
    std::string says;
  };
  ASSERT_EQ(Micro("events publish erx.a '{}' --stream ERX --subjects 'erx.>'")
                .exit_code,
            0);
  const Use uses[] = {
      {"events", 2, "events takes publish, consume or info"},
      {"events publish nostream.a '{}'", 1, "no stream holds topic nostream.a"},
      {"events publish erx.a 'not json'", 1, "not valid JSON"},
      {"events publish 'erx.*' '{}'", 1, "topic"},
      {"events consume erx.a --group fresh", 1, "say where it starts"},
      {"events consume erx.a --group g --start seq:0", 2, "--start is new"},
      {"events info erx.a --group nobody", 1, "group nobody"},
      {"events publish erx.a '{}' --stream X", 1, "--stream needs --subjects"},
  };
  for (const Use& use : uses) {
    SCOPED_TRACE(use.args);
    Result r = Micro(use.args);
    EXPECT_EQ(r.exit_code, use.exit_code) << r.err;
    EXPECT_THAT(r.err, HasSubstr(use.says));
  }
}

TEST_F(MicroCliTest, ClearErrorsForBadUse) {
  // Each use, its exit code (kFailed: any but 0) and what it says: on
  // stderr when it fails, on stdout when it succeeds (help).
  constexpr int kFailed = -1;
  struct Use {
    std::string args;
    int exit_code;
    std::vector<std::string> says;
    bool with_server = true;
  };
  const Use uses[] = {
      {"services --server nats://127.0.0.1:1",
       1,
       {"nats://127.0.0.1:1"},
       false},
      {"frobnicate", 2, {"unknown command 'frobnicate'"}},
      {"services --timeout=soon", kFailed, {"timeout"}},
      {"publish t x --header novalue", 2, {"--header wants k=v"}},
      {"call --help", 0, {"usage: micro call NAME ENDPOINT"}},
      {"stream --help", 0, {"usage: micro stream NAME ENDPOINT"}},
      {"stream greeter", 2, {"stream takes a service, an endpoint"}},
      {"services --registry etcd", kFailed, {"--registry is nats or kv"}},
      {"help", 0, {"services", "describe", "stream", "subscribe", "stats"}},
  };
  for (const Use& use : uses) {
    SCOPED_TRACE(use.args);
    Result r = Micro(use.args, "", use.with_server);
    if (use.exit_code == kFailed) {
      EXPECT_NE(r.exit_code, 0);
    } else {
      EXPECT_EQ(r.exit_code, use.exit_code);
    }
    for (const std::string& text : use.says) {
      EXPECT_THAT(use.exit_code == 0 ? r.out : r.err, HasSubstr(text));
    }
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("terminate called")));
  }
}

}  // namespace
}  // namespace micro_nats::tools
