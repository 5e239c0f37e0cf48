// Copyright 2026 The micro-nats Authors.

#include "concurrency/drop_reporter.h"

#include <algorithm>
#include <utility>

#include "concurrency/wait.h"

namespace micro_nats::concurrency {
namespace {

// How often drops are reported while they go on.
constexpr absl::Duration kReportInterval = absl::Seconds(1);

}  // namespace

std::shared_ptr<DropReporter> DropReporter::Create(
    std::shared_ptr<ThreadPool> pool, std::function<void(int64_t)> report) {
  return std::shared_ptr<DropReporter>(
      new DropReporter(std::move(pool), std::move(report)));
}

void DropReporter::Dropped() {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++total_;
    if (closed_) return;  // no report starts: counted in total() only
    ++unreported_;
    first = !in_episode_;
    in_episode_ = true;
  }
  if (!first) return;
  // The consumer is behind, maybe stuck: another thread tells.
  if (!pool_
           ->Schedule([self = shared_from_this()] { self->ReportUnreported(); })
           .ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    in_episode_ = false;  // the next drop tries again
  }
}

void DropReporter::Delivered(bool backlog_empty) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_episode_ || closed_) return;  // common: nothing dropped
    if (backlog_empty && unreported_ == 0) {
      in_episode_ = false;
      return;
    }
    if (!backlog_empty && absl::Now() - last_report_ < kReportInterval) {
      return;
    }
    if (backlog_empty) in_episode_ = false;
  }
  ReportUnreported();
}

void DropReporter::ReportUnreported() {
  int64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || unreported_ == 0) return;
    count = std::exchange(unreported_, 0);
    last_report_ = absl::Now();
    // From the moment the count is taken, not from report_'s start: a
    // Close in between waits for this report rather than miss its count.
    reporting_.push_back(std::this_thread::get_id());
  }
  Report(count);
}

void DropReporter::Report(int64_t count) {
  report_(count);
  std::lock_guard<std::mutex> lock(mu_);
  reporting_.erase(std::find(reporting_.begin(), reporting_.end(),
                             std::this_thread::get_id()));
  reported_.notify_all();
}

bool DropReporter::Close(absl::Time deadline) {
  const std::thread::id self = std::this_thread::get_id();
  int64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    in_episode_ = false;
    count = std::exchange(unreported_, 0);
    if (count > 0) reporting_.push_back(self);
  }
  if (count > 0) Report(count);
  std::unique_lock<std::mutex> lock(mu_);
  return WaitUntil(reported_, lock, deadline, [&] {
    return std::all_of(reporting_.begin(), reporting_.end(),
                       [&](std::thread::id id) { return id == self; });
  });
}

int64_t DropReporter::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

}  // namespace micro_nats::concurrency
