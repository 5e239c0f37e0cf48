// Copyright 2026 The micro-nats Authors.

#include "registry/memory/memory_registry.h"

#include "registry/testing/conformance.h"
#include "testing/fake_clock.h"

namespace micro_nats::registry::testing {
namespace {

using ::micro_nats::testing::FakeClock;

class MemoryEnvironment : public RegistryEnvironment {
 public:
  absl::StatusOr<std::unique_ptr<Registry>> NewRegistry() override {
    return std::make_unique<SharedRegistry>(registry_);
  }

 private:
  std::shared_ptr<Registry> registry_ =
      NewMemoryRegistry({.sweep_interval = absl::Milliseconds(20)});
};

absl::StatusOr<std::unique_ptr<RegistryEnvironment>> MakeMemoryEnvironment() {
  return std::make_unique<MemoryEnvironment>();
}

INSTANTIATE_TEST_SUITE_P(Memory, RegistryConformanceTest,
                         ::testing::Values(RegistryBackend{
                             "Memory", &MakeMemoryEnvironment}),
                         RegistryBackendName);

TEST(MemoryRegistryTest, TtlWithAFakeClockNeedsNoSleep) {
  FakeClock clock;
  auto registry = NewMemoryRegistry(
      {.clock = clock.AsFunction(), .sweep_interval = absl::ZeroDuration()});
  auto watcher = registry->Watch();
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registry->Register(MakeService("t", "1", {MakeNode("a")}),
                                 {.ttl = absl::Seconds(30)}),
              IsOk());
  ASSERT_THAT(registry->Register(MakeService("t", "1", {MakeNode("b")})),
              IsOk());  // no TTL: stays
  clock.Advance(absl::Seconds(29));
  auto before = registry->GetService("t");
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(*before, SizeIs(1));
  EXPECT_EQ(NodeIds((*before)[0]), (std::vector<std::string>{"a", "b"}));
  clock.Advance(absl::Seconds(2));
  auto after = registry->GetService("t");
  ASSERT_THAT(after, IsOk());
  ASSERT_THAT(*after, SizeIs(1));
  EXPECT_EQ(NodeIds((*after)[0]), std::vector<std::string>{"b"});
  // create, update, then the expiry's delete.
  std::vector<EventType> types;
  for (int i = 0; i < 3; ++i) {
    auto event = (*watcher)->Next(absl::Now() + absl::Seconds(5));
    ASSERT_THAT(event, IsOk());
    types.push_back(event->type);
  }
  EXPECT_THAT(types, ElementsAre(EventType::kCreate, EventType::kUpdate,
                                 EventType::kDelete));
}

TEST(MemoryRegistryTest, TheSweepIsATaskOnTheGivenScheduler) {
  // One fake clock for the TTL and the scheduler: the sweep's delete event
  // comes when the clock passes both, with no lookup to trigger it.
  FakeClock clock;
  concurrency::Scheduler scheduler({.clock = clock.AsFunction()});
  auto registry = NewMemoryRegistry({.clock = clock.AsFunction(),
                                     .sweep_interval = absl::Seconds(1),
                                     .scheduler = &scheduler});
  auto watcher = registry->Watch({.service = "t"});
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(registry->Register(MakeService("t", "1", {MakeNode("a")}),
                                 {.ttl = absl::Milliseconds(1500)}),
              IsOk());
  ASSERT_THAT((*watcher)->Next(absl::InfinitePast()), IsOk());  // create
  auto advance = [&](absl::Duration d) {
    clock.Advance(d);
    scheduler.ClockAdvanced();
    ASSERT_TRUE(scheduler.WaitIdle(absl::Now() + absl::Seconds(10)));
  };
  advance(absl::Seconds(1));  // a sweep, nothing expired yet
  EXPECT_EQ(scheduler.stats().runs, 1);
  EXPECT_THAT((*watcher)->Next(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  advance(absl::Seconds(1));  // the next sweep removes it
  EXPECT_EQ(scheduler.stats().runs, 2);
  auto expired = (*watcher)->Next(absl::InfinitePast());
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(expired->type, EventType::kDelete);
  registry.reset();  // cancels the sweep
  EXPECT_EQ(scheduler.stats().pending, 0);
}

TEST(MemoryRegistryTest, AWatcherThatFallsBehindIsTold) {
  auto registry = NewMemoryRegistry({.watch_buffer = 4});
  auto watcher = registry->Watch();
  ASSERT_THAT(watcher, IsOk());
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(registry->Register(
                    MakeService("flood", "1", {MakeNode(absl::StrCat(i))})),
                IsOk());
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT((*watcher)->Next(deadline), IsOk());
  }
  EXPECT_THAT((*watcher)->Next(deadline),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("6 events were dropped")));
  // The watcher goes on with later events.
  ASSERT_THAT(registry->Register(MakeService("flood", "1", {MakeNode("late")})),
              IsOk());
  auto late = (*watcher)->Next(deadline);
  ASSERT_THAT(late, IsOk());
  EXPECT_EQ(NodeIds(late->service), std::vector<std::string>{"late"});
}

}  // namespace
}  // namespace micro_nats::registry::testing
