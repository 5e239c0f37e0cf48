// Copyright 2026 The micro-nats Authors.
//
// conformance.h: the contract every Registry backend passes.
//
// A parameterised gtest suite. A backend's test includes this header once
// and instantiates it with a RegistryBackend whose environment returns, on
// each NewRegistry() call, an instance on its own connection to the shared
// medium (as separate processes would have). The suite registers through
// one instance and looks up through another. Backends with expiry should
// sweep often (tens of milliseconds) so the TTL cases stay quick.
//
// Capabilities: an environment that can take its backend down (a NATS
// server) says so, and the "Unavailable, not empty" case runs; others skip
// it, saying why. Likewise for watching, expiry, and keeping every
// description field (RegistryEnvironment says which).

#ifndef MICRO_NATS_REGISTRY_TESTING_CONFORMANCE_H_
#define MICRO_NATS_REGISTRY_TESTING_CONFORMANCE_H_

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/registry.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::registry::testing {

class RegistryEnvironment {
 public:
  virtual ~RegistryEnvironment() = default;
  // A new registry instance on its own connection to the shared medium.
  virtual absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() = 0;
  // Whether StopBackend can make the backend unreachable.
  virtual bool can_stop_backend() const { return false; }
  // What a backend's medium can carry; one that cannot says so, and the
  // cases that need it are skipped saying why (registry/srv: ADR-32 has no
  // change events, no expiry, and describes less than go-micro).
  virtual bool can_watch() const { return true; }
  virtual bool can_expire() const { return true; }
  // Node addresses and metadata, endpoint request/response descriptions.
  virtual bool keeps_descriptions() const { return true; }
  virtual absl::Status StopBackend() {
    return absl::UnimplementedError("this backend cannot be stopped");
  }
};

// A Registry that forwards to a shared one: how an in-process backend hands
// out "instances" of one medium.
class SharedRegistry : public Registry {
 public:
  explicit SharedRegistry(std::shared_ptr<Registry> target)
      : target_(std::move(target)) {}
  absl::Status Register(const Service& s, RegisterOptions o) override {
    return target_->Register(s, o);
  }
  absl::Status Deregister(const Service& s) override {
    return target_->Deregister(s);
  }
  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    return target_->GetService(name);
  }
  absl::StatusOr<std::vector<Service>> ListServices() override {
    return target_->ListServices();
  }
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(WatchOptions o) override {
    return target_->Watch(std::move(o));
  }

 private:
  std::shared_ptr<Registry> target_;
};

struct RegistryBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<RegistryEnvironment>>()> make;
};

inline std::string RegistryBackendName(
    const ::testing::TestParamInfo<RegistryBackend>& info) {
  return info.param.name;
}

using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

inline Node MakeNode(const std::string& id) {
  return Node{.id = id, .address = "_INBOX." + id, .metadata = {{"zone", "a"}}};
}

inline Service MakeService(const std::string& name, const std::string& version,
                           std::vector<Node> nodes) {
  return Service{
      .name = name,
      .version = version,
      .metadata = {{"owner", "team-" + name}},
      .endpoints = {Endpoint{
          .name = "Greeter.Hello",
          .request = Value{.name = "Request",
                           .type = "Request",
                           .values = {{.name = "name", .type = "string"}}},
          .response = Value{.name = "Response", .type = "Response"},
          .metadata = {{"stream", "false"}}}},
      .nodes = std::move(nodes)};
}

