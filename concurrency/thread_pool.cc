// Copyright 2026 The micro-nats Authors.

#include "concurrency/thread_pool.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/error_sink.h"
#include "status/guarded.h"

namespace micro_nats::concurrency {
namespace {

void RunGuarded(Task task) {
  if (absl::Status thrown = Guarded([&] { std::move(task)(); }); !thrown.ok()) {
    ReportError({"thread_pool"}, absl::InternalError(absl::StrCat(
                                     "a task threw: ", thrown.message())));
  }
}

}  // namespace

// What the workers share with the pool; they hold it, so a worker left
// running after its pool was destroyed touches nothing freed.
struct ThreadPool::Core {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> tasks;            // guarded by mu
  int idle = 0;                      // guarded by mu: workers waiting
  bool stopping = false;             // guarded by mu
  std::vector<std::thread> threads;  // guarded by mu

  static void Work(const std::shared_ptr<Core>& core) {
    std::unique_lock<std::mutex> lock(core->mu);
    while (true) {
      ++core->idle;
      core->cv.wait(lock,
                    [&] { return core->stopping || !core->tasks.empty(); });
      --core->idle;
      if (core->tasks.empty()) return;  // stopping, and nothing left
      Task task = std::move(core->tasks.front());
      core->tasks.pop_front();
      lock.unlock();
      RunGuarded(std::move(task));
      lock.lock();
    }
  }
};

ThreadPool::ThreadPool(int max_threads)
    : max_threads_(std::max(1, max_threads)), core_(std::make_shared<Core>()) {}

ThreadPool::~ThreadPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->stopping = true;
    threads.swap(core_->threads);
  }
  core_->cv.notify_all();
  const std::thread::id self = std::this_thread::get_id();
  for (std::thread& t : threads) {
    if (t.get_id() == self) {
      t.detach();  // our last owner let go in one of our tasks
    } else {
      t.join();
    }
  }
}

absl::Status ThreadPool::Schedule(Task task) {
  std::lock_guard<std::mutex> lock(core_->mu);
  // More queued work than idle workers to take it: one more thread.
  const bool need_thread =
      static_cast<int>(core_->tasks.size()) + 1 > core_->idle &&
      static_cast<int>(core_->threads.size()) < max_threads_;
  if (need_thread) {
    try {
      core_->threads.emplace_back([core = core_] { Core::Work(core); });
    } catch (const std::system_error& e) {
      if (core_->threads.empty()) {
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot start a thread: ", e.what()));
      }
      // The threads we have will get to it.
    }
  }
  core_->tasks.push_back(std::move(task));
  core_->cv.notify_one();
  return absl::OkStatus();
}

int ThreadPool::threads() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  return static_cast<int>(core_->threads.size());
}

// ---------------------------------------------------------------------------
// SerialQueue

std::shared_ptr<SerialQueue> SerialQueue::Create(
    std::shared_ptr<ThreadPool> pool) {
  return std::shared_ptr<SerialQueue>(new SerialQueue(std::move(pool)));
}

absl::Status SerialQueue::Schedule(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    if (running_) return absl::OkStatus();
    running_ = true;
  }
  absl::Status status =
      pool_->Schedule([self = shared_from_this()] { self->RunSome(); });
  if (!status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.clear();
    running_ = false;
    idle_cv_.notify_all();
  }
  return status;
}

void SerialQueue::RunOrSchedule(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) {
      tasks_.push_back(std::move(task));
      return;
    }
    running_ = true;
    runner_ = std::this_thread::get_id();
  }
  RunGuarded(std::move(task));
  {
    std::lock_guard<std::mutex> lock(mu_);
    runner_ = std::thread::id();
    if (tasks_.empty()) {
      running_ = false;
      idle_cv_.notify_all();
      return;
    }
  }
  // What arrived meanwhile runs on the pool, after this task.
  ContinueOnPool();
}

void SerialQueue::ContinueOnPool() {
  if (!pool_->Schedule([self = shared_from_this()] { self->RunSome(); }).ok()) {
    RunSome();  // no thread to move to: this one carries on
  }
}

void SerialQueue::RunSome() {
  // A queue that always has work must not keep its thread from the pool's
  // other queues for ever.
  constexpr int kBatch = 64;
  for (int i = 0; i < kBatch; ++i) {
    Task task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks_.empty()) {
        running_ = false;
        runner_ = std::thread::id();
        idle_cv_.notify_all();
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
      runner_ = std::this_thread::get_id();
    }
    RunGuarded(std::move(task));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    runner_ = std::thread::id();
  }
  ContinueOnPool();
}

bool SerialQueue::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitUntil(idle_cv_, lock, deadline,
                   [this] { return !running_ && tasks_.empty(); });
}

bool SerialQueue::InTask() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runner_ == std::this_thread::get_id();
}

}  // namespace micro_nats::concurrency
