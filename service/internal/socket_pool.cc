// Copyright 2026 The micro-nats Authors.

#include "service/internal/socket_pool.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "concurrency/coarse_clock.h"
#include "concurrency/wait.h"

namespace micro_nats::service::service_internal {

SocketPool::SocketPool(std::shared_ptr<transport::Transport> transport,
                       SocketPoolOptions options)
    : transport_(std::move(transport)), options_(options) {}

absl::StatusOr<std::unique_ptr<transport::Socket>> SocketPool::Acquire(
    const std::string& address, absl::Time deadline, bool* reused) {
  std::vector<Kept> expired;  // closed (destroyed) after the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    // An address's entry stays while empty (Release's sweep drops it once
    // idle): a call per Acquire/Release pair would otherwise allocate it
    // anew each time.
    auto it = idle_.find(address);
    if (it != idle_.end()) {
      // Idle stamps are coarse (a tick, a few ms): a read per call costs
      // ~5 ns instead of ~85, and idle timeouts are seconds.
      const absl::Time cutoff =
          concurrency::CoarseNow() - options_.idle_timeout;
      std::deque<Kept>& kept = it->second;
      while (!kept.empty()) {
        Kept one = std::move(kept.back());
        kept.pop_back();
        if (one.since >= cutoff) {
          *reused = true;
          return std::move(one.socket);
        }
        expired.push_back(std::move(one));
      }
    }
  }
  *reused = false;
  return Dial(address, deadline);
}

absl::StatusOr<std::unique_ptr<transport::Socket>> SocketPool::Dial(
    const std::string& address, absl::Time deadline,
    transport::PendingLimits max_pending) {
  // No handshake: the socket opens with the request itself, one round trip.
  return transport_->Dial(
      address, {.timeout = std::max(absl::ZeroDuration(),
                                    concurrency::Remaining(deadline)),
                .handshake = false,
                .max_pending = max_pending,
                .probe_interval = options_.probe_interval});
}

void SocketPool::Release(const std::string& address,
                         std::unique_ptr<transport::Socket> socket) {
  std::vector<Kept> expired;  // closed after the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = concurrency::CoarseNow();
    if (now >= next_sweep_) {
      // Sockets of addresses no call picks any more would stay for ever.
      next_sweep_ = now + options_.idle_timeout;
      const absl::Time cutoff = now - options_.idle_timeout;
      for (auto it = idle_.begin(); it != idle_.end();) {
        std::deque<Kept>& kept = it->second;
        while (!kept.empty() && kept.front().since < cutoff) {
          expired.push_back(std::move(kept.front()));
          kept.pop_front();
        }
        it = kept.empty() ? idle_.erase(it) : std::next(it);
      }
    }
    auto it = idle_.find(address);
    if (it == idle_.end()) it = idle_.try_emplace(address).first;
    if (it->second.size() < options_.max_idle_per_address) {
      it->second.push_back({std::move(socket), now});
      return;
    }
  }
  socket->Close().IgnoreError();
}

void SocketPool::Drop(const std::string& address) {
  std::deque<Kept> dropped;  // closed after the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = idle_.find(address);
  if (it == idle_.end()) return;
  dropped.swap(it->second);
  idle_.erase(it);
}

size_t SocketPool::Idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t count = 0;
  for (const auto& [address, kept] : idle_) count += kept.size();
  return count;
}

}  // namespace micro_nats::service::service_internal
