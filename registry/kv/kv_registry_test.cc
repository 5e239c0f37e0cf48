// Copyright 2026 The micro-nats Authors.

#include "registry/kv/kv_registry.h"

#include <nats/nats.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "registry/testing/conformance.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::registry {
namespace {

using ::micro_nats::registry::testing::MakeNode;
using ::micro_nats::registry::testing::MakeService;
using ::micro_nats::registry::testing::NodeIds;
using ::micro_nats::registry::testing::RegistryBackend;
using ::micro_nats::registry::testing::RegistryConformanceTest;
using ::micro_nats::registry::testing::RegistryEnvironment;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::NatsServerOptions;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr absl::Duration kWait = absl::Seconds(10);

absl::StatusOr<std::shared_ptr<nats::Connection>> ConnectTo(
    const NatsServer& server) {
  return nats::Connection::Connect({.servers = {server.url()},
                                    .name = "kv-registry-test",
                                    .reconnect_wait = absl::Milliseconds(50)});
}

KvRegistryOptions TestOptions() {
  return {.load_wait = absl::Seconds(3),
          .heartbeat = absl::Milliseconds(500),
          .retry_interval = absl::Milliseconds(100),
          .sweep_interval = absl::Milliseconds(20)};
}

class KvEnvironment : public RegistryEnvironment {
 public:
  explicit KvEnvironment(std::unique_ptr<NatsServer> server)
      : server_(std::move(server)) {}

  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() override {
    auto conn = nats::Connection::Connect(
        {.servers = {server_->url()}, .max_reconnect_attempts = 1});
    if (!conn.ok()) return conn.status();
    return NewKvRegistry(*conn, TestOptions());
  }
  bool can_stop_backend() const override { return true; }
  absl::Status StopBackend() override { return server_->Stop(); }

 private:
  std::unique_ptr<NatsServer> server_;
};

absl::StatusOr<std::unique_ptr<RegistryEnvironment>> MakeKvEnvironment() {
  auto server = NatsServer::Start({.jetstream = true});
  if (!server.ok()) return server.status();
  return std::make_unique<KvEnvironment>(std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(Kv, RegistryConformanceTest,
                         ::testing::Values(RegistryBackend{"Kv",
                                                           &MakeKvEnvironment}),
                         ::micro_nats::registry::testing::RegistryBackendName);

// Bad input counted by on_bad_input.
struct BadCounter {
  std::mutex mu;
  size_t count = 0;
  std::string last;
  std::function<void(const absl::Status&, size_t)> Callback() {
    return [this](const absl::Status& why, size_t n) {
      std::lock_guard<std::mutex> lock(mu);
      count += n;
      last = std::string(why.message());
    };
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return count;
  }
};

class KvRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = NatsServer::Start({.jetstream = true});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  std::unique_ptr<Registry> NewRegistry(KvRegistryOptions options) {
    auto conn = ConnectTo(*server_);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return nullptr;
    auto registry = NewKvRegistry(*conn, std::move(options));
    EXPECT_TRUE(registry.ok()) << registry.status();
    return registry.ok() ? std::move(registry).value() : nullptr;
  }
  std::unique_ptr<Registry> NewRegistry() { return NewRegistry(TestOptions()); }

  // Every node id each registry lists, sorted ("name/version/id").
  static absl::StatusOr<std::set<std::string>> Listed(Registry& registry) {
    auto all = registry.ListServices();
    if (!all.ok()) return all.status();
    std::set<std::string> ids;
    for (const Service& s : *all) {
      for (const Node& n : s.nodes) {
        ids.insert(absl::StrCat(s.name, "/", s.version, "/", n.id));
      }
    }
    return ids;
  }

  // The value of `key` in the default bucket, read with nats.c's KV API;
  // empty (and a failure) when there is none.
  std::string ValueIn(const std::string& key) {
    auto conn = ConnectTo(*server_);
    EXPECT_THAT(conn, IsOk());
    if (!conn.ok()) return "";
    jsCtx* js = nullptr;
    kvStore* kv = nullptr;
    kvEntry* entry = nullptr;
    std::string value;
    if (natsConnection_JetStream(&js, (*conn)->get(), nullptr) == NATS_OK &&
        js_KeyValue(&kv, js, "micro-registry") == NATS_OK &&
        kvStore_Get(&entry, kv, key.c_str()) == NATS_OK) {
      value.assign(kvEntry_ValueString(entry),
                   static_cast<size_t>(kvEntry_ValueLen(entry)));
    }
    EXPECT_FALSE(value.empty()) << key;
    kvEntry_Destroy(entry);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    return value;
  }

  std::unique_ptr<NatsServer> server_;
};

TEST_F(KvRegistryTest, ValueIsGoMicroJsonWithOneNodeUnderAnEscapedKey) {
  auto registry = NewRegistry();
  ASSERT_NE(registry, nullptr);
  ASSERT_THAT(
      registry->Register(MakeService("go.micro.greeter", "1.0",
                                     {MakeNode("n_1"), MakeNode("n2")})),
      IsOk());
  const std::string value = ValueIn("go=micro=greeter.1=0.n_5F1");
  EXPECT_THAT(value, HasSubstr(R"("name":"go.micro.greeter")"));
  EXPECT_THAT(value, HasSubstr(R"("id":"n_1")"));
  EXPECT_THAT(value, ::testing::Not(HasSubstr(R"("id":"n2")")));
}

TEST_F(KvRegistryTest, FindIsCompleteFromTheReplica) {
  auto registrar = NewRegistry();
  auto observer = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("svc", "1", {MakeNode("a")})),
              IsOk());
  ASSERT_TRUE(Eventually([&] { return observer->Find("svc").ok(); }, kWait,
                         "svc visible"));
  auto found = observer->Find("svc");
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->complete);
}

