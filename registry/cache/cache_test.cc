// Copyright 2026 The micro-nats Authors.

#include "registry/cache/cache.h"

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "registry/memory/memory_registry.h"
#include "registry/mock/mock_registry.h"
#include "registry/nats/nats_registry.h"
#include "registry/testing/conformance.h"
#include "testing/fake_clock.h"
#include "testing/nats_server.h"

namespace micro_nats::registry::testing {
namespace {

using ::micro_nats::testing::FakeClock;

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::NatsServer;
using ::testing::_;
using ::testing::NiceMock;
using ::testing::Return;

absl::StatusOr<std::unique_ptr<Registry>> Cached(
    absl::StatusOr<std::unique_ptr<Registry>> backend) {
  if (!backend.ok()) return backend.status();
  auto cache = CachingRegistry::Create(std::move(backend).value());
  if (!cache.ok()) return cache.status();
  return std::unique_ptr<Registry>(std::move(cache).value());
}

// The cache over memory: each instance its own cache of one shared memory
// registry.
class CachedMemoryEnvironment : public RegistryEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() override {
    return Cached(std::make_unique<SharedRegistry>(memory_));
  }

 private:
  std::shared_ptr<Registry> memory_ =
      NewMemoryRegistry({.sweep_interval = absl::Milliseconds(20)});
};

// The cache over NATS: each instance its own connection, registry and
// cache, as separate processes would have.
class CachedNatsEnvironment : public RegistryEnvironment {
 public:
  explicit CachedNatsEnvironment(std::unique_ptr<NatsServer> server)
      : server_(std::move(server)) {}

  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() override {
    auto conn = nats::Connection::Connect(
        {.servers = {server_->url()}, .max_reconnect_attempts = 1});
    if (!conn.ok()) return conn.status();
    return Cached(
        NewNatsRegistry(*conn, {.sweep_interval = absl::Milliseconds(20)}));
  }
  bool can_stop_backend() const override { return true; }
  absl::Status StopBackend() override { return server_->Stop(); }

 private:
  std::unique_ptr<NatsServer> server_;
};

INSTANTIATE_TEST_SUITE_P(
    Cache, RegistryConformanceTest,
    ::testing::Values(
        RegistryBackend{
            "CacheOverMemory",
            []() -> absl::StatusOr<std::unique_ptr<RegistryEnvironment>> {
              return std::make_unique<CachedMemoryEnvironment>();
            }},
        RegistryBackend{
            "CacheOverNats",
            []() -> absl::StatusOr<std::unique_ptr<RegistryEnvironment>> {
              auto server = NatsServer::Start();
              if (!server.ok()) return server.status();
              return std::make_unique<CachedNatsEnvironment>(
                  std::move(server).value());
            }}),
    RegistryBackendName);

// A registry that counts the lookups reaching it.
class CountingRegistry : public SharedRegistry {
 public:
  using SharedRegistry::SharedRegistry;
  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    ++lookups;
    return SharedRegistry::GetService(name);
  }
  std::atomic<int> lookups{0};
};

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto counting = std::make_shared<CountingRegistry>(memory_);
    counting_ = counting.get();
    MN_ASSERT_OK_AND_ASSIGN(cache_, CachingRegistry::Create(counting));
  }

  std::shared_ptr<Registry> memory_ = NewMemoryRegistry();
  CountingRegistry* counting_ = nullptr;
  std::unique_ptr<CachingRegistry> cache_;
};

TEST_F(CacheTest, AnswersFromMemoryAfterTheFirstLookup) {
  ASSERT_THAT(memory_->Register(MakeService("c", "1", {MakeNode("a")})),
              IsOk());
  for (int i = 0; i < 5; ++i) {
    auto found = cache_->Lookup("c");
    ASSERT_THAT(found, IsOk());
    EXPECT_FALSE(found->stale);
    EXPECT_EQ(NodeIds(found->services.at(0)), std::vector<std::string>{"a"});
  }
  EXPECT_EQ(counting_->lookups, 1);
}

