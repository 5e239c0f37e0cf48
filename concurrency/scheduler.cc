// Copyright 2026 The micro-nats Authors.

#include "concurrency/scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/error_sink.h"
#include "status/guarded.h"

namespace micro_nats::concurrency {
namespace scheduler_internal {

struct Entry;
using Timers = std::multimap<absl::Time, std::shared_ptr<Entry>>;

struct Entry {
  Scheduler::Callback fn;
  absl::Duration interval;  // zero: not periodic
  // All guarded by Core::mu.
  bool cancelled = false;
  bool running = false;
  bool wake = false;  // RunSoon during a run: run again after it
  std::thread::id runner;
  std::optional<Timers::iterator> queued;  // its place in Core::timers
};

// What the threads share with the scheduler and the handles; all of them
// hold it, so a handle or a thread outliving its Scheduler touches nothing
// freed.
struct Core : std::enable_shared_from_this<Core> {
  explicit Core(Scheduler::Options o) : options(std::move(o)) {
    options.max_threads = std::max(1, options.max_threads);
  }

  Scheduler::Options options;
  mutable std::mutex mu;
  // One thread at a time, the leader, waits for the next due task. A thread
  // that pops a task to run starts a new leader when others wait (so a
  // long callback stalls nobody), and a thread that finds a leader in place
  // when its callback returns exits: at rest, one thread.
  std::condition_variable leader_cv;
  std::condition_variable done_cv;  // a run ended, a thread exited
  Timers timers;                    // guarded by mu
  bool has_leader = false;          // guarded by mu
  int running = 0;                  // guarded by mu: callbacks running
  int alive = 0;                    // guarded by mu: threads not exited
  int starting = 0;       // guarded by mu: started, not yet in their loop
  bool stopping = false;  // guarded by mu
  std::map<std::thread::id, std::thread> threads;  // guarded by mu
  Scheduler::Stats stats;       // guarded by mu (threads, pending unset)
  bool told_slow = false;       // guarded by mu
  bool told_no_thread = false;  // guarded by mu

  absl::Time Now() const { return options.clock(); }

  // `by_worker`: a thread re-queueing the task it ran, which goes on to
  // wait for it itself.
  void Enqueue(const std::shared_ptr<Entry>& entry, absl::Time due,
               bool by_worker = false) {
    const bool first = timers.empty() || due < timers.begin()->first;
    entry->queued = timers.emplace(due, entry);
    if (first && has_leader) leader_cv.notify_one();
    if (!by_worker) EnsureLeader();
  }

  void Dequeue(Entry& entry) {
    if (entry.queued.has_value()) {
      timers.erase(*entry.queued);
      entry.queued.reset();
      done_cv.notify_all();  // WaitIdle: maybe nothing is due any more
    }
  }

  // Someone must wait for the next due task: a new thread, unless the
  // threads are all busy and at the limit (then the first one free does).
  void EnsureLeader() {
    // A thread just started will lead.
    if (has_leader || starting > 0 || timers.empty() || stopping) return;
    if (alive >= options.max_threads) return;
    try {
      std::thread thread([self = shared_from_this()] { Work(self); });
      const std::thread::id id = thread.get_id();
      threads.emplace(id, std::move(thread));  // before it can look (mu)
      ++alive;
      ++starting;
      ++stats.threads_started;
    } catch (const std::system_error& e) {
      // A thread running now will get to the task when it is free.
      if (!told_no_thread) {
        told_no_thread = true;
        ReportError({"scheduler"}, absl::ResourceExhaustedError(absl::StrCat(
                                       "cannot start a thread (", e.what(),
                                       "); tasks wait for a busy one")));
      }
    }
  }

