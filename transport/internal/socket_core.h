// Copyright 2026 The micro-nats Authors.
//
// socket_core.h: the parts of a transport every backend shares.
//
//   InboundQueue  a socket's received messages and how its peer ended;
//   QueueSocket   a Socket over an InboundQueue and a backend's send function;
//   ListenerCore  a listener's sockets, its handler threads, idle reaping and
//                 Close.
//
// A backend only moves messages: memory pushes into the peer's queue, NATS
// publishes and routes what its subscriptions receive.

#ifndef MICRO_NATS_TRANSPORT_INTERNAL_SOCKET_CORE_H_
#define MICRO_NATS_TRANSPORT_INTERNAL_SOCKET_CORE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "transport/transport.h"

namespace micro_nats::transport::transport_internal {

// InboundQueue
//
// Thread-safe.
class InboundQueue {
 public:
  // `limits`: the unread backlog held before the queue overflows.
  explicit InboundQueue(PendingLimits limits = {.messages = 0, .bytes = 0})
      : limits_(limits), last_activity_ns_(absl::ToUnixNanos(absl::Now())) {}

  // Queues a message from the peer; dropped once the queue finished or
  // closed. True when this message overflowed the queue: it is dropped, the
  // queue finishes with ResourceExhausted, and the caller must tell the peer
  // the socket ended. True at most once.
  [[nodiscard]] bool Push(Message message);

  // The peer is gone: Pop returns what is queued, then `why` (OutOfRange
  // when it closed, Unavailable when it vanished). The first reason wins.
  void Finish(absl::Status why);

  // This end closed: Pop and Send fail with FailedPrecondition.
  void CloseLocal();

  absl::StatusOr<Message> Pop(absl::Time deadline);

  // OK while messages can still be sent to the peer; otherwise why not.
  absl::Status SendableStatus() const;

  // Marks the socket as used now (for idle reaping).
  void Touch() {
    last_activity_ns_.store(absl::ToUnixNanos(absl::Now()),
                            std::memory_order_relaxed);
  }
  absl::Time last_activity() const {
    return absl::FromUnixNanos(
        last_activity_ns_.load(std::memory_order_relaxed));
  }

 private:
  const PendingLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> messages_;  // guarded by mu_
  size_t pending_bytes_ = 0;      // guarded by mu_; of messages_
  absl::Status finished_;         // guarded by mu_; non-OK once finished
  bool closed_locally_ = false;   // guarded by mu_
  std::atomic<int64_t> last_activity_ns_;
};

// QueueSocket
//
// A Socket whose Recv pops `inbound` and whose Send calls `send`. Close (also
// on destruction) closes `inbound` and calls `on_close` once, to tell the
// peer and the listener.
class QueueSocket : public Socket {
 public:
  using SendFn = std::function<absl::Status(const Message&)>;

  QueueSocket(std::shared_ptr<InboundQueue> inbound, SendFn send,
              std::function<void()> on_close, std::string local_address,
              std::string remote_address);
  ~QueueSocket() override;

  absl::Status Send(const Message& message) override;
  absl::StatusOr<Message> Recv(absl::Time deadline) override;
  absl::Status Close() override;
  std::string LocalAddress() const override { return local_address_; }
  std::string RemoteAddress() const override { return remote_address_; }

 private:
  const std::shared_ptr<InboundQueue> inbound_;
  const SendFn send_;
  std::function<void()> on_close_;
  std::once_flag close_once_;
  const std::string local_address_;
  const std::string remote_address_;
};

// ListenerCore
//
// Thread-safe. A handler may Close its listener, but must not destroy it:
// the destructor waits for every handler to return.
class ListenerCore {
 public:
  // Uses `options`' idle_timeout and on_error. `notify_peer_closed(key)`
  // tells a socket's client that the server side closed it (best effort).
  ListenerCore(const ListenOptions& options,
               std::function<void(const std::string& key)> notify_peer_closed);
  ~ListenerCore();

  absl::Status Accept(AcceptHandler handler);

  // Registers the server-side socket `key` and hands `socket` to the
  // handler (or keeps it until Accept). False after Close: the caller
  // drops the socket.
  bool Add(const std::string& key, std::shared_ptr<InboundQueue> inbound,
           std::unique_ptr<Socket> socket);

  // The inbound queue of socket `key`, or null.
  std::shared_ptr<InboundQueue> Find(const std::string& key) const;

  // Forgets socket `key` (it closed, or its peer did).
  void Remove(const std::string& key);

  // True when socket `key` ended within the last few seconds. A message
  // its client sent before hearing so is still in flight and must not start
  // a new socket.
  bool EndedLately(const std::string& key) const;

  size_t OpenSockets() const;
  bool closed() const;

  // Ends every socket (its handler's Recv returns OutOfRange and its peer is
  // told), joins the handler threads and the reaper. Idempotent.
  void Close();

 private:
  void StartHandler(std::unique_ptr<Socket> socket);  // mu_ held
  // Runs `handler`; an exception is reported, not let out of the thread.
  void RunHandler(const AcceptHandler& handler, std::unique_ptr<Socket> socket);
  void JoinFinishedHandlers();  // mu_ not held
  void ReapIdle();
  void RememberEnded(const std::string& key);  // mu_ held

  const absl::Duration idle_timeout_;
  const std::function<void(const absl::Status&)> on_error_;
  const std::function<void(const std::string&)> notify_peer_closed_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;                                           // mu_
  AcceptHandler handler_;                                         // mu_
  std::vector<std::unique_ptr<Socket>> waiting_;                  // mu_
  std::map<std::string, std::shared_ptr<InboundQueue>> sockets_;  // mu_
  std::map<std::thread::id, std::thread> handlers_;               // mu_
  std::vector<std::thread> finished_handlers_;                    // mu_
  // Sockets that ended lately, oldest first, and the same as a set.
  std::deque<std::pair<absl::Time, std::string>> ended_order_;  // mu_
  std::set<std::string, std::less<>> ended_;                    // mu_
  std::thread reaper_;
};

}  // namespace micro_nats::transport::transport_internal

#endif  // MICRO_NATS_TRANSPORT_INTERNAL_SOCKET_CORE_H_
