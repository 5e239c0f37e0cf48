// Copyright 2026 The micro-nats Authors.
//
// fault_injection.h: server-side faults on cue, per node, for the
// resilience tests (resilience_suite.h): a handler wrapper that delays,
// fails or hangs the requests of the node it wraps, and counts what each
// node ran.
//
//   FaultInjector faults;
//   ServerOptions options;
//   options.id = "echo-1";
//   options.wrappers = {faults.Wrapper("echo-1")};
//   ...
//   faults.Delay("echo-1", absl::Milliseconds(200));  // a slow node
//   faults.Fail("echo-2", absl::UnavailableError("disk gone"));
//   faults.HangNext();  // the next request, wherever it lands, never
//                       // answers until Release: kill its node meanwhile
//   ASSERT_TRUE(faults.WaitForHung(1, absl::Seconds(10)));
//   ... Stop the node faults.hung_nodes()[0] names ...
//   faults.Release();
//
// An execution is a request that reached the wrapper (the handler started,
// faults included): what a non-idempotent endpoint must see once per call.
// Requests the server refused or dropped before its handlers never get
// here (ServerStats counts those).

#ifndef MICRO_NATS_SERVICE_TESTING_FAULT_INJECTION_H_
#define MICRO_NATS_SERVICE_TESTING_FAULT_INJECTION_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/server.h"

namespace micro_nats::service {

// FaultInjector
//
// Thread-safe. Outlives the servers it wraps (their handlers refer to it).
class FaultInjector {
 public:
  // What a node does with the requests it gets.
  enum class Mode {
    kHealthy,  // runs the handler
    kDelay,    // waits `delay`, then runs the handler
    kFail,     // answers `status` without running the handler
    kHang,     // never answers until Release (a node dying mid-call)
  };

  FaultInjector() = default;
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;
  // Releases what still hangs, so no handler waits on a gone injector.
  ~FaultInjector() { Release(); }

  // The wrapper for node `node` (its ServerOptions::wrappers).
  HandlerWrapper Wrapper(std::string node) {
    return [this, node = std::move(node)](Handler next) -> Handler {
      return [this, node, next = std::move(next)](
                 Context& ctx, const Message& request,
                 Message* response) -> absl::Status {
        absl::Status fault = Enter(node);
        if (!fault.ok()) return fault;
        return next(ctx, request, response);
      };
    };
  }

  void Delay(const std::string& node, absl::Duration delay) {
    Set(node, Mode::kDelay, delay, absl::OkStatus());
  }
  void Fail(const std::string& node, absl::Status status) {
    Set(node, Mode::kFail, absl::ZeroDuration(), std::move(status));
  }
  void Hang(const std::string& node) {
    Set(node, Mode::kHang, absl::ZeroDuration(), absl::OkStatus());
  }
  void Heal(const std::string& node) {
    Set(node, Mode::kHealthy, absl::ZeroDuration(), absl::OkStatus());
  }
  // The next request, on whichever node it lands, hangs; those after it
  // run as their node says.
  void HangNext() {
    std::lock_guard<std::mutex> lock(mu_);
    hang_next_ = true;
  }

  // Lets every hung handler return (Unavailable "released by the test"),
  // now and for the requests that hang later until the next Hang or
  // HangNext cue. Nodes left in kHang stay so: their later requests hang.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    ++release_generation_;
    cv_.notify_all();
  }

  // True once `count` requests hung in total, by `timeout`.
  bool WaitForHung(int count, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return static_cast<int>(hung_nodes_.size()) >= count;
    });
  }
  // The nodes of the requests that hung, in order.
  std::vector<std::string> hung_nodes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hung_nodes_;
  }

  // Requests that reached `node`'s handlers (faults included).
  int64_t executions(const std::string& node) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(node);
    return it == nodes_.end() ? 0 : it->second.executions;
  }
  // Over every node.
  int64_t executions() const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t total = 0;
    for (const auto& [name, node] : nodes_) total += node.executions;
    return total;
  }
  std::map<std::string, int64_t> executions_by_node() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, int64_t> counts;
    for (const auto& [name, node] : nodes_) counts[name] = node.executions;
    return counts;
  }

 private:
  struct Node {
    Mode mode = Mode::kHealthy;
    absl::Duration delay;
    absl::Status status;
    int64_t executions = 0;
  };

  void Set(const std::string& node, Mode mode, absl::Duration delay,
           absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    Node& state = nodes_[node];
    state.mode = mode;
    state.delay = delay;
    state.status = std::move(status);
  }

  // Counts the request and applies `node`'s fault: OK to run the handler.
  absl::Status Enter(const std::string& node) {
    std::unique_lock<std::mutex> lock(mu_);
    Node& state = nodes_[node];
    ++state.executions;
    Mode mode = state.mode;
    if (hang_next_) {
      hang_next_ = false;
      mode = Mode::kHang;
    }
    switch (mode) {
      case Mode::kHealthy:
        return absl::OkStatus();
      case Mode::kDelay: {
        const absl::Duration delay = state.delay;
        lock.unlock();
        absl::SleepFor(delay);  // the fault itself, not a synchronisation
        return absl::OkStatus();
      }
      case Mode::kFail:
        return state.status;
      case Mode::kHang: {
        hung_nodes_.push_back(node);
        cv_.notify_all();
        const int64_t generation = release_generation_;
        // Bounded, so a test that forgets Release still ends.
        cv_.wait_for(lock, std::chrono::seconds(60),
                     [&] { return release_generation_ != generation; });
        return absl::UnavailableError("released by the test");
      }
    }
    return absl::OkStatus();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;  // hung_nodes_ grew, or a release
  std::map<std::string, Node> nodes_;
  bool hang_next_ = false;
  int64_t release_generation_ = 0;
  std::vector<std::string> hung_nodes_;
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_TESTING_FAULT_INJECTION_H_
