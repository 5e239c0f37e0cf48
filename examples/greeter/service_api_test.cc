// Copyright 2026 The micro-nats Authors.
//
// The greeter as a NATS Service API (ADR-32) service, on a real
// nats-server: the nine `$SRV` subjects answer with schema-valid v1 JSON,
// STATS counts what happened, and a plain NATS request on an endpoint
// subject is served, errors with both header sets.

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.h"
#include "examples/greeter/greeter_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "service/errors.h"
#include "service/nats/nats_service.h"
#include "srv/protocol.h"
#include "srv/testing/schema.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace greeter {
namespace {

using ::micro_nats::Headers;
using ::micro_nats::nats::Connection;
using ::micro_nats::service::NatsServiceOptions;
using ::micro_nats::service::NewNatsService;
using ::micro_nats::service::Service;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
namespace srv = ::micro_nats::srv;

struct Reply {
  Headers headers;
  std::string body;
};

class ServiceApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(conn_,
                            Connection::Connect({.servers = {server_->url()}}));
  }

  // A running greeter instance with node id `id`.
  std::unique_ptr<Service> StartGreeter(const std::string& id,
                                        NatsServiceOptions options = {}) {
    options.servers = {server_->url()};
    options.server.description = "says hello";
    handlers_.push_back(std::make_unique<Greeter>(id));
    auto service =
        ::greeter::StartGreeter(std::move(options), id, *handlers_.back());
    EXPECT_THAT(service, IsOk());
    if (!service.ok()) return nullptr;
    return std::move(service).value();
  }

  // A plain NATS request, as `nats request` sends it.
  absl::StatusOr<Reply> Request(const std::string& subject,
                                const std::string& body,
                                const Headers& headers = {}) {
    auto msg = micro_nats::nats::BuildMessage(subject, "", headers, body);
    if (!msg.ok()) return msg.status();
    natsMsg* reply = nullptr;
    natsStatus s =
        natsConnection_RequestMsg(&reply, conn_->get(), msg->get(), 5000);
    if (s != NATS_OK) {
      return absl::UnavailableError(
          absl::StrCat("request on ", subject, ": ", natsStatus_GetText(s)));
    }
    Reply out{micro_nats::nats::ReadHeaders(reply),
              std::string(micro_nats::nats::Body(reply))};
    natsMsg_Destroy(reply);
    return out;
  }

  // Every answer to one `$SRV` request, once `count` came.
  std::vector<std::string> Gather(const std::string& subject, size_t count) {
    struct Inbox {
      std::mutex mu;
      std::vector<std::string> answers;
    };
    auto inbox = std::make_shared<Inbox>();
    const std::string reply = Connection::NewInbox();
    auto sub = conn_->Subscribe(reply, [inbox](natsMsg* msg) {
      std::lock_guard<std::mutex> lock(inbox->mu);
      inbox->answers.emplace_back(micro_nats::nats::Body(msg));
    });
    EXPECT_THAT(sub, IsOk());
    EXPECT_THAT(conn_->Publish(subject, "", {.reply = reply}), IsOk());
    EXPECT_TRUE(Eventually(
        [&] {
          std::lock_guard<std::mutex> lock(inbox->mu);
          return inbox->answers.size() >= count;
        },
        absl::Seconds(5), absl::StrCat(count, " answers on ", subject)));
    (*sub)->Unsubscribe().IgnoreError();
    std::lock_guard<std::mutex> lock(inbox->mu);
    return inbox->answers;
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<Connection> conn_;
  std::vector<std::unique_ptr<Greeter>> handlers_;
};

