// Copyright 2026 The micro-nats Authors.
//
// admission.h: what every frontend that runs requests on a pool of its own
// (the NATS Service API, the scatter frontend) decides before taking one:
// refused while stopping, refused when too many already wait, else counted
// waiting and in flight; and Stop waits by a deadline for those in flight.
//
//   const char* refusal = nullptr;
//   absl::Status admitted = admission.Admit(name, max_waiting, &refusal);
//   if (!admitted.ok()) return Refuse(admitted, refusal);
//   ...on the pool: admission.Started(); Handle(...); admission.Finished();

#ifndef MICRO_NATS_SERVICE_INTERNAL_ADMISSION_H_
#define MICRO_NATS_SERVICE_INTERNAL_ADMISSION_H_

#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "concurrency/wait.h"

namespace micro_nats::service::service_internal {

// Admission
//
// Thread-safe.
class Admission {
 public:
  // OK: the request is counted waiting and in flight (Started, then
  // Finished; or Abandoned when it cannot be scheduled). Otherwise the
  // refusal to answer with and, in `*refusal`, its kRefusedHeader mark:
  // Unavailable "stopping", or ResourceExhausted "overloaded" when
  // `max_waiting` wait already.
  absl::Status Admit(absl::string_view service, size_t max_waiting,
                     const char** refusal) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      *refusal = "stopping";
      return absl::UnavailableError(
          absl::StrCat("service '", service, "' is stopping"));
    }
    if (waiting_ >= max_waiting) {
      *refusal = "overloaded";
      return absl::ResourceExhaustedError(
          absl::StrCat("service '", service, "' is overloaded: ", max_waiting,
                       " requests wait already"));
    }
    ++waiting_;
    ++in_flight_;
    return absl::OkStatus();
  }

  // An admitted request starts running: it no longer waits.
  void Started() {
    std::lock_guard<std::mutex> lock(mu_);
    --waiting_;
  }

  // An admitted request was answered.
  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--in_flight_ == 0 && stopped_) idle_.notify_all();
  }

  // An admitted request will not run (it could not be scheduled).
  void Abandoned() {
    std::lock_guard<std::mutex> lock(mu_);
    --waiting_;
    if (--in_flight_ == 0 && stopped_) idle_.notify_all();
  }

  // Refuses every request from now on and waits until none is in flight,
  // by `deadline`: 0, or how many still run then.
  int StopAndWait(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    stopped_ = true;
    if (!concurrency::WaitUntil(idle_, lock, deadline,
                                [&] { return in_flight_ == 0; })) {
      return in_flight_;
    }
    return 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;  // in_flight_ reached 0 while stopped_
  bool stopped_ = false;          // guarded by mu_
  int in_flight_ = 0;             // guarded by mu_: admitted, not answered
  size_t waiting_ = 0;            // guarded by mu_: admitted, not started
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_ADMISSION_H_