TEST(CacheSchedulerTest, EventsAreAppliedOnTheSchedulerWithNoThreadOfItsOwn) {
  concurrency::Scheduler scheduler;
  std::shared_ptr<Registry> memory =
      NewMemoryRegistry({.scheduler = &scheduler});
  ASSERT_THAT(memory->Register(MakeService("c", "1", {MakeNode("a")})), IsOk());
  const int threads_before = ::micro_nats::testing::ThreadCount();
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<CachingRegistry> cache,
      CachingRegistry::Create(memory, {.scheduler = &scheduler}));
  EXPECT_EQ(::micro_nats::testing::ThreadCount(), threads_before);
  ASSERT_THAT(cache->GetService("c"), IsOk());
  const int64_t runs_before = scheduler.stats().runs;
  ASSERT_THAT(memory->Register(MakeService("c", "1", {MakeNode("b")})), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = cache->Lookup("c");
        return found.ok() && found->services.at(0).nodes.size() == 2;
      },
      absl::Seconds(5), "the cache to apply the event"));
  EXPECT_GT(scheduler.stats().runs, runs_before);
  EXPECT_EQ(cache->stats().backend_queries, 1);
  cache.reset();  // stops the watch and cancels the drain
  memory.reset();
  EXPECT_EQ(scheduler.stats().pending, 0);
}

TEST(CacheSharedTest, HitsShareOneAnswerUntilTheEntryChanges) {
  FakeClock clock;
  std::shared_ptr<Registry> memory = NewMemoryRegistry();
  ASSERT_THAT(memory->Register(MakeService("c", "1", {MakeNode("a")})), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<CachingRegistry> cache,
      CachingRegistry::Create(memory, {.node_ttl = absl::Seconds(10),
                                       .clock = clock.AsFunction()}));
  MN_ASSERT_OK_AND_ASSIGN(auto first, cache->LookupShared("c"));
  MN_ASSERT_OK_AND_ASSIGN(auto again, cache->LookupShared("c"));
  EXPECT_EQ(first.get(), again.get());
  EXPECT_EQ(NodeIds(first->services.at(0)), std::vector<std::string>{"a"});
  // An event makes a new answer; the one handed out stays as it was.
  ASSERT_THAT(memory->Register(MakeService("c", "1", {MakeNode("b")})), IsOk());
  std::shared_ptr<const CachedLookup> changed;
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = cache->LookupShared("c");
        if (!found.ok() || (*found)->services.at(0).nodes.size() != 2) {
          return false;
        }
        changed = *found;
        return true;
      },
      absl::Seconds(5), "the cache to apply the event"));
  EXPECT_NE(changed.get(), first.get());
  EXPECT_EQ(NodeIds(first->services.at(0)), std::vector<std::string>{"a"});
  // Past node_ttl the shared answer is not used: the backend is asked.
  clock.Advance(absl::Seconds(11));
  MN_ASSERT_OK_AND_ASSIGN(auto refetched, cache->LookupShared("c"));
  EXPECT_NE(refetched.get(), changed.get());
  EXPECT_EQ(cache->stats().backend_queries, 2);
}

TEST_F(CacheTest, WatchEventsKeepTheCacheCurrentWithoutQueries) {
  ASSERT_THAT(memory_->Register(MakeService("c", "1", {MakeNode("a")})),
              IsOk());
  ASSERT_THAT(cache_->GetService("c"), IsOk());
  ASSERT_THAT(memory_->Register(MakeService("c", "1", {MakeNode("b")})),
              IsOk());
  ASSERT_THAT(memory_->Deregister(MakeService("c", "1", {MakeNode("a")})),
              IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        auto found = cache_->GetService("c");
        return found.ok() &&
               NodeIds(found->at(0)) == std::vector<std::string>{"b"};
      },
      absl::Seconds(5), "the cache to follow the events"));
  EXPECT_EQ(counting_->lookups, 1);
}