TEST_F(ServiceApiTest, AnswersAllNineSubjectsWithSchemaValidJson) {
  auto greeter = StartGreeter("greeter-1");
  ASSERT_NE(greeter, nullptr);
  for (srv::Verb verb :
       {srv::Verb::kPing, srv::Verb::kInfo, srv::Verb::kStats}) {
    for (const std::string& subject :
         {srv::ControlSubject(verb), srv::ControlSubject(verb, "greeter"),
          srv::ControlSubject(verb, "greeter", "greeter-1")}) {
      auto reply = Request(subject, "");
      ASSERT_THAT(reply, IsOk()) << subject;
      EXPECT_THAT(srv::testing::CheckAgainstSchema(verb, reply->body), IsOk())
          << subject;
      absl::StatusOr<srv::Identity> identity;
      switch (verb) {
        case srv::Verb::kPing:
          identity = srv::DecodePing(reply->body);
          break;
        case srv::Verb::kInfo:
          identity = srv::DecodeInfo(reply->body)->identity;
          break;
        case srv::Verb::kStats:
          identity = srv::DecodeStats(reply->body)->identity;
          break;
      }
      ASSERT_THAT(identity, IsOk()) << reply->body;
      EXPECT_EQ(identity->name, "greeter");
      EXPECT_EQ(identity->id, "greeter-1");
      EXPECT_EQ(identity->version, "0.0.0+latest");  // go-micro's "latest"
    }
  }
  auto info = srv::DecodeInfo(Request("$SRV.INFO.greeter", "")->body);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->description, "says hello");
  // The unary rpcs (the streams are not offered there), by name; their
  // metadata aside (Hello's says it is idempotent).
  auto endpoint = [](const std::string& name, const std::string& subject) {
    return ::testing::AllOf(
        ::testing::Field(&srv::EndpointInfo::name, name),
        ::testing::Field(&srv::EndpointInfo::subject, subject),
        ::testing::Field(&srv::EndpointInfo::queue_group, "q"));
  };
  EXPECT_THAT(info->endpoints,
              ElementsAre(endpoint("Greeter_Hello", "greeter.Greeter.Hello"),
                          endpoint("Greeter_Sign", "greeter.Greeter.Sign")));
}

TEST_F(ServiceApiTest, EachLevelReachesWhomItNames) {
  auto one = StartGreeter("greeter-1");
  auto two = StartGreeter("greeter-2");
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  std::vector<std::string> ids;
  for (const std::string& answer : Gather("$SRV.PING.greeter", 2)) {
    auto ping = srv::DecodePing(answer);
    ASSERT_THAT(ping, IsOk());
    ids.push_back(ping->id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre("greeter-1", "greeter-2"));
  EXPECT_THAT(Gather("$SRV.PING", 2), SizeIs(2));
  auto only_two = Request("$SRV.PING.greeter.greeter-2", "");
  ASSERT_THAT(only_two, IsOk());
  EXPECT_EQ(srv::DecodePing(only_two->body)->id, "greeter-2");
  EXPECT_FALSE(Request("$SRV.PING.other", "").ok()) << "no such service";
}

TEST_F(ServiceApiTest, PlainRequestOnTheEndpointSubjectIsServed) {
  auto greeter = StartGreeter("greeter-1");
  ASSERT_NE(greeter, nullptr);
  auto reply = Request("greeter.Greeter.Hello", R"({"name":"nats"})");
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, R"({"message":"Hello nats","served_by":"greeter-1"})");
  EXPECT_EQ(reply->headers.count(std::string(srv::kErrorHeader)), 0u);
  EXPECT_EQ(reply->headers["Content-Type"], "application/json");
}

TEST_F(ServiceApiTest, AnErrorCarriesBothHeaderSets) {
  auto greeter = StartGreeter("greeter-1");
  ASSERT_NE(greeter, nullptr);
  auto reply = Request("greeter.Greeter.Hello", R"({"name":""})");
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, "");
  EXPECT_EQ(reply->headers[std::string(srv::kErrorHeader)],
            "say who to greet: name is empty");
  EXPECT_EQ(reply->headers[std::string(srv::kErrorCodeHeader)], "400");
  EXPECT_EQ(micro_nats::service::ErrorFromJson(reply->headers["Micro-Error"]),
            absl::InvalidArgumentError("say who to greet: name is empty"));

  auto garbage = Request("greeter.Greeter.Hello", "{not json");
  ASSERT_THAT(garbage, IsOk());
  EXPECT_EQ(garbage->headers[std::string(srv::kErrorCodeHeader)], "400");
}

