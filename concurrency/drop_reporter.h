// Copyright 2026 The micro-nats Authors.
//
// drop_reporter.h: tells someone, with a count, that a bounded queue dropped
// messages.
//
// A subscription whose handler falls behind drops what does not fit. The
// loss is reported promptly (the first drop of an episode, from a pool
// thread, never from the dropping thread, which may hold locks), then at
// most once a second while drops go on, and once more when the backlog is
// gone, so the counts reported add up to every message lost. Close ends the
// reports: what is left is reported on the closing thread, and a report
// running elsewhere is waited for (to a deadline), so none is lost to a
// close that came while its count was taken but not yet told.
//
//   auto drops = DropReporter::Create(pool, [](int64_t n) { Log(n); });
//   if (queue_full) drops->Dropped(); else Enqueue(m);
//   ... on the consumer's thread, after taking a message:
//   drops->Delivered(/*backlog_empty=*/queue.empty());

#ifndef MICRO_NATS_CONCURRENCY_DROP_REPORTER_H_
#define MICRO_NATS_CONCURRENCY_DROP_REPORTER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "concurrency/thread_pool.h"

namespace micro_nats::concurrency {

// DropReporter
//
// Thread-safe.
class DropReporter : public std::enable_shared_from_this<DropReporter> {
 public:
  // `report(count)` is called with each batch of drops, never with a lock of
  // ours held.
  static std::shared_ptr<DropReporter> Create(
      std::shared_ptr<ThreadPool> pool, std::function<void(int64_t)> report);

  // A message was dropped.
  void Dropped();

  // The consumer took a message; `backlog_empty` when none is left waiting.
  // Reports on this thread what is due.
  void Delivered(bool backlog_empty);

  // Messages dropped so far.
  int64_t total() const;

  // Ends the reports: reports on this thread what is unreported, then waits
  // until `deadline` for a report running on another thread (its count
  // taken before Close) to return; none starts after (later drops count
  // in total() only). False when one was still running at the deadline.
  // A report running on this thread (one that closes) is not waited for.
  bool Close(absl::Time deadline);

 private:
  DropReporter(std::shared_ptr<ThreadPool> pool,
               std::function<void(int64_t)> report)
      : pool_(std::move(pool)), report_(std::move(report)) {}
  // Takes what is unreported and reports it.
  void ReportUnreported();
  // Reports `count`, taken under mu_ when this thread was added to
  // reporting_, and takes it out after.
  void Report(int64_t count);

  const std::shared_ptr<ThreadPool> pool_;
  const std::function<void(int64_t)> report_;
  mutable std::mutex mu_;
  int64_t total_ = 0;        // guarded by mu_
  int64_t unreported_ = 0;   // guarded by mu_
  bool in_episode_ = false;  // guarded by mu_: the first drop was reported
  absl::Time last_report_;   // guarded by mu_
  bool closed_ = false;      // guarded by mu_: no report starts
  // Threads in report_, from when they took their count (Close waits).
  std::vector<std::thread::id> reporting_;  // guarded by mu_
  std::condition_variable reported_;        // reporting_ shrank
};

}  // namespace micro_nats::concurrency

#endif  // MICRO_NATS_CONCURRENCY_DROP_REPORTER_H_