inline std::vector<std::string> NodeIds(const Service& service) {
  std::vector<std::string> ids;
  for (const Node& n : service.nodes) ids.push_back(n.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

class RegistryConformanceTest
    : public ::testing::TestWithParam<RegistryBackend> {
 protected:
  static constexpr absl::Duration kWait = absl::Seconds(10);
  static absl::Time Deadline() { return absl::Now() + kWait; }

  void SetUp() override {
    auto env = GetParam().make();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(env).value();
    auto registrar = env_->NewRegistry();
    auto observer = env_->NewRegistry();
    ASSERT_TRUE(registrar.ok()) << registrar.status();
    ASSERT_TRUE(observer.ok()) << observer.status();
    registrar_ = std::move(registrar).value();
    observer_ = std::move(observer).value();
  }

  // The versions of `name` as the observer sees them, once it sees
  // `versions` of them (lookups across processes are eventually
  // consistent with registration on some backends).
  std::vector<Service> AwaitVersions(const std::string& name, size_t versions) {
    std::vector<Service> found;
    EXPECT_TRUE(Eventually(
        [&] {
          auto got = observer_->GetService(name);
          if (!got.ok()) return false;
          found = *got;
          return found.size() == versions;
        },
        kWait, absl::StrCat(versions, " versions of ", name)));
    return found;
  }

  // Waits until the observer's view of `name` has exactly these node ids.
  ::testing::AssertionResult AwaitNodes(const std::string& name,
                                        std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    return Eventually(
        [&] {
          auto got = observer_->GetService(name);
          if (!got.ok()) return ids.empty() && absl::IsNotFound(got.status());
          std::vector<std::string> seen;
          for (const Service& s : *got) {
            for (const Node& n : s.nodes) seen.push_back(n.id);
          }
          std::sort(seen.begin(), seen.end());
          return seen == ids;
        },
        kWait, absl::StrCat("nodes of ", name));
  }

  // The next event of `watcher` that is not for an unrelated service.
  static absl::StatusOr<Event> NextEvent(Watcher& watcher) {
    return watcher.Next(Deadline());
  }

  std::unique_ptr<RegistryEnvironment> env_;
  std::unique_ptr<Registry> registrar_;
  std::unique_ptr<Registry> observer_;
};

TEST_P(RegistryConformanceTest, RegisteredServiceIsFound) {
  ASSERT_THAT(
      registrar_->Register(MakeService("greeter", "1.0.0", {MakeNode("g-1")})),
      IsOk());
  auto found = AwaitVersions("greeter", 1);
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].name, "greeter");
  EXPECT_EQ(found[0].version, "1.0.0");
  EXPECT_EQ(NodeIds(found[0]), std::vector<std::string>{"g-1"});
}

TEST_P(RegistryConformanceTest, EverythingRoundTrips) {
  Service service = MakeService("full", "2.1.0", {MakeNode("f-1")});
  service.endpoints.push_back(Endpoint{.name = "Full.Stream"});
  ASSERT_THAT(registrar_->Register(service), IsOk());
  auto found = AwaitVersions("full", 1);
  ASSERT_THAT(found, SizeIs(1));
  if (env_->keeps_descriptions()) {
    EXPECT_EQ(found[0], service);
    return;
  }
  // What every backend keeps: names, version, service metadata, node ids,
  // the endpoints (by a name the backend may have had to spell its way).
  EXPECT_EQ(found[0].name, service.name);
  EXPECT_EQ(found[0].version, service.version);
  EXPECT_EQ(found[0].metadata, service.metadata);
  EXPECT_EQ(NodeIds(found[0]), NodeIds(service));
  EXPECT_THAT(found[0].endpoints, SizeIs(service.endpoints.size()));
}

