// Copyright 2026 The micro-nats Authors.

#include "concurrency/scheduler.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/sync.h"

namespace micro_nats::concurrency {
namespace {

using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::FakeClock;

constexpr absl::Duration kWait = absl::Seconds(10);

absl::Time Soon() { return absl::Now() + kWait; }

// A scheduler on a fake clock: what runs when depends on Advance only.
class FakeClockTest : public ::testing::Test {
 protected:
  // Moves the clock and waits until everything now due has run.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    scheduler_.ClockAdvanced();
    ASSERT_TRUE(scheduler_.WaitIdle(Soon()));
  }

  FakeClock clock_;
  Scheduler scheduler_{{.clock = clock_.AsFunction()}};
};

TEST_F(FakeClockTest, AfterRunsOnceAtItsDueTime) {
  std::atomic<int> runs{0};
  ScheduledTask task = scheduler_.After(absl::Seconds(1), [&] { ++runs; });
  Advance(absl::Milliseconds(999));
  EXPECT_EQ(runs.load(), 0);
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(runs.load(), 1);
  Advance(absl::Seconds(10));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(task.valid());  // a one-shot that ran can be run again
}

TEST_F(FakeClockTest, AtAPastTimeRunsAtOnce) {
  std::atomic<int> runs{0};
  ScheduledTask task =
      scheduler_.At(clock_.Now() - absl::Hours(1), [&] { ++runs; });
  ASSERT_TRUE(scheduler_.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 1);
}

TEST_F(FakeClockTest, EveryRunsOneIntervalAfterEachRun) {
  std::atomic<int> runs{0};
  ScheduledTask task = scheduler_.Every(absl::Seconds(1), [&] { ++runs; });
  Advance(absl::Milliseconds(500));
  EXPECT_EQ(runs.load(), 0);
  for (int i = 1; i <= 3; ++i) {
    Advance(absl::Milliseconds(500));
    EXPECT_EQ(runs.load(), i);
    Advance(absl::Milliseconds(500));
    EXPECT_EQ(runs.load(), i);
  }
  // A jump of many intervals runs it once, not once per missed interval.
  Advance(absl::Seconds(60));
  EXPECT_EQ(runs.load(), 4);
  EXPECT_EQ(scheduler_.stats().pending, 1);
}

TEST_F(FakeClockTest, TasksRunInDueOrder) {
  std::mutex mu;
  std::vector<int> order;
  auto record = [&](int i) {
    return [&, i] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    };
  };
  Scheduler one({.clock = clock_.AsFunction(), .max_threads = 1});
  ScheduledTask c = one.After(absl::Seconds(3), record(3));
  ScheduledTask a = one.After(absl::Seconds(1), record(1));
  ScheduledTask b = one.After(absl::Seconds(2), record(2));
  clock_.Advance(absl::Seconds(5));
  one.ClockAdvanced();
  ASSERT_TRUE(one.WaitIdle(Soon()));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(FakeClockTest, ACancelledTaskNeverRunsAndItsCaptureIsReleased) {
  std::atomic<int> runs{0};
  auto held = std::make_shared<int>(7);
  ScheduledTask task =
      scheduler_.Every(absl::Seconds(1), [&runs, held] { ++runs; });
  EXPECT_EQ(held.use_count(), 2);
  task.Cancel();
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_FALSE(task.valid());
  Advance(absl::Seconds(5));
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(scheduler_.stats().pending, 0);
  task.Cancel();  // idempotent
}

TEST_F(FakeClockTest, DestroyingOrOverwritingTheHandleCancels) {
  std::atomic<int> runs{0};
  {
    ScheduledTask task = scheduler_.After(absl::Seconds(1), [&] { ++runs; });
  }
  ScheduledTask kept = scheduler_.After(absl::Seconds(1), [&] { ++runs; });
  kept = scheduler_.After(absl::Seconds(2), [&] { runs += 10; });
  ScheduledTask moved = std::move(kept);
  Advance(absl::Seconds(3));
  EXPECT_EQ(runs.load(), 10);
}

TEST_F(FakeClockTest, OnDemandRunsOnlyWhenAskedAndOncePerRequestBatch) {
  std::atomic<int> runs{0};
  ScheduledTask task = scheduler_.OnDemand([&] { ++runs; });
  Advance(absl::Hours(1));
  EXPECT_EQ(runs.load(), 0);
  task.RunSoon();
  ASSERT_TRUE(scheduler_.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 1);
  task.RunSoon();
  ASSERT_TRUE(scheduler_.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(FakeClockTest, RunSoonMovesAPeriodicRunForwardAndRestartsItsPeriod) {
  std::atomic<int> runs{0};
  ScheduledTask task = scheduler_.Every(absl::Seconds(10), [&] { ++runs; });
  Advance(absl::Seconds(5));
  task.RunSoon();
  ASSERT_TRUE(scheduler_.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 1);
  Advance(absl::Seconds(9));  // 14 s: the old period's 10 s passed
  EXPECT_EQ(runs.load(), 1);
  Advance(absl::Seconds(1));  // 10 s after the early run
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(FakeClockTest, ACallbackCancellingItselfRunsOnce) {
  std::atomic<int> runs{0};
  ScheduledTask task;
  absl::Notification assigned;
  task = scheduler_.Every(absl::Seconds(1), [&] {
    ASSERT_TRUE(assigned.WaitForNotificationWithTimeout(kWait));
    ++runs;
    task.Cancel();  // must not wait for itself
  });
  assigned.Notify();
  Advance(absl::Seconds(1));
  Advance(absl::Seconds(5));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(task.valid());
}

TEST(SchedulerTest, CancelWaitsForTheRunInProgress) {
  Scheduler scheduler;
  absl::Notification started, release;
  std::atomic<bool> finished{false};
  ScheduledTask task = scheduler.OnDemand([&] {
    started.Notify();
    ASSERT_TRUE(release.WaitForNotificationWithTimeout(kWait));
    finished = true;
  });
  task.RunSoon();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  std::atomic<bool> finished_when_cancel_returned{false};
  std::thread canceller([&] {
    task.Cancel();
    finished_when_cancel_returned = finished.load();
  });
  release.Notify();
  canceller.join();
  EXPECT_TRUE(finished_when_cancel_returned.load());
}

TEST(SchedulerTest, ALongCallbackDoesNotStallTheOthers) {
  Scheduler scheduler({.max_threads = 2});
  absl::Notification started, release;
  ScheduledTask blocker = scheduler.OnDemand([&] {
    started.Notify();
    ASSERT_TRUE(release.WaitForNotificationWithTimeout(kWait));
  });
  blocker.RunSoon();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  absl::Notification ticked;
  std::atomic<int> ticks{0};
  ScheduledTask ticker = scheduler.Every(absl::Milliseconds(1), [&] {
    if (++ticks == 3) ticked.Notify();
  });
  EXPECT_TRUE(ticked.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(scheduler.stats().threads, 2);  // the blocked one and a leader
  release.Notify();
  blocker.Cancel();
  // The thread left over when the long callback returned exits.
  EXPECT_TRUE(Eventually([&] { return scheduler.stats().threads == 1; }, kWait,
                         "one thread at rest"));
  ticker.Cancel();
}

TEST(SchedulerTest, ManyPeriodicTasksNeedOneThreadAtRest) {
  Scheduler scheduler;
  std::atomic<int> ticks{0};
  std::vector<ScheduledTask> tasks;
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(
        scheduler.Every(absl::Milliseconds(1 + i), [&] { ++ticks; }));
  }
  EXPECT_TRUE(Eventually([&] { return ticks.load() >= 100; }, kWait, "ticks"));
  // More only while callbacks overlap (slow ones: under TSan), never past
  // max_threads.
  EXPECT_LE(scheduler.stats().threads, 4);
  for (ScheduledTask& task : tasks) task.Cancel();
  EXPECT_TRUE(Eventually([&] { return scheduler.stats().threads == 1; }, kWait,
                         "one thread at rest"));
}

TEST(SchedulerTest, RunSoonDuringARunRunsOnceMoreAfterIt) {
  Scheduler scheduler({.max_threads = 1});
  absl::Notification started, release;
  std::atomic<int> runs{0};
  ScheduledTask task = scheduler.OnDemand([&] {
    if (++runs == 1) {
      started.Notify();
      ASSERT_TRUE(release.WaitForNotificationWithTimeout(kWait));
    }
  });
  task.RunSoon();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  task.RunSoon();
  task.RunSoon();
  task.RunSoon();
  release.Notify();
  ASSERT_TRUE(scheduler.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 2);
}

TEST(SchedulerTest, SlowCallbacksAreCounted) {
  Scheduler scheduler({.slow_callback = absl::ZeroDuration()});
  absl::Notification ran;
  ScheduledTask task = scheduler.After(absl::ZeroDuration(), [&] {
    absl::SleepFor(absl::Microseconds(10));  // the slow work itself
    ran.Notify();
  });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(scheduler.WaitIdle(Soon()));
  EXPECT_EQ(scheduler.stats().runs, 1);
  EXPECT_EQ(scheduler.stats().slow_runs, 1);
}

TEST(SchedulerTest, ShutdownReturnsByItsDeadlineWhenACallbackIsStuck) {
  auto scheduler = std::make_unique<Scheduler>();
  absl::Notification started, release;
  auto done = std::make_shared<std::atomic<bool>>(false);
  ScheduledTask stuck = scheduler->OnDemand([&started, &release, done] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
    *done = true;
  });
  stuck.RunSoon();
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  const absl::Time begin = absl::Now();
  EXPECT_FALSE(scheduler->Shutdown(absl::Now() + absl::Milliseconds(50)));
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5));
  // Tasks added now never run.
  std::atomic<int> runs{0};
  ScheduledTask late = scheduler->After(absl::ZeroDuration(), [&] { ++runs; });
  EXPECT_FALSE(late.valid());
  EXPECT_EQ(scheduler->stats().refused, 1);
  release.Notify();
  // The left thread finishes the callback (it holds what it needs).
  EXPECT_TRUE(Eventually([&] { return done->load(); }, kWait, "stuck ran"));
  scheduler.reset();
  EXPECT_EQ(runs.load(), 0);
}

TEST(SchedulerTest, ShutdownCancelsPendingTasksAndJoins) {
  Scheduler scheduler;
  auto held = std::make_shared<int>(1);
  ScheduledTask task = scheduler.Every(absl::Hours(1), [held] {});
  std::atomic<int> runs{0};
  ScheduledTask now = scheduler.After(absl::ZeroDuration(), [&] { ++runs; });
  ASSERT_TRUE(scheduler.WaitIdle(Soon()));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(scheduler.Shutdown(Soon()));
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_FALSE(task.valid());
  EXPECT_EQ(scheduler.stats().threads, 0);
  task.Cancel();                            // after shutdown: fine
  EXPECT_TRUE(scheduler.Shutdown(Soon()));  // idempotent
}

TEST(SchedulerTest, HandlesOutliveTheirScheduler) {
  ScheduledTask task;
  {
    Scheduler scheduler;
    task = scheduler.Every(absl::Hours(1), [] {});
  }
  EXPECT_FALSE(task.valid());
  task.RunSoon();
  task.Cancel();
}

TEST(SchedulerTest, ShutdownFromACallbackDoesNotWaitForItself) {
  auto scheduler = std::make_shared<Scheduler>();
  absl::Notification done;
  std::atomic<bool> result{false};
  ScheduledTask task = scheduler->After(absl::ZeroDuration(), [&] {
    result = scheduler->Shutdown(absl::Now() + kWait);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(result.load());
}

TEST(SchedulerTest, OnePeriodicTaskNeedsOneThread) {
  Scheduler scheduler;
  absl::Notification ticked;
  std::atomic<int> ticks{0};
  ScheduledTask task = scheduler.Every(absl::Milliseconds(1), [&] {
    if (++ticks == 20) ticked.Notify();
  });
  ASSERT_TRUE(ticked.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(scheduler.stats().threads, 1);
}

TEST(SchedulerTest, DefaultIsOneInstanceThatRuns) {
  EXPECT_EQ(&Scheduler::Default(), &Scheduler::Default());
  absl::Notification ran;
  ScheduledTask task =
      Scheduler::Default().After(absl::ZeroDuration(), [&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(kWait));
}

// For TSan: handles added, woken and cancelled from many threads at once,
// while callbacks run.
TEST(SchedulerTest, ConcurrentUseIsSafe) {
  Scheduler scheduler;
  std::atomic<int64_t> runs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ScheduledTask every =
            scheduler.Every(absl::Microseconds(100 + t), [&] { ++runs; });
        ScheduledTask once =
            scheduler.After(absl::ZeroDuration(), [&] { ++runs; });
        ScheduledTask demand = scheduler.OnDemand([&] { ++runs; });
        demand.RunSoon();
        every.RunSoon();
        if (i % 2 == 0) once.Cancel();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(scheduler.WaitIdle(Soon()));
  EXPECT_EQ(scheduler.stats().pending, 0);
  EXPECT_LE(scheduler.stats().threads, 4);
  EXPECT_TRUE(scheduler.Shutdown(Soon()));
}

}  // namespace
}  // namespace micro_nats::concurrency