TEST_F(ServiceApiTest, StatsCountAKnownSequence) {
  auto greeter = StartGreeter("greeter-1");
  ASSERT_NE(greeter, nullptr);
  // Three calls through the micro-nats client (transport) ...
  GreeterClient client(greeter->client(), kServiceName);
  for (const char* name : {"a", "b", ""}) {
    HelloRequest request;
    request.set_name(name);
    (void)client.Hello(request);
  }
  // ... and two plain NATS requests, one of them an error.
  ASSERT_THAT(Request("greeter.Greeter.Hello", R"({"name":"c"})"), IsOk());
  ASSERT_THAT(Request("greeter.Greeter.Hello", R"({"name":""})"), IsOk());

  auto reply = Request("$SRV.STATS.greeter.greeter-1", "");
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(srv::testing::CheckAgainstSchema(srv::Verb::kStats, reply->body),
              IsOk());
  auto stats = srv::DecodeStats(reply->body);
  ASSERT_THAT(stats, IsOk());
  ASSERT_THAT(stats->endpoints, SizeIs(2));  // Hello, then Sign (unused)
  const srv::EndpointStats& hello = stats->endpoints[0];
  EXPECT_EQ(hello.name, "Greeter_Hello");
  EXPECT_EQ(hello.subject, "greeter.Greeter.Hello");
  EXPECT_EQ(hello.num_requests, 5);
  EXPECT_EQ(hello.num_errors, 2);
  EXPECT_THAT(hello.last_error, HasSubstr("name is empty"));
  EXPECT_GT(hello.processing_time, absl::ZeroDuration());
  EXPECT_EQ(
      hello.average_processing_time,
      absl::Nanoseconds(absl::ToInt64Nanoseconds(hello.processing_time) / 5));
  EXPECT_LE(stats->started, absl::Now());
  EXPECT_GT(stats->started, absl::Now() - absl::Minutes(1));
}

TEST_F(ServiceApiTest, QueueGroupSpreadsPlainRequests) {
  auto one = StartGreeter("greeter-1");
  auto two = StartGreeter("greeter-2");
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  std::map<std::string, int> served;
  for (int i = 0; i < 40; ++i) {
    auto reply = Request("greeter.Greeter.Hello", R"({"name":"q"})");
    ASSERT_THAT(reply, IsOk());
    served[reply->body]++;
  }
  // Each request is answered once (queue group "q"), by either instance.
  int total = 0;
  for (const auto& [body, n] : served) total += n;
  EXPECT_EQ(total, 40);
  EXPECT_THAT(served, SizeIs(2));
}

TEST_F(ServiceApiTest, GroupAndEndpointSubjectsAreConfigurable) {
  NatsServiceOptions options{.servers = {server_->url()},
                             .identity = {.name = "echo", .version = "2.0.0"}};
  options.service_api.group = "shop";
  auto echo = NewNatsService(std::move(options));
  ASSERT_THAT(echo, IsOk());
  ASSERT_THAT(
      (*echo)->server().Handle("Echo.Say",
                               [](micro_nats::service::Context&,
                                  const micro_nats::service::Message& request,
                                  micro_nats::service::Message* response) {
                                 response->body = request.body;
                                 return absl::OkStatus();
                               },
                               {.metadata = {{"kind", "raw"}},
                                .subject = "echo.say",
                                .queue_group = ""}),
      IsOk());
  ASSERT_THAT((*echo)->Start(), IsOk());
  auto info = srv::DecodeInfo(Request("$SRV.INFO.echo", "")->body);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->identity.version, "2.0.0");
  EXPECT_THAT(info->endpoints,
              ElementsAre(srv::EndpointInfo{.name = "Echo_Say",
                                            .subject = "shop.echo.say",
                                            .queue_group = "",
                                            .metadata = {{"kind", "raw"}}}));
  auto reply = Request("shop.echo.say", "ping");
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, "ping");
}

