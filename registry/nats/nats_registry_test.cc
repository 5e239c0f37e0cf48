// Copyright 2026 The micro-nats Authors.

#include "registry/nats/nats_registry.h"

#include <atomic>
#include <mutex>

#include "nats/message.h"
#include "registry/nats/internal/census.h"
#include "registry/testing/conformance.h"
#include "testing/nats_server.h"

namespace micro_nats::registry::testing {
namespace {

using ::micro_nats::testing::NatsServer;

// A real nats-server; every registry on its own connection.
class NatsEnvironment : public RegistryEnvironment {
 public:
  explicit NatsEnvironment(std::unique_ptr<NatsServer> server)
      : server_(std::move(server)) {}

  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() override {
    auto conn = nats::Connection::Connect(
        {.servers = {server_->url()}, .max_reconnect_attempts = 1});
    if (!conn.ok()) return conn.status();
    return NewNatsRegistry(*conn, {.sweep_interval = absl::Milliseconds(20)});
  }
  bool can_stop_backend() const override { return true; }
  absl::Status StopBackend() override { return server_->Stop(); }

 private:
  std::unique_ptr<NatsServer> server_;
};

absl::StatusOr<std::unique_ptr<RegistryEnvironment>> MakeNatsEnvironment() {
  auto server = NatsServer::Start();
  if (!server.ok()) return server.status();
  return std::make_unique<NatsEnvironment>(std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(Nats, RegistryConformanceTest,
                         ::testing::Values(RegistryBackend{
                             "Nats", &MakeNatsEnvironment}),
                         RegistryBackendName);

class NatsRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(raw_, Connect());
  }

  absl::StatusOr<std::shared_ptr<nats::Connection>> Connect() {
    return nats::Connection::Connect({.servers = {server_->url()}});
  }

  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry(
      NatsRegistryOptions options = {}) {
    auto conn = Connect();
    if (!conn.ok()) return conn.status();
    return NewNatsRegistry(*conn, std::move(options));
  }

  // Answers every registry query on `subject` with `replies` payloads,
  // spaced by `gap`, as a process written elsewhere would.
  absl::StatusOr<std::unique_ptr<nats::Subscription>> FakeResponder(
      std::vector<std::string> replies, absl::Duration gap,
      const std::string& subject = "micro.nats.query") {
    return raw_->Subscribe(subject, [this, replies, gap](natsMsg* msg) {
      const std::string reply(nats::Reply(msg));
      for (const std::string& payload : replies) {
        raw_->Publish(reply, payload).IgnoreError();
        if (gap > absl::ZeroDuration()) absl::SleepFor(gap);  // a slow peer
      }
    });
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> raw_;
};

std::string GoMicroService(const std::string& node_id) {
  return absl::StrCat(
      R"({"name":"legacy","version":"1.0","metadata":null,"endpoints":null,)",
      R"("nodes":[{"id":")", node_id,
      R"(","address":"10.0.0.9:9090","metadata":null}]})");
}

// --- Census hints: a lookup that knows when it is complete ---

NatsRegistryOptions Hinting(absl::Duration idle_gap = absl::Seconds(3)) {
  return {.timeout = absl::Seconds(6),
          .idle_gap = idle_gap,
          .census_warmup = absl::ZeroDuration()};
}

