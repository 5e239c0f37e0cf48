// Copyright 2026 The micro-nats Authors.
//
// socket_pool.h: the client's warm sockets, kept per node address so a
// call costs one round trip (no dial, no handshake).
//
//   bool reused = false;
//   MN_ASSIGN_OR_RETURN(std::unique_ptr<transport::Socket> socket,
//                       pool.Acquire(address, deadline, &reused));
//   ... Send, Recv ...
//   pool.Release(address, std::move(socket));  // after a clean answer

#ifndef MICRO_NATS_SERVICE_INTERNAL_SOCKET_POOL_H_
#define MICRO_NATS_SERVICE_INTERNAL_SOCKET_POOL_H_

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/transport.h"

namespace micro_nats::service::service_internal {

struct SocketPoolOptions {
  // Idle sockets kept per address; more are closed on Release.
  size_t max_idle_per_address = 64;
  // An idle socket older than this is closed, not reused (below the
  // server's idle timeout, so a kept socket is still open there).
  absl::Duration idle_timeout = absl::Seconds(30);
  // Dialled sockets' DialOptions::probe_interval.
  absl::Duration probe_interval = absl::Seconds(1);
};

// SocketPool
//
// Thread-safe. A socket is used by one call at a time: Acquire hands it
// out, Release takes it back.
class SocketPool {
 public:
  SocketPool(std::shared_ptr<transport::Transport> transport,
             SocketPoolOptions options);
  SocketPool(const SocketPool&) = delete;
  SocketPool& operator=(const SocketPool&) = delete;

  // The most recently released idle socket to `address` (`*reused` true),
  // or a new one dialled without a handshake by `deadline`: it opens with
  // its first message. What Dial says when that fails.
  absl::StatusOr<std::unique_ptr<transport::Socket>> Acquire(
      const std::string& address, absl::Time deadline, bool* reused);
  // A new socket to `address`, dialled without a handshake by `deadline`
  // (it opens with its first message), for the caller alone: a stream's,
  // never released to the pool. `max_pending` bounds its unread backlog
  // (a stream's: its window, service_internal::StreamPendingLimits).
  absl::StatusOr<std::unique_ptr<transport::Socket>> Dial(
      const std::string& address, absl::Time deadline,
      transport::PendingLimits max_pending = {});
  // Keeps `socket`, which answered cleanly, for the next call to `address`.
  // Also closes sockets idle past idle_timeout (at most once per
  // idle_timeout), so those of addresses no call picks any more go too.
  void Release(const std::string& address,
               std::unique_ptr<transport::Socket> socket);
  // Closes the idle sockets to `address` (its node failed).
  void Drop(const std::string& address);

  // Idle sockets now, over every address.
  size_t Idle() const;

 private:
  struct Kept {
    std::unique_ptr<transport::Socket> socket;
    absl::Time since;
  };

  const std::shared_ptr<transport::Transport> transport_;
  const SocketPoolOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Kept>, std::less<>> idle_;  // guarded by mu_
  absl::Time next_sweep_;  // guarded by mu_: of expired idle sockets
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_SOCKET_POOL_H_