TEST_F(ServiceApiTest, AFullQueueIsRefusedAndCounted) {
  NatsServiceOptions options{.servers = {server_->url()},
                             .identity = {.name = "slow"}};
  options.service_api.max_concurrent_requests = 1;
  options.service_api.max_queued_requests = 1;
  auto slow = NewNatsService(std::move(options));
  ASSERT_THAT(slow, IsOk());
  struct Gate {
    std::mutex mu;
    bool open = false;  // guarded by mu
    int entered = 0;    // guarded by mu
    std::condition_variable cv;
  };
  auto gate = std::make_shared<Gate>();
  ASSERT_THAT((*slow)->server().Handle(
                  "Slow.Wait",
                  [gate](micro_nats::service::Context&,
                         const micro_nats::service::Message&,
                         micro_nats::service::Message*) {
                    std::unique_lock<std::mutex> lock(gate->mu);
                    ++gate->entered;
                    gate->cv.notify_all();
                    gate->cv.wait_for(lock, std::chrono::seconds(30),
                                      [&] { return gate->open; });
                    return absl::OkStatus();
                  }),
              IsOk());
  ASSERT_THAT((*slow)->Start(), IsOk());
  auto open_gate = [gate] {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->open = true;
    gate->cv.notify_all();
  };
  absl::Cleanup always_open = open_gate;

  struct Inbox {
    std::mutex mu;
    std::vector<Headers> replies;
  };
  auto inbox = std::make_shared<Inbox>();
  const std::string reply = Connection::NewInbox();
  auto sub = conn_->Subscribe(reply, [inbox](natsMsg* msg) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->replies.push_back(micro_nats::nats::ReadHeaders(msg));
  });
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(conn_->Flush(absl::Seconds(5)), IsOk());
  // The first runs (and blocks), the second waits, the third is refused.
  ASSERT_THAT(conn_->Publish("slow.Slow.Wait", "{}", {.reply = reply}), IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(gate->mu);
        return gate->entered == 1;
      },
      absl::Seconds(5), "the first request to run"));
  ASSERT_THAT(conn_->Publish("slow.Slow.Wait", "{}", {.reply = reply}), IsOk());
  ASSERT_THAT(conn_->Publish("slow.Slow.Wait", "{}", {.reply = reply}), IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(inbox->mu);
        return inbox->replies.size() == 1;
      },
      absl::Seconds(5), "the refusal"));
  {
    std::lock_guard<std::mutex> lock(inbox->mu);
    EXPECT_EQ(inbox->replies[0][std::string(srv::kErrorCodeHeader)], "429");
    EXPECT_THAT(inbox->replies[0][std::string(srv::kErrorHeader)],
                HasSubstr("overloaded"));
  }
  open_gate();
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(inbox->mu);
        return inbox->replies.size() == 3;
      },
      absl::Seconds(5), "the two others answered"));
  EXPECT_EQ((*slow)->server().stats().overloaded, 1);
  EXPECT_EQ((*slow)->server().stats().requests, 3);
}

TEST_F(ServiceApiTest, AStoppedServiceNoLongerAnswers) {
  auto greeter = StartGreeter("greeter-1");
  ASSERT_NE(greeter, nullptr);
  ASSERT_THAT(Request("$SRV.PING.greeter.greeter-1", ""), IsOk());
  ASSERT_THAT(greeter->Stop(absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_THAT(Request("$SRV.PING.greeter.greeter-1", ""),
              micro_nats::testing::StatusIs(absl::StatusCode::kUnavailable,
                                            HasSubstr("No responders")));
  EXPECT_FALSE(Request("greeter.Greeter.Hello", R"({"name":"x"})").ok());
}

TEST_F(ServiceApiTest, CanBeTurnedOff) {
  NatsServiceOptions options;
  options.service_api.enabled = false;
  auto greeter = StartGreeter("greeter-1", std::move(options));
  ASSERT_NE(greeter, nullptr);
  EXPECT_FALSE(Request("$SRV.PING.greeter", "").ok());
}

}  // namespace
}  // namespace greeter
