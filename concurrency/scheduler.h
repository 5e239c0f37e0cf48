// Copyright 2026 The micro-nats Authors.
//
// scheduler.h: one process timer for the periodic and deferred work of every
// component (registry sweeps, listener reapers, re-registration), instead of
// a sleeping thread per object.
//
//   class Sweeper {
//    public:
//     Sweeper() : sweep_(concurrency::Scheduler::Default().Every(
//                     absl::Seconds(1), [this] { Sweep(); })) {}
//     // sweep_ is the last member: destroyed first, it cancels the task,
//     // and Sweep is not running once it returns.
//    private:
//     void Sweep();
//     concurrency::ScheduledTask sweep_;
//   };
//
// The rule for callbacks: short and non-blocking (take a lock, look at a
// map, publish into a buffer). A callback that must block (a network call,
// a wait) hands that work to a ThreadPool and returns. The scheduler keeps
// one thread waiting for the next due task while others run callbacks, so
// one long callback delays nobody else's (a thread that starts a callback
// while other tasks wait starts another to wait for them, at most
// Options::max_threads in all; past that, due tasks wait). At rest the
// scheduler has one thread. A callback that runs
// longer than Options::slow_callback is reported (once, to the error sink) and
// counted in stats().
//
// Every wait here is bounded: Shutdown takes a deadline, the default
// instance is shut down at exit with a deadline of a second, and a thread
// still in a callback then is left to finish on its own.

#ifndef MICRO_NATS_CONCURRENCY_SCHEDULER_H_
#define MICRO_NATS_CONCURRENCY_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace micro_nats::concurrency {

namespace scheduler_internal {
struct Core;
struct Entry;
}  // namespace scheduler_internal

// ScheduledTask
//
// A handle on a task of a Scheduler. Movable, not copyable; destroying or
// overwriting it cancels the task (hold it for as long as the task should
// live, typically as the last member of the object its callback uses).
// Thread-safe.
class ScheduledTask {
 public:
  ScheduledTask() = default;  // no task: Cancel and RunSoon do nothing
  ScheduledTask(ScheduledTask&& other) noexcept = default;
  ScheduledTask& operator=(ScheduledTask&& other) noexcept;
  ScheduledTask(const ScheduledTask&) = delete;
  ScheduledTask& operator=(const ScheduledTask&) = delete;
  ~ScheduledTask() { Cancel(); }

  // When Cancel returns, the callback is not running and will not run
  // again, and it has been destroyed (with what it captured). Waits for a
  // run in progress on another thread: a reason callbacks are short. Called
  // from the task's own callback it cannot wait for itself: it returns at
  // once, the run in progress finishes and no other follows. Two callbacks
  // must not cancel each other (each would wait for the other). Idempotent.
  void Cancel();

  // Runs the task as soon as a scheduler thread is free, once however often
  // RunSoon is called before that run starts (a call during a run makes one
  // more run after it). A periodic task's next period counts from this run.
  // Does nothing after Cancel.
  void RunSoon();

  // True until the task is cancelled or its scheduler shut down; a one-shot
  // task that has run stays valid (RunSoon runs it again).
  bool valid() const;

 private:
  friend class Scheduler;
  ScheduledTask(std::shared_ptr<scheduler_internal::Core> core,
                std::shared_ptr<scheduler_internal::Entry> entry)
      : core_(std::move(core)), entry_(std::move(entry)) {}

  std::shared_ptr<scheduler_internal::Core> core_;
  std::shared_ptr<scheduler_internal::Entry> entry_;
};

// Scheduler
//
// Thread-safe. The first thread starts when the first task is added; one
// waits for the next due task, others run callbacks (up to max_threads in
// all); they stop at Shutdown (or destruction). A task never runs on two
// threads at once.
class Scheduler {
 public:
  using Callback = absl::AnyInvocable<void()>;

  struct Options {
    // The scheduler's idea of now. A test passes a fake clock and calls
    // ClockAdvanced() after moving it: due times are then in the fake
    // clock's time, so what runs when is deterministic.
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    // At least 1. With 1 a long callback stalls every other task; with
    // more, one thread always waits for the next due task while callbacks
    // run: a thread that starts a callback while other tasks wait starts
    // another to wait, and the one left over when it returns exits. At
    // rest: one thread; one more during a callback.
    int max_threads = 4;
    // A callback running longer than this is reported (real time).
    absl::Duration slow_callback = absl::Milliseconds(100);
  };

  struct Stats {
    int64_t runs = 0;             // callbacks run
    int64_t slow_runs = 0;        // of which longer than slow_callback
    int64_t refused = 0;          // tasks added after Shutdown (never run)
    int threads = 0;              // threads now
    int64_t threads_started = 0;  // threads started so far
    int64_t pending = 0;          // tasks waiting for their due time
  };

  // The process's scheduler: started on first use, shut down at exit with
  // a deadline of a second.
  static Scheduler& Default();

  Scheduler() : Scheduler(Options()) {}
  explicit Scheduler(Options options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  // Shutdown(a second from now).
  ~Scheduler();

  // Runs `fn` once at `when` (at once when it has passed).
  ScheduledTask At(absl::Time when, Callback fn);
  // Runs `fn` once `delay` from now.
  ScheduledTask After(absl::Duration delay, Callback fn);
  // Runs `fn` every `interval` (positive) until cancelled: first `interval`
  // from now, then `interval` after each run ends (a slow run delays the
  // next; runs never pile up).
  ScheduledTask Every(absl::Duration interval, Callback fn);
  // A task that runs only when its handle's RunSoon is called: work that a
  // notification triggers, run off the notifier's thread.
  ScheduledTask OnDemand(Callback fn);

  // Tasks added after Shutdown never run. Cancels every task, waits until
  // running callbacks return, and joins the threads, by `deadline`; false
  // when a callback was still running then (its thread is left to finish
  // on its own). Idempotent. From one of its callbacks: does not wait for
  // that one.
  bool Shutdown(absl::Time deadline);

  // For tests with a fake clock: tells the threads the clock moved, so
  // tasks now due run.
  void ClockAdvanced();

  // For tests: waits until no task is due (by the scheduler's clock) and no
  // callback runs, by `deadline`; false on timeout. Not from a callback.
  bool WaitIdle(absl::Time deadline);

  Stats stats() const;

 private:
  ScheduledTask Add(absl::Time due, absl::Duration interval, Callback fn);

  std::shared_ptr<scheduler_internal::Core> core_;
};

}  // namespace micro_nats::concurrency

#endif  // MICRO_NATS_CONCURRENCY_SCHEDULER_H_
