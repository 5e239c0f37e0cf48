// Copyright 2026 The micro-nats Authors.
//
// callers.h: the one body of every request benchmark. A benchmark
// registered with ->Threads(n) runs n caller threads; they share one
// Fixture (a server and the connections to it), which thread 0 starts
// before the timed loop and stops after it, and each has its own
// Fixture::Caller (a socket, a stub). Every call is timed into one merged
// sample, so percentiles are of all calls, never averaged per thread.
//
// A Fixture provides:
//
//   // The server side and what callers share, for `bytes`-long requests.
//   static absl::StatusOr<std::unique_ptr<Fixture>> Start(int64_t bytes);
//   // One caller's own state; called on the caller's thread.
//   absl::StatusOr<std::unique_ptr<Caller>> NewCaller();
//
// and Caller has `absl::Status Call()`: one request, answered.
//
// CallerGroup runs the same Fixture for paired comparisons (paired.h): n
// callers of their own (not benchmark threads), kept between rounds, so a
// benchmark can alternate two groups round by round.

#ifndef MICRO_NATS_BENCH_CALLERS_H_
#define MICRO_NATS_BENCH_CALLERS_H_

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/latency.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "concurrency/wait.h"

namespace micro_nats::bench {

struct CallerResult {
  Percentiles latency;
  // Calls answered per second, over all threads: every call over the time
  // from the first call's start to the last one's end.
  double calls_per_second = 0;
};

namespace internal {

// What the threads of one run of a Fixture's benchmark share. Runs of a
// benchmark follow one another (all threads of one are joined before the
// next starts), and thread 0 resets this at the end of each.
template <typename Fixture>
struct SharedRun {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;  // thread 0 has tried to start the fixture
  absl::StatusOr<std::unique_ptr<Fixture>> fixture =
      absl::UnknownError("not started");
  LatencyRecorder merged;
  int threads_merged = 0;
  bool failed = false;  // some thread's calls failed
  absl::Time first_start = absl::InfiniteFuture();
  absl::Time last_end = absl::InfinitePast();

  static SharedRun& Get() {
    static auto* run = new SharedRun;
    return *run;
  }
};

// How long threads wait for one another outside the timed loop.
inline constexpr absl::Duration kSetUpTimeout = absl::Seconds(60);

}  // namespace internal

// Runs the benchmark's iterations as calls; on thread 0 returns what all
// threads measured (and sets the p50/p90/p99/p99.9 and calls_per_s
// counters), on the others nullopt. Also nullopt after an error, reported
// with SkipWithError. Every thread enters the timed loop even after an
// error: Google Benchmark's threads meet at its start and end.
template <typename Fixture>
std::optional<CallerResult> RunCallers(benchmark::State& state) {
  auto& run = internal::SharedRun<Fixture>::Get();
  const bool first = state.thread_index() == 0;
  Fixture* fixture = nullptr;
  if (first) {
    auto started = Fixture::Start(state.range(0));
    std::lock_guard<std::mutex> lock(run.mu);
    run.fixture = std::move(started);
    run.started = true;
    run.cv.notify_all();
  }
  {
    std::unique_lock<std::mutex> lock(run.mu);
    if (!concurrency::WaitFor(run.cv, lock, internal::kSetUpTimeout,
                              [&] { return run.started; })) {
      state.SkipWithError("the fixture did not start in time");
    } else if (!run.fixture.ok()) {
      state.SkipWithError(run.fixture.status().ToString().c_str());
    } else {
      fixture = run.fixture->get();
    }
  }
  std::unique_ptr<typename Fixture::Caller> caller;
  if (fixture != nullptr) {
    auto made = fixture->NewCaller();
    if (made.ok()) {
      caller = std::move(made).value();
    } else {
      state.SkipWithError(made.status().ToString().c_str());
    }
  }

  LatencyRecorder mine;
  absl::Time start = absl::InfiniteFuture();
  bool failed = caller == nullptr;
  for (auto _ : state) {
    if (failed) continue;  // to the loop's end, where threads meet
    const absl::Time before = absl::Now();
    if (start == absl::InfiniteFuture()) start = before;
    absl::Status status = caller->Call();
    mine.Add(absl::Now() - before);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      failed = true;
    }
  }
  const absl::Time end = absl::Now();
  caller.reset();  // before thread 0 stops the fixture
  state.SetItemsProcessed(static_cast<int64_t>(mine.size()));