TEST_F(KvRegistryTest, BucketWithOtherSettingsIsAnErrorNamingThem) {
  ASSERT_NE(NewRegistry(), nullptr);  // creates it with the defaults
  auto conn = ConnectTo(*server_);
  ASSERT_THAT(conn, IsOk());
  KvRegistryOptions other = TestOptions();
  other.max_age = absl::Minutes(5);
  other.storage = KvStorage::kMemory;
  auto registry = NewKvRegistry(*conn, other);
  ASSERT_THAT(registry, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(registry.status().message(), HasSubstr("max-age 1h"));
  EXPECT_THAT(registry.status().message(), HasSubstr("storage file"));
  EXPECT_THAT(NewKvRegistry(*conn, {.bucket = "bad.name"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KvRegistryTest, MalformedOversizedAndMismatchedValuesAreSkipped) {
  BadCounter bad;
  KvRegistryOptions options = TestOptions();
  options.max_value_bytes = 4096;
  options.on_bad_input = bad.Callback();
  auto observer = NewRegistry(options);
  ASSERT_NE(observer, nullptr);
  auto conn = ConnectTo(*server_);
  ASSERT_THAT(conn, IsOk());
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, (*conn)->get(), nullptr), NATS_OK);
  auto put = [&](const std::string& key, const std::string& value) {
    jsPubAck* ack = nullptr;
    const std::string subject = "$KV.micro-registry." + key;
    EXPECT_EQ(js_Publish(&ack, js, subject.c_str(), value.data(),
                         static_cast<int>(value.size()), nullptr, nullptr),
              NATS_OK);
    jsPubAck_Destroy(ack);
  };
  put("bad.1.x", "{not json");
  // Within the bucket's max value size (max_value_bytes and room for
  // headers), over max_value_bytes.
  put("big.1.y", std::string(4608, ' '));
  put("other.1.z",
      R"({"name":"liar","version":"1","nodes":[{"id":"z","address":"a"}]})");
  put("not=a=key", R"({"name":"n"})");
  // Well-formed values with headers no registry writes.
  auto put_with = [&](const std::string& key, const char* header,
                      const char* value) {
    const std::string subject = "$KV.micro-registry." + key;
    const std::string body =
        absl::StrCat(R"({"name":")", key.substr(0, key.find('.')),
                     R"(","version":"1","nodes":[{"id":"h","address":"a"}]})");
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(),
                             static_cast<int>(body.size())),
              NATS_OK);
    ASSERT_EQ(natsMsgHeader_Set(msg, header, value), NATS_OK);
    jsPubAck* ack = nullptr;
    EXPECT_EQ(js_PublishMsg(&ack, js, msg, nullptr, nullptr), NATS_OK);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(msg);
  };
  put_with("ttlword.1.h", "Micro-Nats-Ttl", "soon");
  put_with("ttlneg.1.h", "Micro-Nats-Ttl", "-5");
  put_with("oddop.1.h", "KV-Operation", "SWAP");
  options.on_bad_input = nullptr;
  auto registrar = NewRegistry(options);
  ASSERT_THAT(registrar->Register(MakeService("good", "1", {MakeNode("g")})),
              IsOk());
  ASSERT_TRUE(Eventually([&] { return observer->GetService("good").ok(); },
                         kWait, "good visible"));
  EXPECT_TRUE(Eventually([&] { return bad.Count() >= 7; }, kWait,
                         "seven values reported"));
  for (const char* name : {"ttlword", "ttlneg", "oddop"}) {
    EXPECT_THAT(observer->GetService(name),
                StatusIs(absl::StatusCode::kNotFound))
        << name;
  }
  EXPECT_THAT(observer->GetService("bad"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(observer->GetService("liar"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(observer->GetService("big"),
              StatusIs(absl::StatusCode::kNotFound));
  jsCtx_Destroy(js);
}

TEST_F(KvRegistryTest, ExpiryIsJudgedByEveryReaderFromTheTimestamp) {
  auto registrar = NewRegistry();
  const absl::Duration ttl = absl::Milliseconds(300);
  const absl::Time registered = absl::Now();
  ASSERT_THAT(registrar->Register(MakeService("brief", "1", {MakeNode("b")}),
                                  {.ttl = ttl}),
              IsOk());
  ASSERT_THAT(registrar->Register(MakeService("stays", "1", {MakeNode("s")})),
              IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        return registrar->GetService("stays").ok() &&
               absl::Now() - registered > ttl &&
               absl::IsNotFound(registrar->GetService("brief").status());
      },
      kWait, "brief expired at the registrar's replica"));
  // The bucket still holds the value (no per-key TTL in nats-server 2.9);
  // a client that starts now judges it expired all the same.
  auto late = NewRegistry();
  EXPECT_THAT(late->GetService("brief"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(late->GetService("stays"), IsOk());
}

TEST_F(KvRegistryTest, DeregisteringAVersionSeesThisClientsOwnWrites) {
  auto registrar = NewRegistry();
  for (int round = 0; round < 20; ++round) {
    ASSERT_THAT(registrar->Register(MakeService(
                    "quick", "1", {MakeNode("q1"), MakeNode("q2")})),
                IsOk());
    // At once: the replica may not have the values yet; Deregister waits
    // until it has what this client wrote.
    ASSERT_THAT(registrar->Deregister(MakeService("quick", "1", {})), IsOk());
  }
  auto fresh = NewRegistry();
  EXPECT_THAT(fresh->GetService("quick"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(KvRegistryTest, OutageAnswersFromTheReplicaAsStale) {
  auto registrar = NewRegistry();
  auto observer = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("kept", "1", {MakeNode("k")})),
              IsOk());
  ASSERT_TRUE(Eventually([&] { return observer->Find("kept").ok(); }, kWait,
                         "kept visible"));
  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto found = observer->Find("kept");
        return found.ok() && !found->complete;
      },
      kWait, "a stale answer during the outage"));
  EXPECT_THAT(observer->GetService("never"),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = observer->Find("kept");
        return found.ok() && found->complete;
      },
      kWait, "complete again after the restart"));
}

