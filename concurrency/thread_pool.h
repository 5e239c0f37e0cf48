// Copyright 2026 The micro-nats Authors.
//
// thread_pool.h: a bounded set of threads, and serial queues that run their
// tasks in order on one.
//
// A C++ process cannot spend a thread per subscription or per client socket
// as a Go process spends a goroutine. Work that may block (a user's message
// handler, a request handler) runs on a ThreadPool of a fixed maximum size;
// work that must keep its order (the messages of one subscription, of one
// socket) goes through a SerialQueue, many of which share one pool.
//
//   auto pool = std::make_shared<concurrency::ThreadPool>(4);
//   auto orders = concurrency::SerialQueue::Create(pool);
//   orders->Schedule([] { Handle(1); });
//   orders->Schedule([] { Handle(2); });  // after 1, maybe on another thread

#ifndef MICRO_NATS_CONCURRENCY_THREAD_POOL_H_
#define MICRO_NATS_CONCURRENCY_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace micro_nats::concurrency {

using Task = absl::AnyInvocable<void() &&>;

// ThreadPool
//
// Thread-safe. Threads start as work needs them, up to `max_threads`, and
// stay until the pool is destroyed. A task that throws is reported to the
// error sink (status/error_sink.h);
// the thread goes on.
class ThreadPool {
 public:
  explicit ThreadPool(int max_threads);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs the tasks already scheduled, then joins the threads. When the last
  // owner drops the pool from inside one of its tasks, that thread is left
  // to finish on its own.
  ~ThreadPool();

  // Queues `task` to run on one of the threads. ResourceExhausted (the task
  // is dropped) when the pool has no thread and the system refuses to start
  // one; never throws.
  absl::Status Schedule(Task task);

  int max_threads() const { return max_threads_; }
  // Threads started so far.
  int threads() const;

 private:
  struct Core;

  const int max_threads_;
  const std::shared_ptr<Core> core_;
};

// SerialQueue
//
// Thread-safe. Runs its tasks one at a time, in the order they were
// scheduled, on a shared ThreadPool; a busy queue yields its thread to other
// work now and then. Tasks keep the queue alive while they wait.
class SerialQueue : public std::enable_shared_from_this<SerialQueue> {
 public:
  static std::shared_ptr<SerialQueue> Create(std::shared_ptr<ThreadPool> pool);

  // Queues `task` after those already scheduled. ResourceExhausted as
  // ThreadPool::Schedule.
  absl::Status Schedule(Task task);

  // As Schedule, but when the queue is idle runs `task` on the calling
  // thread at once (no hand-off); later tasks queue behind it as usual.
  // For callers that may run work in place (a handler that never blocks
  // the caller's own job).
  void RunOrSchedule(Task task);

  // Waits until no task is queued or running, by `deadline`; false on
  // timeout. Must not be called from one of this queue's tasks.
  bool WaitIdle(absl::Time deadline);

  // True when called from one of this queue's tasks.
  bool InTask() const;

 private:
  explicit SerialQueue(std::shared_ptr<ThreadPool> pool)
      : pool_(std::move(pool)) {}
  void RunSome();
  // Runs the rest on a pool thread, or on this one when none can start.
  void ContinueOnPool();

  const std::shared_ptr<ThreadPool> pool_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::deque<Task> tasks_;  // guarded by mu_
  bool running_ = false;    // guarded by mu_: a RunSome is scheduled
  std::thread::id runner_;  // guarded by mu_: the thread in a task
};

}  // namespace micro_nats::concurrency

#endif  // MICRO_NATS_CONCURRENCY_THREAD_POOL_H_