// Waits until `answers` answers to a raw "get" query for `name` carry a
// census hint, all of them of the `expected` node ids (every hinting
// registrar has heard of all). Answers without a hint are not counted.
::testing::AssertionResult AllHint(nats::Connection& raw,
                                   const std::string& name,
                                   std::vector<std::string> expected,
                                   size_t answers) {
  registry_internal::NodeSet set;
  for (const auto& id : expected) set.Add(id);
  const registry_internal::CensusHint want = set.hint();
  return Eventually(
      [&] {
        struct Inbox {
          std::mutex mu;
          std::vector<std::string> hints;
        };
        auto inbox = std::make_shared<Inbox>();
        const std::string reply = nats::Connection::NewInbox();
        auto sub = raw.Subscribe(reply, [inbox](natsMsg* msg) {
          auto headers = nats::ReadHeaders(msg);
          auto hint = headers.find(registry_internal::kCensusHeader);
          if (hint == headers.end()) return;
          std::lock_guard<std::mutex> lock(inbox->mu);
          inbox->hints.push_back(hint->second);
        });
        if (!sub.ok()) return false;
        raw.Publish("micro.nats.query",
                    absl::StrCat(R"({"Action":"get","Service":{"name":")", name,
                                 R"("}})"),
                    {.reply = reply})
            .IgnoreError();
        bool all = Eventually(
            [&] {
              std::lock_guard<std::mutex> lock(inbox->mu);
              return inbox->hints.size() >= answers;
            },
            absl::Seconds(2), "answers");
        std::lock_guard<std::mutex> lock(inbox->mu);
        if (!all) return false;
        for (const auto& hint : inbox->hints) {
          auto parsed = registry_internal::ParseHint(hint);
          if (!parsed || parsed->hint != want) return false;
        }
        return true;
      },
      absl::Seconds(10), "every registrar to hint the whole set");
}

TEST_F(NatsRegistryTest, ALookupEndsAsSoonAsTheSetIsKnownComplete) {
  std::vector<std::unique_ptr<Registry>> registrars;
  for (int i = 0; i < 3; ++i) {
    MN_ASSERT_OK_AND_ASSIGN(auto r, NewRegistry(Hinting()));
    registrars.push_back(std::move(r));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(registrars[i]->Register(
                    {.name = "census",
                     .version = "1",
                     .nodes = {{.id = absl::StrCat("n", i), .address = "a"}}}),
                IsOk());
  }
  ASSERT_TRUE(AllHint(*raw_, "census", {"n0", "n1", "n2"}, 3));
  // A 3 s idle gap: a lookup that waited for it would take 3 s.
  MN_ASSERT_OK_AND_ASSIGN(auto looker, NewRegistry(Hinting()));
  const absl::Time start = absl::Now();
  auto found = looker->Find("census");
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->complete);
  ASSERT_THAT(found->services, SizeIs(1));
  EXPECT_THAT(NodeIds(found->services[0]),
              ::testing::ElementsAre("n0", "n1", "n2"));
  EXPECT_LT(took, absl::Seconds(2)) << "it waited for the idle gap";
}

TEST_F(NatsRegistryTest, AGoMicroRegistrarAmongHintingOnesIsStillFound) {
  MN_ASSERT_OK_AND_ASSIGN(auto ours, NewRegistry(Hinting()));
  // go-micro announces its registration on the watch subject, and answers
  // queries without hints. The hinting registrar's census counts it, so a
  // lookup waits for its answer past the idle gap if need be.
  ASSERT_THAT(raw_->Publish("micro.nats.watch",
                            absl::StrCat(R"({"Action":"create","Service":)",
                                         GoMicroService("go-1"), "}")),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      FakeResponder({GoMicroService("go-1")}, absl::ZeroDuration()));
  ASSERT_THAT(ours->Register({.name = "legacy",
                              .version = "1.0",
                              .nodes = {{.id = "ours-1", .address = "a"}}}),
              IsOk());
  ASSERT_TRUE(AllHint(*raw_, "legacy", {"go-1", "ours-1"}, 1));
  MN_ASSERT_OK_AND_ASSIGN(auto looker, NewRegistry(Hinting()));
  auto found = looker->Find("legacy");
  ASSERT_THAT(found, IsOk());
  ASSERT_THAT(found->services, SizeIs(1));
  EXPECT_THAT(NodeIds(found->services[0]),
              ::testing::ElementsAre("go-1", "ours-1"));
  EXPECT_TRUE(found->complete) << "the hint counted the go-micro node";
}

TEST_F(NatsRegistryTest, OnlyGoMicroRegistrarsMeansAGuess) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder, FakeResponder({GoMicroService("a"), GoMicroService("b")},
                                    absl::ZeroDuration()));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto looker,
                          NewRegistry(Hinting(absl::Milliseconds(50))));
  auto found = looker->Find("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(NodeIds(found->services.at(0)), ::testing::ElementsAre("a", "b"));
  EXPECT_FALSE(found->complete) << "no hint: the idle gap ended it";
}

