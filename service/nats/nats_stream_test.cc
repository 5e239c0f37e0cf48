// Copyright 2026 The micro-nats Authors.
//
// The stream suite (service/testing/stream_suite.h) on the NATS stack, and
// what only NATS has: a server process killed mid-stream (a child process
// of this binary, SIGKILLed: no close, no deregistration), and the NATS
// Service API, which offers no stream endpoints.
//
// `nats_stream_test --stream-victim URL` is that child: a stream service on
// the nats-server at URL, serving until killed.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "nats/connection.h"
#include "nats/message.h"
#include "service/nats/nats_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/testing/stream_suite.h"
#include "srv/protocol.h"
#include "testing/nats_server.h"

extern char** environ;

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::NatsServer;

constexpr char kVictim[] = "stream-victim";
constexpr char kVictimSource[] = "Victim.Source";

// Each service on a connection of its own, as separate processes would be.
class NatsStreamEnvironment : public StreamEnvironment, public NatsServices {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server,
      ClientOptions client) override {
    return NewOnServer({.identity = {.name = name},
                        .server = std::move(server),
                        .client = std::move(client)});
  }
};

INSTANTIATE_TEST_SUITE_P(Nats, StreamTest,
                         ::testing::Values(StreamBackend{
                             "Nats",
                             &NatsServices::Start<NatsStreamEnvironment>}),
                         StreamBackendName);

// The child: sends numbered messages on each stream until Send fails.
int ServeVictim(const std::string& url) {
  auto service =
      NewNatsService({.servers = {url}, .identity = {.name = kVictim}});
  if (!service.ok()) {
    std::fprintf(stderr, "victim: %s\n", service.status().ToString().c_str());
    return 1;
  }
  absl::Status handled = (*service)->server().HandleStream(
      kVictimSource, [](Context&, ServerStream& stream) -> absl::Status {
        MN_RETURN_IF_ERROR(stream.Recv().status());
        for (int i = 0;; ++i) {
          MN_RETURN_IF_ERROR(stream.Send({.body = absl::StrCat(i)}));
        }
      });
  if (absl::Status started = handled.ok() ? (*service)->Start() : handled;
      !started.ok()) {
    std::fprintf(stderr, "victim: %s\n", started.ToString().c_str());
    return 1;
  }
  for (;;) pause();  // until killed
}

class NatsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = NatsServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = std::move(server).value();
  }

  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ClientOptions client = {}) {
    NatsServiceOptions options = {.identity = {.name = name},
                                  .client = std::move(client)};
    options.servers = {server_->url()};
    WidenLookupWindows(options);
    return NewNatsService(std::move(options));
  }

  std::unique_ptr<NatsServer> server_;
};

TEST_F(NatsStreamTest, AServerProcessKilledMidStreamIsUnavailableByProbe) {
  const absl::Duration probe = absl::Milliseconds(200);
  MN_ASSERT_OK_AND_ASSIGN(
      auto caller, NewService("victim-caller", {.probe_interval = probe}));
  std::string url = server_->url();
  std::vector<char*> argv = {const_cast<char*>("/proc/self/exe"),
                             const_cast<char*>("--stream-victim"), url.data(),
                             nullptr};
  pid_t victim = -1;
  ASSERT_EQ(posix_spawn(&victim, "/proc/self/exe", nullptr, nullptr,
                        argv.data(), environ),
            0);
  struct Reaper {
    pid_t& pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{victim};
  bool exited = false;
  ASSERT_TRUE(Eventually(
      [&] {
        if (waitpid(victim, nullptr, WNOHANG) == victim) {
          victim = -1;  // reaped: it failed to serve (its stderr says)
          return exited = true;
        }
        auto found = caller->registry().GetService(kVictim);
        return found.ok() && !found->empty() && !(*found)[0].nodes.empty();
      },
      absl::Seconds(30), "the victim registered"));
  ASSERT_FALSE(exited) << "the victim exited";
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ClientStream> stream,
      caller->client().StreamRaw(kVictim, kVictimSource,
                                 {.call = {.timeout = absl::Seconds(120)},
                                  .window = {.messages = 8}}));
  ASSERT_THAT(stream->Send({.body = "go"}), IsOk());
  ASSERT_THAT(stream->Recv(absl::Now() + absl::Seconds(30)),
              IsOkAndHolds(::testing::Field(&Message::body, "0")));

  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_EQ(waitpid(victim, nullptr, 0), victim);
  victim = -1;
  const absl::Time killed = absl::Now();
  // What was on its way still arrives, in order; then the end.
  int next = 1;
  absl::StatusOr<Message> message;
  while ((message = stream->Recv(absl::Now() + absl::Seconds(30))).ok()) {
    ASSERT_EQ(message->body, absl::StrCat(next));
    ++next;
  }
  const absl::Duration took = absl::Now() - killed;
  EXPECT_THAT(message.status(), StatusIs(absl::StatusCode::kUnavailable));
  // Within about the probe interval; bounded far below the stream's and
  // the Recv's deadline.
  EXPECT_LT(took, ::micro_nats::testing::UnderSanitizers(absl::Seconds(5),
                                                         absl::Seconds(15)));
  std::printf(
      "[ stream ] killed server: Unavailable %s after SIGKILL "
      "(probe interval %s), %d messages drained\n",
      absl::FormatDuration(took).c_str(), absl::FormatDuration(probe).c_str(),
      next - 1);
}

TEST_F(NatsStreamTest, StreamEndpointsAreNotOfferedOnTheServiceApi) {
  MN_ASSERT_OK_AND_ASSIGN(auto service, NewService("api-streams"));
  ASSERT_THAT(service->server().Handle("Plain.Call",
                                       [](Context&, const Message&, Message*) {
                                         return absl::OkStatus();
                                       }),
              IsOk());
  ASSERT_THAT(service->server().HandleStream(
                  "Items.Stream",
                  [](Context&, ServerStream&) { return absl::OkStatus(); }),
              IsOk());
  ASSERT_THAT(service->Start(), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto raw, nats::Connection::Connect({.servers = {server_->url()}}));
  absl::StatusOr<srv::InfoResponse> info = absl::UnknownError("not asked yet");
  ASSERT_TRUE(Eventually(
      [&] {
        auto answer = raw->Request("$SRV.INFO.api-streams", "", {},
                                   absl::Now() + absl::Seconds(2));
        if (!answer.ok()) return false;
        info = srv::DecodeInfo(nats::Body(answer->get()));
        return info.ok();
      },
      absl::Seconds(30), "an INFO answer"))
      << info.status();
  std::vector<std::string> offered;
  for (const srv::EndpointInfo& endpoint : info->endpoints) {
    offered.push_back(endpoint.subject);
  }
  EXPECT_THAT(offered, ::testing::ElementsAre(HasSubstr("Plain.Call")));
  // Still registered, marked, in go-micro's registry.
  auto versions = service->registry().GetService("api-streams");
  ASSERT_THAT(versions, IsOk());
  ASSERT_FALSE(versions->empty());
  bool marked = false;
  for (const registry::Endpoint& endpoint : (*versions)[0].endpoints) {
    if (endpoint.name == "Items.Stream") {
      marked = endpoint.metadata.count("stream") == 1 &&
               endpoint.metadata.at("stream") == "true";
    }
  }
  EXPECT_TRUE(marked);
}

}  // namespace
}  // namespace micro_nats::service

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--stream-victim") == 0) {
    return micro_nats::service::ServeVictim(argv[2]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