TEST_F(CacheTest, EvictDropsANodeAtOnce) {
  ASSERT_THAT(memory_->Register(
                  MakeService("c", "1", {MakeNode("a"), MakeNode("dead")})),
              IsOk());
  ASSERT_THAT(cache_->GetService("c"), IsOk());
  cache_->Evict("c", "dead");
  auto found = cache_->GetService("c");
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(NodeIds(found->at(0)), std::vector<std::string>{"a"});
  EXPECT_EQ(counting_->lookups, 1);
  cache_->Evict("unknown", "x");  // harmless
}

TEST_F(CacheTest, HoldsOnlyServicesThatHaveNodes) {
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(cache_->Lookup(absl::StrCat("unknown", i)),
                StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_EQ(cache_->CachedNames(), 0u);

  ASSERT_THAT(memory_->Register(MakeService("c", "1", {MakeNode("a")})),
              IsOk());
  ASSERT_THAT(memory_->Register(MakeService("d", "1", {MakeNode("b")})),
              IsOk());
  ASSERT_THAT(cache_->Lookup("c"), IsOk());
  ASSERT_THAT(cache_->Lookup("d"), IsOk());
  EXPECT_EQ(cache_->CachedNames(), 2u);
  // The last node goes by an event, or by Evict.
  ASSERT_THAT(memory_->Deregister(MakeService("c", "1", {MakeNode("a")})),
              IsOk());
  EXPECT_TRUE(Eventually([&] { return cache_->CachedNames() == 1; },
                         absl::Seconds(5), "c forgotten"));
  cache_->Evict("d", "b");
  EXPECT_EQ(cache_->CachedNames(), 0u);
  // Forgotten is not lost: the next lookup asks the backend again.
  EXPECT_THAT(cache_->Lookup("d"), IsOk());
}

// A backend whose every answer is a guess (an idle gap ended it).
class GuessingRegistry : public SharedRegistry {
 public:
  using SharedRegistry::SharedRegistry;
  absl::StatusOr<LookupResult> Find(absl::string_view name) override {
    ++lookups;
    auto services = SharedRegistry::GetService(name);
    if (!services.ok()) return services.status();
    return LookupResult{std::move(services).value(), false};
  }
  std::atomic<int> lookups{0};
};

TEST(CachePartialTest, AGuessIsMarkedAndAskedAgainSooner) {
  std::shared_ptr<Registry> memory = NewMemoryRegistry();
  ASSERT_THAT(memory->Register(MakeService("s", "1", {MakeNode("n")})), IsOk());
  auto guessing = std::make_shared<GuessingRegistry>(memory);
  FakeClock clock;
  MN_ASSERT_OK_AND_ASSIGN(
      auto cache,
      CachingRegistry::Create(guessing, {.node_ttl = absl::Minutes(1),
                                         .partial_ttl = absl::Seconds(5),
                                         .clock = clock.AsFunction()}));
  auto first = cache->Lookup("s");
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->partial);
  EXPECT_FALSE(first->stale);
  ASSERT_THAT(cache->Lookup("s"), IsOk());
  EXPECT_EQ(guessing->lookups, 1) << "within partial_ttl: from the cache";
  clock.Advance(absl::Seconds(6));
  auto again = cache->Lookup("s");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(guessing->lookups, 2) << "a guess is asked again after partial_ttl";
  EXPECT_TRUE(again->partial);
}

TEST(CachePartialTest, AKnownCompleteAnswerIsNotPartial) {
  std::shared_ptr<Registry> memory = NewMemoryRegistry();
  ASSERT_THAT(memory->Register(MakeService("s", "1", {MakeNode("n")})), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(memory));
  auto found = cache->Lookup("s");
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->partial);
}