// A registrar that answers with a hint of its own making: `hint` on a
// go-micro answer for node `id`.
absl::StatusOr<std::unique_ptr<nats::Subscription>> Liar(
    nats::Connection& raw, const std::string& hint,
    std::vector<std::string> ids, absl::Duration delay = absl::ZeroDuration()) {
  return raw.Subscribe("micro.nats.query", [&raw, hint, ids,
                                            delay](natsMsg* msg) {
    if (delay > absl::ZeroDuration()) absl::SleepFor(delay);  // a slow peer
    const std::string reply(nats::Reply(msg));
    std::string nodes;
    for (const auto& id : ids) {
      absl::StrAppend(&nodes, nodes.empty() ? "" : ",", R"({"id":")", id,
                      R"(","address":"x"})");
    }
    raw.Publish(reply,
                absl::StrCat(R"({"name":"legacy","version":"1.0","nodes":[)",
                             nodes, "]}"),
                {.headers = {{registry_internal::kCensusHeader, hint}}})
        .IgnoreError();
  });
}

std::string HintFor(std::vector<std::string> ids, int64_t count = -1) {
  registry_internal::NodeSet set;
  for (const auto& id : ids) set.Add(id);
  registry_internal::CensusHint hint = set.hint();
  if (count >= 0) hint.count = count;
  return registry_internal::FormatHint(hint, "liar");
}

TEST_F(NatsRegistryTest, AnOverstatedCountCannotMakeALookupHang) {
  // Claims five nodes; there is one.
  MN_ASSERT_OK_AND_ASSIGN(auto liar, Liar(*raw_, HintFor({"x"}, 5), {"x"}));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto looker,
                          NewRegistry(Hinting(absl::Milliseconds(50))));
  auto found = looker->Find("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(NodeIds(found->services.at(0)), ::testing::ElementsAre("x"));
  EXPECT_FALSE(found->complete);
}

TEST_F(NatsRegistryTest, AnUnderstatedCountIsCaughtAndMarked) {
  // Its hint covers fewer nodes than its own answer.
  MN_ASSERT_OK_AND_ASSIGN(auto liar, Liar(*raw_, HintFor({"x"}), {"x", "y"}));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto looker,
                          NewRegistry(Hinting(absl::Milliseconds(50))));
  auto found = looker->Find("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(NodeIds(found->services.at(0)), ::testing::ElementsAre("x", "y"));
  EXPECT_FALSE(found->complete);
}

TEST_F(NatsRegistryTest, DisagreeingHintsMeanAGuess) {
  // Two registrars whose hints disagree: no knowing which is right. The
  // one that understates answers last (the first-comer is trusted alone
  // only for a couple of its round trips; see Judge::Verdict).
  MN_ASSERT_OK_AND_ASSIGN(
      auto one, Liar(*raw_, HintFor({"x"}), {"x"}, absl::Milliseconds(20)));
  MN_ASSERT_OK_AND_ASSIGN(auto conn, Connect());
  MN_ASSERT_OK_AND_ASSIGN(auto two,
                          Liar(*conn, HintFor({"x", "y", "z"}), {"y"}));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  ASSERT_THAT(conn->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto looker,
                          NewRegistry(Hinting(absl::Milliseconds(100))));
  auto found = looker->Find("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(NodeIds(found->services.at(0)), ::testing::ElementsAre("x", "y"));
  EXPECT_FALSE(found->complete);
}

TEST_F(NatsRegistryTest, AnOversizedAnswerIsDroppedUnread) {
  std::string huge = GoMicroService("huge");
  huge.insert(huge.size() - 1, std::string(300 << 10, ' '));  // valid JSON
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      FakeResponder({huge, GoMicroService("ok")}, absl::ZeroDuration()));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  auto found = registry->GetService("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(NodeIds((*found)[0]), std::vector<std::string>{"ok"});
}

TEST_F(NatsRegistryTest, FindsServicesOfGoMicroProcesses) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder, FakeResponder({GoMicroService("a"), GoMicroService("b")},
                                    absl::ZeroDuration()));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  auto found = registry->GetService("legacy");
  ASSERT_THAT(found, IsOk());
  ASSERT_THAT(*found, SizeIs(1));
  EXPECT_EQ(NodeIds((*found)[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*found)[0].nodes[0].address, "10.0.0.9:9090");
}