  static void Work(std::shared_ptr<Core> core);
  void Run(std::unique_lock<std::mutex>& lock, std::shared_ptr<Entry> entry);
};

void Core::Run(std::unique_lock<std::mutex>& lock,
               std::shared_ptr<Entry> entry) {
  entry->running = true;
  entry->runner = std::this_thread::get_id();
  ++running;
  lock.unlock();
  const absl::Time start = absl::Now();
  absl::Status thrown = Guarded([&] { entry->fn(); });
  const absl::Duration took = absl::Now() - start;
  if (!thrown.ok()) {
    ReportError({"scheduler"}, absl::InternalError(absl::StrCat(
                                   "a callback threw: ", thrown.message())));
  }
  lock.lock();
  --running;
  ++stats.runs;
  entry->running = false;
  entry->runner = std::thread::id();
  if (took > options.slow_callback) {
    ++stats.slow_runs;
    if (!told_slow) {
      told_slow = true;
      ReportError(
          {"scheduler"},
          absl::DeadlineExceededError(absl::StrCat(
              "a callback ran ", absl::FormatDuration(took), " (more than ",
              absl::FormatDuration(options.slow_callback),
              "): callbacks must be short; hand blocking work to a "
              "pool")));
    }
  }
  Scheduler::Callback dead;
  if (entry->cancelled || stopping) {
    dead = std::move(entry->fn);
  } else if (entry->wake) {
    entry->wake = false;
    Enqueue(entry, Now(), /*by_worker=*/true);
  } else if (entry->interval > absl::ZeroDuration()) {
    Enqueue(entry, Now() + entry->interval, /*by_worker=*/true);
  }
  done_cv.notify_all();
  if (dead) {
    lock.unlock();
    dead = nullptr;  // its captures may take locks of their own
    lock.lock();
  }
}

void Core::Work(std::shared_ptr<Core> core) {
  std::unique_lock<std::mutex> lock(core->mu);
  --core->starting;
  while (!core->stopping) {
    if (!core->timers.empty() && core->timers.begin()->first <= core->Now()) {
      std::shared_ptr<Entry> entry = core->timers.begin()->second;
      core->timers.erase(core->timers.begin());
      entry->queued.reset();
      // This thread may have been the leader: hand the role on, so a long
      // callback here delays no other task.
      core->EnsureLeader();
      core->Run(lock, std::move(entry));
      continue;
    }
    if (core->has_leader) {
      // Another thread waits for the next task: this one is not needed.
      auto self = core->threads.find(std::this_thread::get_id());
      self->second.detach();
      core->threads.erase(self);
      --core->alive;
      core->done_cv.notify_all();
      return;
    }
    {
      core->has_leader = true;
      if (core->timers.empty()) {
        core->leader_cv.wait(lock);
      } else {
        // A bounded real-time step: with a fake clock the due time is in
        // its time, and ClockAdvanced wakes us when it moves.
        const absl::Duration step =
            std::clamp(core->timers.begin()->first - core->Now(),
                       absl::ZeroDuration(), absl::Hours(1));
        core->leader_cv.wait_for(lock, absl::ToChronoNanoseconds(step));
      }
      core->has_leader = false;
    }
  }
  --core->alive;
  core->done_cv.notify_all();
}

}  // namespace scheduler_internal

using scheduler_internal::Core;
using scheduler_internal::Entry;

// ---------------------------------------------------------------------------
// ScheduledTask

ScheduledTask& ScheduledTask::operator=(ScheduledTask&& other) noexcept {
  if (this != &other) {
    Cancel();
    core_ = std::move(other.core_);
    entry_ = std::move(other.entry_);
  }
  return *this;
}

void ScheduledTask::Cancel() {
  if (entry_ == nullptr) return;
  Scheduler::Callback dead;
  {
    std::unique_lock<std::mutex> lock(core_->mu);
    entry_->cancelled = true;
    entry_->wake = false;
    core_->Dequeue(*entry_);
    if (entry_->running && entry_->runner == std::this_thread::get_id()) {
      return;  // from its own callback: the runner destroys it after
    }
    core_->done_cv.wait(lock, [&] { return !entry_->running; });
    dead = std::move(entry_->fn);
  }
  // Destroyed outside the lock: its captures may cancel tasks of their own.
  dead = nullptr;
}

void ScheduledTask::RunSoon() {
  if (entry_ == nullptr) return;
  std::lock_guard<std::mutex> lock(core_->mu);
  if (entry_->cancelled || core_->stopping) return;
  if (entry_->running) {
    entry_->wake = true;
    return;
  }
  const absl::Time now = core_->Now();
  if (entry_->queued.has_value()) {
    if ((*entry_->queued)->first <= now) return;  // due already
    core_->Dequeue(*entry_);
  }
  core_->Enqueue(entry_, now);
}

bool ScheduledTask::valid() const {
  if (entry_ == nullptr) return false;
  std::lock_guard<std::mutex> lock(core_->mu);
  return !entry_->cancelled && !core_->stopping;
}

// ---------------------------------------------------------------------------
// Scheduler

Scheduler& Scheduler::Default() {
  // Destroyed at exit: ~Scheduler shuts it down by a deadline. Handles
  // destroyed later still work (they hold the core).
  static Scheduler instance;
  return instance;
}

Scheduler::Scheduler(Options options)
    : core_(std::make_shared<Core>(std::move(options))) {}

Scheduler::~Scheduler() { Shutdown(absl::Now() + absl::Seconds(1)); }

ScheduledTask Scheduler::Add(absl::Time due, absl::Duration interval,
                             Callback fn) {
  auto entry = std::make_shared<Entry>();
  entry->fn = std::move(fn);
  entry->interval = interval;
  std::unique_lock<std::mutex> lock(core_->mu);
  if (core_->stopping) {
    ++core_->stats.refused;
    entry->cancelled = true;
    Callback dead = std::move(entry->fn);
    lock.unlock();
    return ScheduledTask(core_, std::move(entry));
  }
  if (due != absl::InfiniteFuture()) core_->Enqueue(entry, due);
  return ScheduledTask(core_, std::move(entry));
}

ScheduledTask Scheduler::At(absl::Time when, Callback fn) {
  return Add(when, absl::ZeroDuration(), std::move(fn));
}

ScheduledTask Scheduler::After(absl::Duration delay, Callback fn) {
  return Add(core_->Now() + std::max(delay, absl::ZeroDuration()),
             absl::ZeroDuration(), std::move(fn));
}

ScheduledTask Scheduler::Every(absl::Duration interval, Callback fn) {
  // A non-positive interval would spin: at least a millisecond.
  interval = std::max(interval, absl::Milliseconds(1));
  return Add(core_->Now() + interval, interval, std::move(fn));
}

ScheduledTask Scheduler::OnDemand(Callback fn) {
  return Add(absl::InfiniteFuture(), absl::ZeroDuration(), std::move(fn));
}

bool Scheduler::Shutdown(absl::Time deadline) {
  std::map<std::thread::id, std::thread> threads;
  std::vector<Callback> dead;
  bool quiet;
  {
    std::unique_lock<std::mutex> lock(core_->mu);
    core_->stopping = true;
    for (auto& [due, entry] : core_->timers) {
      entry->queued.reset();
      entry->cancelled = true;
      dead.push_back(std::move(entry->fn));
    }
    core_->timers.clear();
    core_->leader_cv.notify_all();
    // A callback calling Shutdown: its own thread cannot exit yet.
    const std::thread::id self = std::this_thread::get_id();
    const bool inside = core_->threads.count(self) > 0;
    quiet = WaitUntil(core_->done_cv, lock, deadline,
                      [&] { return core_->alive == (inside ? 1 : 0); });
    threads.swap(core_->threads);
  }
  dead.clear();
  const std::thread::id self = std::this_thread::get_id();
  for (auto& [id, t] : threads) {
    if (quiet && id != self) {
      t.join();
    } else {
      t.detach();  // still in a callback past the deadline, or ourselves
    }
  }
  if (!quiet) {
    ReportError({"scheduler"},
                absl::DeadlineExceededError(
                    "a callback was still running at the shutdown deadline; "
                    "its thread is left to finish"));
  }
  return quiet;
}

void Scheduler::ClockAdvanced() {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->leader_cv.notify_all();
  core_->EnsureLeader();
}

bool Scheduler::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(core_->mu);
  auto idle = [&] {
    return core_->running == 0 && (core_->timers.empty() ||
                                   core_->timers.begin()->first > core_->Now());
  };
  // Only the end of a run or a cancellation makes it idle; both signal.
  return WaitUntil(core_->done_cv, lock, deadline, idle);
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(core_->mu);
  Stats stats = core_->stats;
  stats.threads = core_->alive;
  stats.pending = static_cast<int64_t>(core_->timers.size());
  return stats;
}

}  // namespace micro_nats::concurrency