TEST_P(RegistryConformanceTest, UnknownServiceIsNotFound) {
  EXPECT_THAT(observer_->GetService("nobody"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(RegistryConformanceTest, VersionsAreSeparate) {
  ASSERT_THAT(registrar_->Register(MakeService("multi", "1", {MakeNode("a")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("multi", "2", {MakeNode("b")})),
              IsOk());
  auto found = AwaitVersions("multi", 2);
  ASSERT_THAT(found, SizeIs(2));
  std::sort(found.begin(), found.end(), [](const Service& x, const Service& y) {
    return x.version < y.version;
  });
  EXPECT_EQ(NodeIds(found[0]), std::vector<std::string>{"a"});
  EXPECT_EQ(NodeIds(found[1]), std::vector<std::string>{"b"});
}

TEST_P(RegistryConformanceTest, NodesOfOneVersionAreMerged) {
  ASSERT_THAT(registrar_->Register(MakeService("svc", "1", {MakeNode("n1")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("svc", "1", {MakeNode("n2")})),
              IsOk());
  EXPECT_TRUE(AwaitNodes("svc", {"n1", "n2"}));
}

TEST_P(RegistryConformanceTest, NodesFromSeveralRegistrarsAreMerged) {
  auto other = env_->NewRegistry();
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(
      registrar_->Register(MakeService("shared", "1", {MakeNode("p1")})),
      IsOk());
  ASSERT_THAT((*other)->Register(MakeService("shared", "1", {MakeNode("p2")})),
              IsOk());
  EXPECT_TRUE(AwaitNodes("shared", {"p1", "p2"}));
  EXPECT_THAT(AwaitVersions("shared", 1), SizeIs(1));
}

TEST_P(RegistryConformanceTest, RegisteringANodeAgainUpdatesIt) {
  if (!env_->keeps_descriptions()) {
    GTEST_SKIP() << GetParam().name << " keeps no node addresses";
  }
  Node node = MakeNode("same");
  ASSERT_THAT(registrar_->Register(MakeService("upd", "1", {node})), IsOk());
  node.address = "_INBOX.moved";
  ASSERT_THAT(registrar_->Register(MakeService("upd", "1", {node})), IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = observer_->GetService("upd");
        return got.ok() && got->size() == 1 && (*got)[0].nodes.size() == 1 &&
               (*got)[0].nodes[0].address == "_INBOX.moved";
      },
      kWait, "the updated address"));
}

TEST_P(RegistryConformanceTest, DeregisteringOneNodeKeepsTheOthers) {
  ASSERT_THAT(registrar_->Register(
                  MakeService("keep", "1", {MakeNode("k1"), MakeNode("k2")})),
              IsOk());
  ASSERT_TRUE(AwaitNodes("keep", {"k1", "k2"}));
  ASSERT_THAT(
      registrar_->Deregister(MakeService("keep", "1", {MakeNode("k1")})),
      IsOk());
  EXPECT_TRUE(AwaitNodes("keep", {"k2"}));
}

TEST_P(RegistryConformanceTest, DeregisteringTheLastNodeRemovesTheService) {
  ASSERT_THAT(registrar_->Register(MakeService("gone", "1", {MakeNode("x")})),
              IsOk());
  AwaitVersions("gone", 1);
  ASSERT_THAT(registrar_->Deregister(MakeService("gone", "1", {MakeNode("x")})),
              IsOk());
  EXPECT_TRUE(Eventually(
      [&] { return absl::IsNotFound(observer_->GetService("gone").status()); },
      kWait, "NotFound after deregistering"));
}

TEST_P(RegistryConformanceTest, DeregisterWithoutNodesRemovesTheVersion) {
  ASSERT_THAT(registrar_->Register(
                  MakeService("whole", "1", {MakeNode("w1"), MakeNode("w2")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("whole", "2", {MakeNode("w3")})),
              IsOk());
  AwaitVersions("whole", 2);
  ASSERT_THAT(registrar_->Deregister(MakeService("whole", "1", {})), IsOk());
  EXPECT_TRUE(AwaitNodes("whole", {"w3"}));
}

TEST_P(RegistryConformanceTest, DeregisteringWhatIsNotThereIsOk) {
  EXPECT_THAT(
      registrar_->Deregister(MakeService("never", "1", {MakeNode("z")})),
      IsOk());
}

TEST_P(RegistryConformanceTest, ListServicesShowsEveryVersion) {
  ASSERT_THAT(registrar_->Register(MakeService("la", "1", {MakeNode("a1")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("lb", "1", {MakeNode("b1")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("lb", "2", {MakeNode("b2")})),
              IsOk());
  ASSERT_TRUE(Eventually(
      [&] {
        auto all = observer_->ListServices();
        if (!all.ok()) return false;
        std::set<std::string> seen;
        for (const Service& s : *all) seen.insert(s.name + "@" + s.version);
        return seen == std::set<std::string>{"la@1", "lb@1", "lb@2"};
      },
      kWait, "three service versions listed"));
}

TEST_P(RegistryConformanceTest, ListServicesWhenEmptyIsOkAndEmpty) {
  EXPECT_THAT(observer_->ListServices(), IsOkAndHolds(IsEmpty()));
}

TEST_P(RegistryConformanceTest, WatchSeesCreateUpdateDelete) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto watcher = observer_->Watch();
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("w", "1", {MakeNode("w1")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("w", "1", {MakeNode("w2")})),
              IsOk());
  ASSERT_THAT(registrar_->Deregister(MakeService("w", "1", {MakeNode("w1")})),
              IsOk());
  auto create = NextEvent(**watcher);
  auto update = NextEvent(**watcher);
  auto remove = NextEvent(**watcher);
  ASSERT_THAT(create, IsOk());
  ASSERT_THAT(update, IsOk());
  ASSERT_THAT(remove, IsOk());
  EXPECT_EQ(create->type, EventType::kCreate);
  EXPECT_EQ(NodeIds(create->service), std::vector<std::string>{"w1"});
  EXPECT_EQ(update->type, EventType::kUpdate);
  EXPECT_EQ(NodeIds(update->service), std::vector<std::string>{"w2"});
  EXPECT_EQ(remove->type, EventType::kDelete);
  EXPECT_EQ(NodeIds(remove->service), std::vector<std::string>{"w1"});
  EXPECT_EQ(remove->service.name, "w");
}

TEST_P(RegistryConformanceTest, WatchFilterKeepsOneService) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto watcher = observer_->Watch({.service = "wanted"});
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("other", "1", {MakeNode("o")})),
              IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("wanted", "1", {MakeNode("w")})),
              IsOk());
  auto event = NextEvent(**watcher);
  ASSERT_THAT(event, IsOk());
  EXPECT_EQ(event->service.name, "wanted");
  EXPECT_THAT((*watcher)->Next(absl::Now() + absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(RegistryConformanceTest, WatcherStopCancelsNext) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto watcher = observer_->Watch();
  ASSERT_THAT(watcher, IsOk());
  std::thread stopper([&] { (*watcher)->Stop(); });
  EXPECT_THAT((*watcher)->Next(absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kCancelled));
  stopper.join();
  (*watcher)->Stop();  // idempotent
  EXPECT_THAT((*watcher)->Next(Deadline()),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_P(RegistryConformanceTest, WatchNextHonoursItsDeadline) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto watcher = observer_->Watch();
  ASSERT_THAT(watcher, IsOk());
  EXPECT_THAT((*watcher)->Next(absl::Now() + absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(RegistryConformanceTest, NodeExpiresAfterItsTtlWithADeleteEvent) {
  if (!env_->can_expire()) {
    GTEST_SKIP() << GetParam().name << " has no expiry";
  }
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto watcher = observer_->Watch({.service = "short"});
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("short", "1", {MakeNode("s")}),
                                   {.ttl = absl::Milliseconds(200)}),
              IsOk());
  auto create = NextEvent(**watcher);
  ASSERT_THAT(create, IsOk());
  EXPECT_EQ(create->type, EventType::kCreate);
  auto expired = NextEvent(**watcher);
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(expired->type, EventType::kDelete);
  EXPECT_EQ(NodeIds(expired->service), std::vector<std::string>{"s"});
  EXPECT_TRUE(Eventually(
      [&] { return absl::IsNotFound(observer_->GetService("short").status()); },
      kWait, "NotFound after expiry"));
}

TEST_P(RegistryConformanceTest, NodesWithoutTtlStay) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  ASSERT_THAT(registrar_->Register(MakeService("stay", "1", {MakeNode("s")})),
              IsOk());
  auto watcher = observer_->Watch({.service = "stay"});
  ASSERT_THAT(watcher, IsOk());
  // Several sweeps pass (backends sweep every few tens of milliseconds in
  // this suite); no delete comes.
  const absl::Time until = absl::Now() + absl::Milliseconds(300);
  while (true) {
    auto event = (*watcher)->Next(until);
    if (absl::IsDeadlineExceeded(event.status())) break;
    ASSERT_THAT(event, IsOk());
    ASSERT_NE(event->type, EventType::kDelete);
  }
  EXPECT_THAT(AwaitVersions("stay", 1), SizeIs(1));
}

TEST_P(RegistryConformanceTest, EveryWatcherGetsEveryEvent) {
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  auto first = observer_->Watch();
  auto second = observer_->Watch();
  auto on_registrar = registrar_->Watch();
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(on_registrar, IsOk());
  ASSERT_THAT(registrar_->Register(MakeService("all", "1", {MakeNode("a")})),
              IsOk());
  for (auto* watcher : {first->get(), second->get(), on_registrar->get()}) {
    auto event = NextEvent(*watcher);
    ASSERT_THAT(event, IsOk());
    EXPECT_EQ(event->type, EventType::kCreate);
    EXPECT_EQ(event->service.name, "all");
  }
}

TEST_P(RegistryConformanceTest, ReRegisteringRefreshesTheTtl) {
  if (!env_->can_expire()) {
    GTEST_SKIP() << GetParam().name << " has no expiry";
  }
  if (!env_->can_watch()) {
    GTEST_SKIP() << GetParam().name << " has no change events to watch";
  }
  const Service service = MakeService("beat", "1", {MakeNode("b")});
  const absl::Duration ttl = absl::Milliseconds(400);
  ASSERT_THAT(registrar_->Register(service, {.ttl = ttl}), IsOk());
  auto watcher = observer_->Watch({.service = "beat"});
  ASSERT_THAT(watcher, IsOk());
  // Heartbeats at a quarter of the TTL for three TTLs: no delete.
  const absl::Time end = absl::Now() + 3 * ttl;
  while (absl::Now() < end) {
    ASSERT_THAT(registrar_->Register(service, {.ttl = ttl}), IsOk());
    auto event = (*watcher)->Next(absl::Now() + ttl / 4);
    if (event.ok()) {
      ASSERT_NE(event->type, EventType::kDelete) << "expired despite heartbeat";
    }
  }
  EXPECT_THAT(observer_->GetService("beat"), IsOk());
}

TEST_P(RegistryConformanceTest, ConcurrentRegistrationFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!registrar_
                 ->Register(MakeService("busy", "1",
                                        {MakeNode(absl::StrCat(t, "-", i))}))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  std::vector<std::string> ids;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) ids.push_back(absl::StrCat(t, "-", i));
  }
  EXPECT_TRUE(AwaitNodes("busy", ids));
}

TEST_P(RegistryConformanceTest, InvalidNamesAreRejected) {
  for (const std::string& name :
       std::vector<std::string>{"", "has space", "wild*", "tail>", "tab\tname",
                                std::string(200, 'n')}) {
    EXPECT_THAT(registrar_->Register(MakeService(name, "1", {MakeNode("n")})),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "'" << name << "'";
    EXPECT_THAT(observer_->GetService(name),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "'" << name << "'";
  }
}

TEST_P(RegistryConformanceTest, InvalidVersionsAndNodesAreRejected) {
  EXPECT_THAT(registrar_->Register(MakeService("v", "1 0", {MakeNode("n")})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registrar_->Register(MakeService("v", "1.*", {MakeNode("n")})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registrar_->Register(MakeService("v", "1", {MakeNode("")})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registrar_->Register(MakeService("v", "1", {MakeNode("a b")})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registrar_->Register(MakeService("v", "1", {})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registrar_->Register(MakeService("v", "1", {MakeNode("n")}),
                                   {.ttl = absl::Seconds(-1)}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(observer_->Watch({.service = "bad name"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(RegistryConformanceTest, EmptyVersionIsAllowed) {
  ASSERT_THAT(
      registrar_->Register(MakeService("unversioned", "", {MakeNode("u")})),
      IsOk());
  auto found = AwaitVersions("unversioned", 1);
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].version, "");
}

TEST_P(RegistryConformanceTest, BackendDownIsUnavailableNotEmpty) {
  if (!env_->can_stop_backend()) {
    GTEST_SKIP() << GetParam().name
                 << " has no backend to take down (it lives in the process)";
  }
  ASSERT_THAT(env_->StopBackend(), IsOk());
  EXPECT_THAT(observer_->GetService("anything"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(observer_->ListServices(),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace micro_nats::registry::testing

#endif  // MICRO_NATS_REGISTRY_TESTING_CONFORMANCE_H_