TEST_F(NatsRegistryTest, AnswersQueriesInGoMicrosFormat) {
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  ASSERT_THAT(registry->Register(MakeService("greeter", "1", {MakeNode("g")})),
              IsOk());
  // A go-micro client's query, byte for byte.
  const std::string query =
      R"({"Action":"get","Service":{"name":"greeter","version":"",)"
      R"("metadata":null,"endpoints":null,"nodes":null},"Timestamp":0})";
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_Request(&reply, raw_->get(), "micro.nats.query",
                                   query.data(), query.size(), 5000),
            NATS_OK);
  std::string body(nats::Body(reply));
  natsMsg_Destroy(reply);
  EXPECT_THAT(body, ::testing::HasSubstr(R"("name":"greeter")"));
  EXPECT_THAT(body, ::testing::HasSubstr(R"("id":"g")"));
}

TEST_F(NatsRegistryTest, IdleGapReturnsWellBeforeTheTimeout) {
  MN_ASSERT_OK_AND_ASSIGN(auto responder, FakeResponder({GoMicroService("x")},
                                                        absl::ZeroDuration()));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  const absl::Duration timeout = absl::Seconds(5);
  MN_ASSERT_OK_AND_ASSIGN(
      auto registry,
      NewRegistry({.timeout = timeout, .idle_gap = absl::Milliseconds(20)}));
  const absl::Time start = absl::Now();
  ASSERT_THAT(registry->GetService("legacy"), IsOk());
  EXPECT_LT(absl::Now() - start, timeout / 5);
}

TEST_F(NatsRegistryTest, TheTimeoutBoundsALookupWhileAnswersTrickleIn) {
  // Ten answers 80 ms apart: each gap is under the idle gap, so only the
  // timeout ends the lookup, with the answers that came by then.
  std::vector<std::string> replies;
  for (int i = 0; i < 10; ++i)
    replies.push_back(GoMicroService(absl::StrCat(i)));
  MN_ASSERT_OK_AND_ASSIGN(auto responder,
                          FakeResponder(replies, absl::Milliseconds(80)));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  const absl::Duration timeout = absl::Milliseconds(300);
  MN_ASSERT_OK_AND_ASSIGN(
      auto registry,
      NewRegistry({.timeout = timeout, .idle_gap = absl::Milliseconds(200)}));
  const absl::Time start = absl::Now();
  auto found = registry->GetService("legacy");
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(found, IsOk());
  EXPECT_GE(took, timeout);
  EXPECT_LT(took, absl::Milliseconds(700));  // not the 800 ms of all ten
  EXPECT_LT((*found)[0].nodes.size(), 10u);
  EXPECT_GE((*found)[0].nodes.size(), 1u);
}

TEST_F(NatsRegistryTest, QuorumEndsALookupEarly) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      FakeResponder({GoMicroService("q1"), GoMicroService("q2")},
                    absl::Milliseconds(400)));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto registry,
                          NewRegistry({.timeout = absl::Seconds(5),
                                       .idle_gap = absl::Seconds(5),
                                       .quorum = 1}));
  auto found = registry->GetService("legacy");
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(NodeIds((*found)[0]), std::vector<std::string>{"q1"});
}

TEST_F(NatsRegistryTest, MalformedJsonIsIgnoredAndServingGoesOn) {
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  auto watcher = registry->Watch({.service = "sturdy"});
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registry->Register(MakeService("sturdy", "1", {MakeNode("s")})),
              IsOk());
  auto created = (*watcher)->Next(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->type, EventType::kCreate);
  // Garbage on the query and watch subjects, and a garbage answer.
  ASSERT_THAT(raw_->Publish("micro.nats.query", "{not json",
                            {.reply = "_INBOX.garbage"}),
              IsOk());
  ASSERT_THAT(raw_->Publish("micro.nats.watch", "\x01\x02"), IsOk());
  ASSERT_THAT(raw_->Publish("micro.nats.watch",
                            R"({"Action":"explode","Service":{"name":"x"}})"),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto responder,
      FakeResponder({"]]]", GoMicroService("ok")}, absl::ZeroDuration()));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  // Still answers, still watches, and the good answer is used.
  auto found = registry->GetService("sturdy");
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(NodeIds((*found)[0]), std::vector<std::string>{"s"});
  EXPECT_THAT(registry->GetService("legacy"), IsOk());
  ASSERT_THAT(registry->Register(MakeService("sturdy", "1", {MakeNode("t")})),
              IsOk());
  auto event = (*watcher)->Next(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(event, IsOk());
  EXPECT_EQ(event->type, EventType::kUpdate);
}