TEST_F(KvRegistryTest, MissedHeartbeatsMakeTheReplicaStaleUntilItResyncs) {
  auto registrar = NewRegistry();
  auto observer = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("hb", "1", {MakeNode("h")})),
              IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto found = observer->Find("hb");
        return found.ok() && found->complete;
      },
      kWait, "hb visible"));
  // A frozen server keeps its TCP connections: only the consumer's
  // heartbeats (every 500 ms here) say it is gone, before NATS's pings do.
  ASSERT_THAT(server_->Pause(), IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto found = observer->Find("hb");
        return found.ok() && !found->complete;
      },
      kWait, "stale once heartbeats stop"));
  ASSERT_THAT(server_->Resume(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = observer->Find("hb");
        return found.ok() && found->complete;
      },
      kWait, "complete again"));
}

TEST_F(KvRegistryTest, ServerRestartResynchronisesReplicas) {
  auto registrar = NewRegistry();
  auto observer = NewRegistry();
  auto watcher = observer->Watch({.service = "r"});
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registrar->Register(MakeService("r", "1", {MakeNode("a")})),
              IsOk());
  ASSERT_THAT(registrar->Register(MakeService("r", "1", {MakeNode("b")})),
              IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = observer->GetService("r");
        return got.ok() && (*got)[0].nodes.size() == 2;
      },
      kWait, "a and b"));
  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_THAT(server_->Restart(), IsOk());
  // After the restart: b goes, c comes; a (kept in file storage) stays.
  ASSERT_TRUE(Eventually(
      [&] {
        return registrar->Deregister(MakeService("r", "1", {MakeNode("b")}))
            .ok();
      },
      kWait, "deregister after the restart"));
  ASSERT_THAT(registrar->Register(MakeService("r", "1", {MakeNode("c")})),
              IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = observer->Find("r");
        return got.ok() && got->complete && got->services.size() == 1 &&
               NodeIds(got->services[0]) == std::vector<std::string>{"a", "c"};
      },
      kWait, "a and c, complete"));
  auto fresh = NewRegistry();
  auto got = fresh->GetService("r");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(NodeIds((*got)[0]), (std::vector<std::string>{"a", "c"}));
  // The watcher heard of c's arrival and b's leaving.
  bool saw_c = false, saw_b_go = false;
  while (!(saw_c && saw_b_go)) {
    auto event = (*watcher)->Next(absl::Now() + kWait);
    if (absl::IsResourceExhausted(event.status())) continue;
    ASSERT_THAT(event, IsOk());
    const auto ids = NodeIds(event->service);
    if (event->type != EventType::kDelete &&
        ids == std::vector<std::string>{"c"})
      saw_c = true;
    if (event->type == EventType::kDelete &&
        ids == std::vector<std::string>{"b"})
      saw_b_go = true;
  }
}