  std::unique_lock<std::mutex> lock(run.mu);
  run.merged.Merge(mine);
  run.failed = run.failed || failed;
  if (mine.size() > 0) {
    run.first_start = std::min(run.first_start, start);
    run.last_end = std::max(run.last_end, end);
  }
  ++run.threads_merged;
  run.cv.notify_all();
  if (!first) return std::nullopt;

  const bool all = concurrency::WaitFor(
      run.cv, lock, internal::kSetUpTimeout,
      [&] { return run.threads_merged == state.threads(); });
  if (!all) {
    // The others may still use the fixture: nothing here can be reset.
    std::fprintf(stderr, "bench: a caller thread did not finish in %s\n",
                 absl::FormatDuration(internal::kSetUpTimeout).c_str());
    std::abort();
  }
  std::optional<CallerResult> result;
  if (!run.failed && run.merged.size() > 0) {
    CallerResult measured;
    measured.latency = run.merged.Report(state);
    const double seconds =
        absl::ToDoubleSeconds(run.last_end - run.first_start);
    measured.calls_per_second =
        seconds > 0 ? static_cast<double>(run.merged.size()) / seconds : 0;
    state.counters["calls_per_s"] = measured.calls_per_second;
    result = measured;
  }
  auto fixture_to_stop = std::move(run.fixture);
  run.fixture = absl::UnknownError("not started");
  run.started = false;
  run.merged = LatencyRecorder();
  run.threads_merged = 0;
  run.failed = false;
  run.first_start = absl::InfiniteFuture();
  run.last_end = absl::InfinitePast();
  lock.unlock();
  return result;  // fixture_to_stop stops here, outside the lock
}

// A Fixture and n callers of it, each with its own Caller (made on its own
// thread, as RunCallers makes them), waiting between rounds. One caller
// calls on the thread that runs the round.
template <typename Fixture>
class CallerGroup {
 public:
  static absl::StatusOr<std::unique_ptr<CallerGroup>> Start(int64_t bytes,
                                                            int callers) {
    auto fixture = Fixture::Start(bytes);
    if (!fixture.ok()) return fixture.status();
    auto group = std::unique_ptr<CallerGroup>(
        new CallerGroup(std::move(fixture).value(), callers));
    if (callers == 1) {
      auto caller = group->fixture_->NewCaller();
      if (!caller.ok()) return caller.status();
      group->inline_caller_ = std::move(caller).value();
      return group;
    }
    for (int i = 0; i < callers; ++i) {
      group->threads_.emplace_back([g = group.get(), i] { g->Serve(i); });
    }
    std::unique_lock<std::mutex> lock(group->mu_);
    if (!concurrency::WaitFor(group->cv_, lock, internal::kSetUpTimeout,
                              [&] { return group->ready_ == callers; })) {
      return absl::DeadlineExceededError("callers did not start in time");
    }
    if (!group->error_.ok()) return group->error_;
    return group;
  }