// A 1 MiB message on the query subject (with a reply subject) and one on
// the watch subject are dropped unread, so the lookup right after them is
// answered as usual.
TEST_F(NatsRegistryTest, AnOversizedQueryIsDroppedUnreadAndAnswersGoOn) {
  MN_ASSERT_OK_AND_ASSIGN(auto registrar, NewRegistry());
  MN_ASSERT_OK_AND_ASSIGN(auto looker, NewRegistry());
  ASSERT_THAT(registrar->Register(MakeService("busy", "1", {MakeNode("b")})),
              IsOk());
  for (int run = 0; run < 3; ++run) {
    // Deep nesting: the costliest JSON to decode byte for byte.
    const std::string garbage(1000 * 1000, '[');
    ASSERT_THAT(
        raw_->Publish("micro.nats.query", garbage, {.reply = "_INBOX.garbage"}),
        IsOk());
    ASSERT_THAT(raw_->Publish("micro.nats.watch", garbage), IsOk());
    ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
    auto found = looker->GetService("busy");
    ASSERT_THAT(found, IsOk()) << "run " << run;
    EXPECT_EQ(NodeIds((*found)[0]), std::vector<std::string>{"b"});
  }
}

// What a watcher missed while its connection was down is not silent: it
// is told (ResourceExhausted), so it can re-read.
TEST_F(NatsRegistryTest, AWatcherIsToldOfEventsMissedWhileDisconnected) {
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  MN_ASSERT_OK_AND_ASSIGN(auto watcher, registry->Watch({}));
  ASSERT_THAT(server_->Restart(), IsOk());
  absl::StatusOr<Event> next = watcher->Next(absl::Now() + absl::Seconds(20));
  EXPECT_THAT(next, StatusIs(absl::StatusCode::kResourceExhausted,
                             ::testing::HasSubstr("disconnected")));
}

// Events NATS dropped because the watch fell behind are reported too.
TEST_F(NatsRegistryTest, AWatcherIsToldOfEventsNatsDropped) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn,
      nats::Connection::Connect({.servers = {server_->url()},
                                 .max_pending_msgs_per_subscription = 1}));
  // A watcher buffer that never fills: only NATS drops here.
  MN_ASSERT_OK_AND_ASSIGN(auto registry,
                          NewNatsRegistry(conn, {.watch_buffer = 1 << 20}));
  MN_ASSERT_OK_AND_ASSIGN(auto watcher, registry->Watch({}));
  const std::string event =
      R"({"Action":"create","Service":{"name":"flood","version":"1",)"
      R"("nodes":[{"id":"n","address":"a"}]}})";
  bool told = false;
  for (int round = 0; round < 20 && !told; ++round) {
    for (int i = 0; i < 5000; ++i) {
      ASSERT_THAT(raw_->Publish("micro.nats.watch", event,
                                {.delivery = nats::Delivery::kBatched}),
                  IsOk());
    }
    ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
    while (true) {
      absl::StatusOr<Event> next =
          watcher->Next(absl::Now() + absl::Milliseconds(200));
      if (absl::IsDeadlineExceeded(next.status())) break;
      if (!next.ok()) {
        EXPECT_THAT(next, StatusIs(absl::StatusCode::kResourceExhausted,
                                   ::testing::HasSubstr("dropped by NATS")));
        told = true;
        break;
      }
    }
  }
  EXPECT_TRUE(told);
}