TEST_F(KvRegistryTest, ClientStartedDuringAnOutageIsUnavailableNotNotFound) {
  auto registrar = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("later", "1", {MakeNode("l")})),
              IsOk());
  auto conn = ConnectTo(*server_);
  ASSERT_THAT(conn, IsOk());
  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_TRUE(Eventually([&] { return !(*conn)->IsConnected(); }, kWait,
                         "disconnected"));
  KvRegistryOptions options = TestOptions();
  options.load_wait = absl::Milliseconds(300);
  options.request_timeout = absl::Milliseconds(300);
  auto registry = NewKvRegistry(*conn, options);
  ASSERT_THAT(registry, IsOk());
  EXPECT_THAT((*registry)->GetService("later"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT((*registry)->GetService("nobody"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT((*registry)->ListServices(),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_TRUE(Eventually([&] { return (*registry)->GetService("later").ok(); },
                         kWait, "found once the server is back"));
}

TEST_F(KvRegistryTest, RacingRegistrationsLeaveEveryReplicaEqualToTheBucket) {
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 250;  // 1,000 in all
  std::vector<std::unique_ptr<Registry>> registrars;
  for (int t = 0; t < kThreads; ++t) registrars.push_back(NewRegistry());
  std::vector<std::unique_ptr<Registry>> observers;
  for (int i = 0; i < 2; ++i) observers.push_back(NewRegistry());
  std::atomic<bool> done{false};
  std::atomic<int> lookups{0};
  std::vector<std::thread> readers;
  for (auto& observer : observers) {
    readers.emplace_back([&, o = observer.get()] {
      while (!done.load()) {
        auto found = o->Find("race");
        if (found.ok() || absl::IsNotFound(found.status())) ++lookups;
      }
    });
  }
  std::vector<std::set<std::string>> expected(kThreads);
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerThread; ++i) {
        // Each thread owns ids t-0..t-19: registers, sometimes deregisters.
        const std::string id = absl::StrCat(t, "-", (i * 7) % 20);
        const Service service = MakeService("race", "1", {MakeNode(id)});
        const bool remove = (i % 3) == 2;
        absl::Status s = remove ? registrars[t]->Deregister(service)
                                : registrars[t]->Register(service);
        if (!s.ok()) ++failures;
        if (remove) {
          expected[t].erase("race/1/" + id);
        } else {
          expected[t].insert("race/1/" + id);
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  std::set<std::string> want;
  for (const auto& ids : expected) want.insert(ids.begin(), ids.end());
  EXPECT_EQ(failures.load(), 0);
  auto fresh = NewRegistry();
  for (Registry* r : {observers[0].get(), observers[1].get(), fresh.get(),
                      registrars[0].get()}) {
    EXPECT_TRUE(Eventually(
        [&] {
          auto listed = Listed(*r);
          return listed.ok() && *listed == want;
        },
        kWait, "the replica equal to the bucket"));
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_GT(lookups.load(), 0);
}

TEST_F(KvRegistryTest, AReplyLessMessageWithoutHeartbeatStatusIsBadInput) {
  auto registrar = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("x", "1", {MakeNode("x")})),
              IsOk());
  // The forger learns the replica's deliver inbox from its consumer
  // request (the registrar's was made before the spy listens).
  auto forger = ConnectTo(*server_);
  ASSERT_THAT(forger, IsOk());
  micro_nats::testing::Collector<std::string> inboxes;
  auto spy =
      (*forger)->Subscribe("$JS.API.CONSUMER.CREATE.>", [&](natsMsg* msg) {
        const std::string body(nats::Body(msg));
        const std::string field = R"("deliver_subject":")";
        const size_t at = body.find(field);
        if (at == std::string::npos) return;
        const size_t start = at + field.size();
        inboxes.Add(body.substr(start, body.find('"', start) - start));
      });
  ASSERT_THAT(spy, IsOk());
  ASSERT_THAT((*forger)->Flush(absl::Seconds(2)), IsOk());
  BadCounter bad;
  KvRegistryOptions options = TestOptions();
  options.on_bad_input = bad.Callback();
  auto observer = NewRegistry(options);
  ASSERT_NE(observer, nullptr);
  ASSERT_TRUE(inboxes.WaitForCount(1, kWait));
  const std::string inbox = inboxes.Snapshot()[0];
  // The consumer's real heartbeats (delivered to the inbox itself; values
  // keep their own subject).
  micro_nats::testing::Collector<int> heartbeats;
  auto beats = (*forger)->Subscribe(inbox, [&](natsMsg* msg) {
    const char* status = nullptr;
    if (nats::Reply(msg).empty() &&
        natsMsgHeader_Get(msg, "Status", &status) == NATS_OK &&
        absl::string_view(status) == "100") {
      heartbeats.Add(1);
    }
  });
  ASSERT_THAT(beats, IsOk());
  ASSERT_THAT((*forger)->Publish(inbox, "alive"), IsOk());
  ASSERT_TRUE(Eventually([&] { return bad.Count() == 1; }, kWait,
                         "the forged message reported"));
  {
    std::lock_guard<std::mutex> lock(bad.mu);
    EXPECT_THAT(bad.last, HasSubstr("heartbeat"));
  }
  // The consumer's real heartbeats are no bad input.
  ASSERT_TRUE(heartbeats.WaitForCount(2, kWait));
  EXPECT_EQ(bad.Count(), 1u);
  EXPECT_THAT(observer->Find("x"), IsOk());
}

TEST_F(KvRegistryTest, BucketIsMadeWithMaxValueSizeAndMaxBytes) {
  ASSERT_NE(NewRegistry(), nullptr);
  auto conn = ConnectTo(*server_);
  ASSERT_THAT(conn, IsOk());
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, (*conn)->get(), nullptr), NATS_OK);
  jsStreamInfo* info = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&info, js, "KV_micro-registry", nullptr, nullptr),
            NATS_OK);
  EXPECT_EQ(info->Config->MaxMsgSize, (64 << 10) + 1024);
  EXPECT_EQ(info->Config->MaxBytes, int64_t{128} << 20);
  jsStreamInfo_Destroy(info);
  jsCtx_Destroy(js);
  KvRegistryOptions other = TestOptions();
  other.bucket_max_bytes = 1 << 20;
  other.max_value_bytes = 1 << 10;
  auto registry = NewKvRegistry(*conn, other);
  ASSERT_THAT(registry, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(registry.status().message(), HasSubstr("max-bytes 134217728"));
  EXPECT_THAT(registry.status().message(), HasSubstr("max value size 66560"));
  KvRegistryOptions few = TestOptions();
  few.max_entries = 100;
  few.max_pending_msgs = 50;
  EXPECT_THAT(NewKvRegistry(*conn, few),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KvRegistryTest, PastTheReplicasByteBudgetItRefusesAndIsIncomplete) {
  auto registrar = NewRegistry();
  ASSERT_THAT(registrar->Register(MakeService("one", "1", {MakeNode("n")})),
              IsOk());
  const size_t size = ValueIn("one.1.n").size();
  ASSERT_GT(size, 0u);

  BadCounter bad;
  KvRegistryOptions options = TestOptions();
  options.max_replica_bytes = size + size / 2;  // one value, not two
  options.on_bad_input = bad.Callback();
  auto observer = NewRegistry(options);
  ASSERT_NE(observer, nullptr);
  auto found = observer->Find("one");
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->complete);
  ASSERT_THAT(registrar->Register(MakeService("two", "1", {MakeNode("n")})),
              IsOk());
  ASSERT_TRUE(Eventually([&] { return bad.Count() == 1; }, kWait,
                         "the second value refused"));
  {
    std::lock_guard<std::mutex> lock(bad.mu);
    EXPECT_THAT(bad.last, HasSubstr("bytes of values"));
  }
  EXPECT_THAT(observer->GetService("two"),
              StatusIs(absl::StatusCode::kUnavailable));
  found = observer->Find("one");
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->complete);
}

