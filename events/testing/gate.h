// Copyright 2026 The micro-nats Authors.
//
// gate.h: holds handlers until a test opens it; it opens itself when
// destroyed, so a failed assertion leaves no handler blocked (and the test
// hung in the consumer's teardown) but fails the test instead.

#ifndef MICRO_NATS_EVENTS_TESTING_GATE_H_
#define MICRO_NATS_EVENTS_TESTING_GATE_H_

#include <condition_variable>
#include <mutex>

namespace micro_nats::events::testing {

// Thread-safe. Declare it before the consumer whose handlers wait on it.
class Gate {
 public:
  ~Gate() { Open(); }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace micro_nats::events::testing

#endif  // MICRO_NATS_EVENTS_TESTING_GATE_H_