// A server that hangs with its TCP connection open: within seconds (the
// default ping interval) lookups say Unavailable, not NotFound.
TEST_F(NatsRegistryTest, ALookupWhileTheServerIsFrozenIsUnavailable) {
  MN_ASSERT_OK_AND_ASSIGN(auto registry, NewRegistry());
  ASSERT_THAT(server_->Pause(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] { return absl::IsUnavailable(registry->GetService("x").status()); },
      absl::Seconds(15), "lookups say Unavailable"));
  ASSERT_THAT(server_->Resume(), IsOk());
}

// nats.c reconnects and resubscribes on its own: a process's registrations
// answer queries again once its connection is back.
TEST_F(NatsRegistryTest, ServicesAreFoundAgainAfterTheServerRestarts) {
  MN_ASSERT_OK_AND_ASSIGN(auto registrar, NewRegistry());
  MN_ASSERT_OK_AND_ASSIGN(auto looker, NewRegistry());
  ASSERT_THAT(
      registrar->Register(MakeService("survivor", "1", {MakeNode("n")})),
      IsOk());
  ASSERT_THAT(looker->GetService("survivor"), IsOk());
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = looker->GetService("survivor");
        return found.ok() &&
               NodeIds(found->at(0)) == std::vector<std::string>{"n"};
      },
      absl::Seconds(15), "the service found after the restart"));
}

// In a cluster, a registrar whose server fails moves to another member,
// and lookups through a third find its services again.
TEST(NatsRegistryFailoverTest, ServicesAreFoundAgainAfterTheirServerFails) {
  MN_ASSERT_OK_AND_ASSIGN(auto cluster,
                          micro_nats::testing::NatsCluster::Start(3));
  MN_ASSERT_OK_AND_ASSIGN(
      auto registrar_conn,
      nats::Connection::Connect({.servers = cluster->urls(),
                                 .reconnect_wait = absl::Milliseconds(50)}));
  // The looker connects to a member the registrar is not on.
  const std::string registrar_url = registrar_conn->ConnectedUrl();
  int registrar_server = -1;
  std::string looker_url;
  for (int i = 0; i < cluster->size(); ++i) {
    if (cluster->server(i).url() == registrar_url) {
      registrar_server = i;
    } else if (looker_url.empty()) {
      looker_url = cluster->server(i).url();
    }
  }
  ASSERT_NE(registrar_server, -1) << registrar_url;
  MN_ASSERT_OK_AND_ASSIGN(auto looker_conn,
                          nats::Connection::Connect({.servers = {looker_url}}));
  MN_ASSERT_OK_AND_ASSIGN(auto registrar, NewNatsRegistry(registrar_conn));
  MN_ASSERT_OK_AND_ASSIGN(auto looker, NewNatsRegistry(looker_conn));
  ASSERT_THAT(registrar->Register(MakeService("mobile", "1", {MakeNode("n")})),
              IsOk());
  auto found_mobile = [&] {
    auto found = looker->GetService("mobile");
    return found.ok() && NodeIds(found->at(0)) == std::vector<std::string>{"n"};
  };
  // Interest crosses the cluster's routes shortly after it is made.
  ASSERT_TRUE(Eventually(found_mobile, absl::Seconds(15), "found at first"));

  ASSERT_THAT(cluster->server(registrar_server).Stop(), IsOk());
  EXPECT_TRUE(Eventually(found_mobile, absl::Seconds(20),
                         "found after the registrar's server failed"));
  EXPECT_NE(registrar_conn->ConnectedUrl(), registrar_url);
}

TEST_F(NatsRegistryTest, SubjectsAreConfigurable) {
  NatsRegistryOptions old_style{.query_subject = "micro.registry.nats.query",
                                .watch_subject = "micro.registry.nats.watch"};
  MN_ASSERT_OK_AND_ASSIGN(auto a, NewRegistry(old_style));
  MN_ASSERT_OK_AND_ASSIGN(auto b, NewRegistry(old_style));
  MN_ASSERT_OK_AND_ASSIGN(auto default_subjects, NewRegistry());
  ASSERT_THAT(a->Register(MakeService("old", "1", {MakeNode("o")})), IsOk());
  EXPECT_THAT(b->GetService("old"), IsOk());
  EXPECT_THAT(default_subjects->GetService("old"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(NewRegistry({.query_subject = "bad subject"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace micro_nats::registry::testing