TEST(CacheFailureTest, StaleAnswersWhenTheBackendFails) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  EXPECT_CALL(*backend, GetService(_))
      .WillOnce(
          Return(std::vector<Service>{MakeService("s", "1", {MakeNode("n")})}))
      .WillRepeatedly(Return(absl::UnavailableError("NATS is down")));
  FakeClock clock;
  MN_ASSERT_OK_AND_ASSIGN(
      auto cache,
      CachingRegistry::Create(backend, {.node_ttl = absl::Seconds(10),
                                        .clock = clock.AsFunction()}));
  auto fresh = cache->Lookup("s");
  ASSERT_THAT(fresh, IsOk());
  EXPECT_FALSE(fresh->stale);
  clock.Advance(absl::Seconds(11));  // the node is due for a refresh
  auto stale = cache->Lookup("s");
  ASSERT_THAT(stale, IsOk());
  EXPECT_TRUE(stale->stale);
  EXPECT_EQ(NodeIds(stale->services.at(0)), std::vector<std::string>{"n"});
}

TEST(CacheFailureTest, WithNothingCachedTheBackendErrorComesThrough) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  ON_CALL(*backend, GetService(_))
      .WillByDefault(Return(absl::UnavailableError("NATS is down")));
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(backend));
  EXPECT_THAT(cache->Lookup("s"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CacheFailureTest, OneQueryInFlightPerName) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  std::mutex gate;
  gate.lock();
  Collector<int> entered;
  EXPECT_CALL(*backend, GetService(::testing::Eq("slow")))
      .WillOnce([&](absl::string_view) {
        entered.Add(1);
        std::lock_guard<std::mutex> wait(gate);
        return absl::StatusOr<std::vector<Service>>(
            std::vector<Service>{MakeService("slow", "1", {MakeNode("n")})});
      });
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(backend));
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      if (cache->Lookup("slow").ok()) ++ok;
    });
  }
  ASSERT_TRUE(entered.WaitForCount(1, absl::Seconds(5)));
  gate.unlock();
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok, 8);  // and GetService ran once (EXPECT_CALL above)
}

// `callers` lookups of "s" while the backend holds its one query until all
// of them wait for it; the backend then says `answer`. Their statuses, and
// how many queries reached the backend.
struct SharedQuery {
  std::vector<absl::Status> statuses;
  int64_t backend_queries = 0;
};

SharedQuery LookupsSharingOneQuery(absl::StatusOr<std::vector<Service>> answer,
                                   int callers) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  std::mutex gate;
  gate.lock();
  Collector<int> entered;
  EXPECT_CALL(*backend, GetService(_)).WillOnce([&](absl::string_view) {
    entered.Add(1);
    std::lock_guard<std::mutex> wait(gate);
    return answer;
  });
  auto cache = CachingRegistry::Create(backend);
  EXPECT_THAT(cache, IsOk());
  if (!cache.ok()) return {};
  std::vector<std::thread> threads;
  Collector<absl::Status> results;
  for (int i = 0; i < callers; ++i) {
    threads.emplace_back([&] { results.Add((*cache)->Lookup("s").status()); });
  }
  EXPECT_TRUE(entered.WaitForCount(1, absl::Seconds(5)));
  EXPECT_TRUE(Eventually(
      [&] { return (*cache)->stats().joined_queries == callers - 1; },
      absl::Seconds(5), "the other callers waiting on the one query"));
  gate.unlock();
  for (auto& t : threads) t.join();
  return {results.Snapshot(), (*cache)->stats().backend_queries};
}

// Callers of an unknown name while the backend takes its time: one query,
// and its outcome answers them all, NotFound and errors alike.
TEST(CacheFailureTest, ConcurrentLookupsShareOneQueryAndItsOutcome) {
  const struct {
    absl::Status answer;
    int callers;
  } cases[] = {{absl::NotFoundError("service 's' not found"), 8},
               {absl::UnavailableError("NATS is down"), 4}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.answer.ToString());
    const SharedQuery got = LookupsSharingOneQuery(c.answer, c.callers);
    ASSERT_EQ(got.statuses.size(), static_cast<size_t>(c.callers));
    for (const absl::Status& s : got.statuses) {
      EXPECT_THAT(s, StatusIs(c.answer.code()));
    }
    EXPECT_EQ(got.backend_queries, 1);
  }
}