  // Every caller calls until `duration` has passed (at least once each);
  // returns the calls, the p50 of all of them and their rate (calls over
  // the time from the round's start to its last answer).
  absl::StatusOr<Round> RunRound(absl::Duration duration) {
    if (inline_caller_ != nullptr) {
      return loop_.Run(duration, [&] { return inline_caller_->Call(); });
    }
    const absl::Time start = absl::Now();
    std::unique_lock<std::mutex> lock(mu_);
    deadline_ = start + duration;
    done_ = 0;
    ++round_;
    cv_.notify_all();
    // Each call has its own timeout; this bounds a round whose callers
    // hang anyway.
    if (!concurrency::WaitFor(
            cv_, lock, duration + internal::kSetUpTimeout,
            [&] { return done_ == static_cast<int>(threads_.size()); })) {
      std::fprintf(stderr, "bench: a caller did not finish its round\n");
      std::abort();
    }
    if (!error_.ok()) return error_;
    merged_.clear();
    int64_t calls = 0;
    absl::Time end = start;
    for (const PerCaller& c : callers_) {
      merged_.insert(merged_.end(), c.samples.begin(), c.samples.end());
      calls += c.calls;
      end = std::max(end, c.end);
    }
    Round round;
    round.ops = calls;
    round.per_s =
        static_cast<double>(calls) / absl::ToDoubleSeconds(end - start);
    if (!merged_.empty()) {
      auto middle = merged_.begin() + merged_.size() / 2;
      std::nth_element(merged_.begin(), middle, merged_.end());
      round.p50_us = absl::ToDoubleMicroseconds(*middle);
    }
    return round;
  }

  // The last round's call latencies, every caller's (in no order), for
  // percentiles beyond the p50.
  const std::vector<absl::Duration>& samples() const {
    return inline_caller_ != nullptr ? loop_.samples() : merged_;
  }

  ~CallerGroup() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    for (std::thread& t : threads_) t.join();
    inline_caller_.reset();  // callers go before the fixture
  }

 private:
  // Per caller: its samples (reserved once: a round allocates nothing of
  // its own), calls and when its last call ended.
  struct PerCaller {
    std::vector<absl::Duration> samples;
    int64_t calls = 0;
    absl::Time end;
  };
  static constexpr size_t kSamplesPerCaller = 4096;

  CallerGroup(std::unique_ptr<Fixture> fixture, int callers)
      : fixture_(std::move(fixture)), callers_(callers) {
    for (PerCaller& c : callers_) c.samples.reserve(kSamplesPerCaller);
    merged_.reserve(kSamplesPerCaller * callers);
  }

  void Serve(int index) {
    auto made = fixture_->NewCaller();
    std::unique_lock<std::mutex> lock(mu_);
    if (!made.ok()) error_ = made.status();
    ++ready_;
    cv_.notify_all();
    if (!made.ok()) return;
    std::unique_ptr<typename Fixture::Caller> caller = std::move(made).value();
    PerCaller& mine = callers_[index];
    int64_t seen = 0;
    while (true) {
      concurrency::WaitUntil(cv_, lock, absl::InfiniteFuture(),
                             [&] { return stop_ || round_ != seen; });
      if (stop_) break;
      seen = round_;
      const absl::Time deadline = deadline_;
      lock.unlock();
      mine.samples.clear();
      mine.calls = 0;
      absl::Status status;
      absl::Time now = absl::Now();
      while (now < deadline || mine.calls == 0) {
        const absl::Time before = now;
        status = caller->Call();
        now = absl::Now();
        if (!status.ok()) break;
        ++mine.calls;
        if (mine.samples.size() < mine.samples.capacity()) {
          mine.samples.push_back(now - before);
        }
      }
      mine.end = now;
      lock.lock();
      if (!status.ok() && error_.ok()) error_ = status;
      ++done_;
      cv_.notify_all();
    }
    lock.unlock();
    caller.reset();
  }

  const std::unique_ptr<Fixture> fixture_;
  std::unique_ptr<typename Fixture::Caller> inline_caller_;
  TimedLoop loop_;
  std::vector<PerCaller> callers_;
  std::vector<absl::Duration> merged_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;
  int done_ = 0;
  int64_t round_ = 0;
  absl::Time deadline_;
  bool stop_ = false;
  absl::Status error_;
};

}  // namespace micro_nats::bench

#endif  // MICRO_NATS_BENCH_CALLERS_H_