TEST_F(KvRegistryTest, ABucketLargerThanTheConnectionsPendingLimitLoads) {
  auto writer = ConnectTo(*server_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_NE(NewRegistry(), nullptr);  // makes the bucket
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, (*writer)->get(), nullptr), NATS_OK);
  constexpr int kKeys = 500;
  for (int i = 0; i < kKeys; ++i) {
    const std::string subject = absl::StrCat("$KV.micro-registry.s", i, ".1.n");
    const std::string body = absl::StrCat(
        R"({"name":"s)", i,
        R"(","version":"1","nodes":[{"id":"n","address":"a.b"}]})");
    jsPubAck* ack = nullptr;
    ASSERT_EQ(js_Publish(&ack, js, subject.c_str(), body.data(),
                         static_cast<int>(body.size()), nullptr, nullptr),
              NATS_OK);
    jsPubAck_Destroy(ack);
  }
  jsCtx_Destroy(js);
  // A connection whose subscriptions hold one message each by default: the
  // initial values, sent at once, overflow that unless the watch sizes its
  // own limit for max_entries.
  auto conn = nats::Connection::Connect(
      {.servers = {server_->url()}, .max_pending_msgs_per_subscription = 1});
  ASSERT_THAT(conn, IsOk());
  BadCounter bad;
  KvRegistryOptions options = TestOptions();
  options.max_entries = 1000;
  options.on_bad_input = bad.Callback();
  auto observer = NewKvRegistry(*conn, options);
  ASSERT_THAT(observer, IsOk());
  auto all = (*observer)->ListServices();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, SizeIs(kKeys));
  auto found = (*observer)->Find("s7");
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->complete);
  EXPECT_EQ(bad.Count(), 0u);
}

}  // namespace
}  // namespace micro_nats::registry