// A lookup returns by its own deadline while the backend is still asking;
// the query goes on and answers later lookups.
TEST(CacheFailureTest, ALookupReturnsByItsDeadline) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  std::mutex gate;
  gate.lock();
  Collector<int> entered;
  EXPECT_CALL(*backend, GetService(_)).WillOnce([&](absl::string_view) {
    entered.Add(1);
    std::lock_guard<std::mutex> wait(gate);
    return absl::StatusOr<std::vector<Service>>(
        std::vector<Service>{MakeService("s", "1", {MakeNode("n")})});
  });
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(backend));
  EXPECT_THAT(cache->Lookup("s", absl::Now() + absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_TRUE(entered.WaitForCount(1, absl::Seconds(5)));
  EXPECT_THAT(cache->Lookup("s", absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(cache->stats().timed_out, 2);
  gate.unlock();
  auto found = cache->Lookup("s", absl::InfiniteFuture());
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(NodeIds(found->services.at(0)), std::vector<std::string>{"n"});
  EXPECT_EQ(cache->stats().backend_queries, 1);
}

TEST(CacheFailureTest, AWatcherThatFellBehindMakesTheCacheAskAgain) {
  auto backend = std::make_shared<NiceMock<MockRegistry>>();
  auto watcher = std::make_unique<NiceMock<MockWatcher>>();
  std::mutex gate;
  gate.lock();
  EXPECT_CALL(*watcher, Next(_))
      .WillOnce([&](absl::Time) {
        std::lock_guard<std::mutex> wait(gate);  // after the first lookup
        return absl::StatusOr<Event>(absl::ResourceExhaustedError("behind"));
      })
      .WillRepeatedly(Return(absl::CancelledError("stopped")));
  EXPECT_CALL(*backend, Watch(_)).WillOnce(Return(std::move(watcher)));
  std::atomic<int> fetches{0};
  ON_CALL(*backend, GetService(_)).WillByDefault([&](absl::string_view) {
    ++fetches;
    return absl::StatusOr<std::vector<Service>>(
        std::vector<Service>{MakeService("s", "1", {MakeNode("n")})});
  });
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(backend));
  ASSERT_THAT(cache->Lookup("s"), IsOk());
  ASSERT_THAT(cache->Lookup("s"), IsOk());
  EXPECT_EQ(fetches, 1);  // answered from memory
  gate.unlock();
  // Once the watcher's gap is applied, a lookup fetches again.
  EXPECT_TRUE(
      Eventually([&] { return cache->Lookup("s").ok() && fetches == 2; },
                 absl::Seconds(5), "a second fetch"));
}

// Over NATS: events missed while the connection was down make the cache
// ask again rather than answer from what it held.
TEST(CacheOverNatsTest, AReconnectMakesTheCacheReadAgain) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start());
  auto connect = [&] {
    return nats::Connection::Connect({.servers = {server->url()}});
  };
  MN_ASSERT_OK_AND_ASSIGN(auto registrar_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto cache_conn, connect());
  MN_ASSERT_OK_AND_ASSIGN(auto registrar, NewNatsRegistry(registrar_conn));
  MN_ASSERT_OK_AND_ASSIGN(std::shared_ptr<Registry> backend,
                          NewNatsRegistry(cache_conn));
  MN_ASSERT_OK_AND_ASSIGN(auto cache, CachingRegistry::Create(backend));
  ASSERT_THAT(registrar->Register(MakeService("s", "1", {MakeNode("n")})),
              IsOk());
  ASSERT_THAT(cache->Lookup("s"), IsOk());
  ASSERT_THAT(cache->Lookup("s"), IsOk());
  ASSERT_EQ(cache->stats().backend_queries, 1);
  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_TRUE(Eventually(
      [&] {
        return cache->Lookup("s").ok() && cache->stats().backend_queries >= 2;
      },
      absl::Seconds(20), "a lookup that asked the registry again"));
}

}  // namespace
}  // namespace micro_nats::registry::testing
