// Copyright 2026 The micro-nats Authors.

#include "concurrency/thread_pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/error_sink.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::concurrency {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;

constexpr absl::Duration kWait = absl::Seconds(10);

TEST(ThreadPoolTest, RunsEveryTaskOnAtMostMaxThreads) {
  Collector<int> done;
  {
    ThreadPool pool(3);
    for (int i = 0; i < 200; ++i) {
      ASSERT_THAT(pool.Schedule([&done, i] { done.Add(i); }), IsOk());
    }
    ASSERT_TRUE(done.WaitForCount(200, kWait));
    EXPECT_LE(pool.threads(), 3);
    EXPECT_GE(pool.threads(), 1);
  }
  EXPECT_EQ(done.Snapshot().size(), 200u);
}

TEST(ThreadPoolTest, StartsThreadsOnlyAsNeeded) {
  ThreadPool pool(8);
  EXPECT_EQ(pool.threads(), 0);
  Collector<int> done;
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(pool.Schedule([&] { done.Add(1); }), IsOk());
    ASSERT_TRUE(done.WaitForCount(i + 1, kWait));
  }
  // One task at a time never needs a second thread... unless the first had
  // not gone back to waiting yet; never all eight.
  EXPECT_LT(pool.threads(), 8);
}

TEST(ThreadPoolTest, DestructorRunsWhatWasQueued) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    for (int i = 0; i < 50; ++i) {
      ASSERT_THAT(pool.Schedule([&] { ran.fetch_add(1); }), IsOk());
    }
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolTest, ATaskThatThrowsDoesNotEndItsThread) {
  Collector<ErrorReport> reports;
  ScopedErrorSink sink([&](const ErrorReport& r) { reports.Add(r); });
  ThreadPool pool(1);
  Collector<int> done;
  ASSERT_THAT(pool.Schedule([] { throw std::runtime_error("boom"); }), IsOk());
  ASSERT_THAT(pool.Schedule([&] { done.Add(1); }), IsOk());
  EXPECT_TRUE(done.WaitForCount(1, kWait));
  EXPECT_EQ(pool.threads(), 1);
  ASSERT_TRUE(reports.WaitForCount(1, kWait));
  EXPECT_EQ(reports.Snapshot()[0].component, "thread_pool");
  EXPECT_THAT(reports.Snapshot()[0].status,
              StatusIs(absl::StatusCode::kInternal, "a task threw: boom"));
}

TEST(ThreadPoolTest, LastOwnerMayLetGoInsideATask) {
  auto pool = std::make_shared<ThreadPool>(1);
  Collector<int> done;
  ThreadPool* raw = pool.get();
  ASSERT_THAT(raw->Schedule([&done, keep = std::move(pool)]() mutable {
    keep.reset();  // the pool is destroyed on its own thread
    done.Add(1);
  }),
              IsOk());
  EXPECT_TRUE(done.WaitForCount(1, kWait));
}

TEST(SerialQueueTest, KeepsOrderAcrossAPoolOfSeveralThreads) {
  auto pool = std::make_shared<ThreadPool>(4);
  std::vector<std::shared_ptr<SerialQueue>> queues;
  std::vector<std::unique_ptr<Collector<int>>> seen;
  for (int q = 0; q < 4; ++q) {
    queues.push_back(SerialQueue::Create(pool));
    seen.push_back(std::make_unique<Collector<int>>());
  }
  for (int i = 0; i < 500; ++i) {
    for (int q = 0; q < 4; ++q) {
      ASSERT_THAT(queues[q]->Schedule([c = seen[q].get(), i] { c->Add(i); }),
                  IsOk());
    }
  }
  for (int q = 0; q < 4; ++q) {
    ASSERT_TRUE(seen[q]->WaitForCount(500, kWait));
    std::vector<int> got = seen[q]->Snapshot();
    for (int i = 0; i < 500; ++i) ASSERT_EQ(got[i], i) << "queue " << q;
  }
}

TEST(SerialQueueTest, RunsOneTaskAtATime) {
  auto pool = std::make_shared<ThreadPool>(4);
  auto queue = SerialQueue::Create(pool);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(queue->Schedule([&] {
      const int now = inside.fetch_add(1) + 1;
      int prev = most.load();
      while (now > prev && !most.compare_exchange_weak(prev, now)) {
      }
      inside.fetch_sub(1);
    }),
                IsOk());
  }
  ASSERT_TRUE(queue->WaitIdle(absl::Now() + kWait));
  EXPECT_EQ(most.load(), 1);
}

TEST(SerialQueueTest, RunOrScheduleRunsInPlaceWhenIdleElseInTurn) {
  auto queue = SerialQueue::Create(std::make_shared<ThreadPool>(2));
  const std::thread::id caller = std::this_thread::get_id();
  Collector<std::string> order;
  std::thread::id first_ran_on;
  std::thread::id second_ran_on;
  queue->RunOrSchedule([&] {
    first_ran_on = std::this_thread::get_id();
    // Arrives while the first runs: queued behind it, not run here.
    queue->RunOrSchedule([&] {
      second_ran_on = std::this_thread::get_id();
      order.Add("second");
    });
    order.Add("first");
  });
  ASSERT_TRUE(order.WaitForCount(2, absl::Seconds(10)));
  ASSERT_TRUE(queue->WaitIdle(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(first_ran_on, caller);
  EXPECT_NE(second_ran_on, caller);  // handed to the pool
  EXPECT_EQ(order.Snapshot(), (std::vector<std::string>{"first", "second"}));
}

TEST(SerialQueueTest, WaitIdleHonoursItsDeadline) {
  auto pool = std::make_shared<ThreadPool>(1);
  auto queue = SerialQueue::Create(pool);
  std::mutex mu;
  std::unique_lock<std::mutex> hold(mu);
  ASSERT_THAT(queue->Schedule([&] { std::lock_guard<std::mutex> l(mu); }),
              IsOk());
  EXPECT_FALSE(queue->WaitIdle(absl::Now() + absl::Milliseconds(20)));
  hold.unlock();
  EXPECT_TRUE(queue->WaitIdle(absl::InfiniteFuture()));
}

TEST(SerialQueueTest, InTaskTellsItsOwnTasksApart) {
  auto pool = std::make_shared<ThreadPool>(2);
  auto queue = SerialQueue::Create(pool);
  Collector<bool> in_task;
  ASSERT_THAT(queue->Schedule([&] { in_task.Add(queue->InTask()); }), IsOk());
  ASSERT_TRUE(in_task.WaitForCount(1, kWait));
  EXPECT_TRUE(in_task.Snapshot()[0]);
  EXPECT_FALSE(queue->InTask());
}

}  // namespace
}  // namespace micro_nats::concurrency
