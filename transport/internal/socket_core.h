// Copyright 2026 The micro-nats Authors.
//
// socket_core.h: the parts of a transport every backend shares.
//
//   InboundQueue  a socket's received messages and how its peer ended;
//   QueueSocket   a Socket over an InboundQueue and a backend's send function;
//   ListenerCore  a listener's sockets, the bounded pool its handlers run on,
//                 idle reaping, the socket cap and Close.
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
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/scheduler.h"
#include "concurrency/thread_pool.h"
#include "nats/will_block.h"
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

  // The next message, waiting until `deadline` (InfinitePast: only what is
  // there now). `*arrived`, when given, is set to when it was queued
  // (coarse clock).
  absl::StatusOr<Message> Pop(absl::Time deadline,
                              absl::Time* arrived = nullptr);

  // OK while messages can still be sent to the peer; otherwise why not.
  absl::Status SendableStatus() const;

  // Called (outside the queue's lock) after each message queued and when
  // the queue finishes: how a listener learns a socket has work.
  void SetOnReady(std::function<void()> on_ready);

  // Called once (outside the queue's lock) when the queue finishes, with
  // why; at once when it did already; never after CloseLocal
  // (Socket::NotifyOnEnd).
  void SetOnFinish(std::function<void(const absl::Status&)> on_finish);

  // The socket's handler keeps it (it registered Socket::NotifyOnEnd): its
  // messages are never load-shed nor counted as waiting (ListenOptions).
  void MarkKept() { kept_.store(true, std::memory_order_release); }
  bool kept() const { return kept_.load(std::memory_order_acquire); }

  // Marks the socket as used now. Several times per message, and only
  // idle reaping (timeouts of seconds) reads it: the coarse clock.
  void Touch() { TouchAt(absl::ToUnixNanos(concurrency::CoarseNow())); }
  void TouchAt(int64_t now_ns) {
    last_activity_ns_.store(now_ns, std::memory_order_relaxed);
  }

  // Idle reaping. A handler working on this socket brackets the work with
  // BeginWork/EndWork; a blocking handler waiting in Pop is not working.
  void BeginWork();
  void EndWork();
  // True when nothing is queued, no handler works on the socket, and it was
  // last used before `cutoff`.
  bool IdleSince(absl::Time cutoff) const;

 private:
  absl::Time last_activity() const {
    return absl::FromUnixNanos(
        last_activity_ns_.load(std::memory_order_relaxed));
  }
  void NotifyReady();  // mu_ not held

  const PendingLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    Message message;
    // When it was queued, on the coarse clock (the idle stamp's read):
    // what transport::MessageArrived says to its handler.
    int64_t arrived_ns;
  };
  std::deque<Queued> messages_;  // guarded by mu_
  size_t pending_bytes_ = 0;     // guarded by mu_; of messages_
  absl::Status finished_;        // guarded by mu_; non-OK once finished
  bool closed_locally_ = false;  // guarded by mu_
  int waiting_ = 0;              // guarded by mu_: callers blocked in Pop
  std::atomic<int> working_{0};  // BeginWork - EndWork
  // Not closed locally nor finished: Send's check without the lock.
  std::atomic<bool> sendable_{true};
  std::atomic<bool> kept_{false};                          // MarkKept
  std::shared_ptr<const std::function<void()>> on_ready_;  // guarded by mu_
  std::function<void(const absl::Status&)> on_finish_;     // guarded by mu_
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

  // While a Recv waits longer than `interval`, it calls `probe` (which asks
  // the peer whether it still holds the socket) and goes on waiting; the
  // answer, if any, finishes the inbound queue. Set before the socket is
  // used; a zero interval disables it.
  void SetProbe(std::function<void()> probe, absl::Duration interval) {
    probe_ = std::move(probe);
    probe_interval_ = interval;
  }

  // How Send(Message&&) sends, for a backend that can use the message
  // itself (memory); unset, it calls `send`. Set before the socket is used.
  using TakeFn = std::function<absl::Status(Message&&)>;
  void SetTake(TakeFn take) { take_ = std::move(take); }

  absl::Status Send(const Message& message) override;
  absl::Status Send(Message&& message) override;
  bool TakesMessages() const override { return static_cast<bool>(take_); }
  absl::StatusOr<Message> Recv(absl::Time deadline) override;
  absl::Status Close() override;
  std::string LocalAddress() const override { return local_address_; }
  std::string RemoteAddress() const override { return remote_address_; }

 private:
  const std::shared_ptr<InboundQueue> inbound_;
  const SendFn send_;
  TakeFn take_;
  std::function<void()> probe_;
  absl::Duration probe_interval_ = absl::ZeroDuration();
  std::function<void()> on_close_;
  std::once_flag close_once_;
  const std::string local_address_;
  const std::string remote_address_;
};

// ListenerCore
//
// Thread-safe. A listener's sockets, the handlers that serve them, idle
// reaping and the socket cap.
//
// Threads are bounded: handlers run on a ThreadPool (ListenOptions'
// executor, else the listener's own of handler_threads). A blocking
// AcceptHandler holds one of its threads from its socket's first message
// until it returns (a socket that never sends holds none); a MessageHandler
// holds one only while it handles a message, each socket's calls in order.
// Shared: handler tasks hold it, so a Close that ran out of time leaves
// nothing they use freed. A handler may Close its listener.
//
// Leading (NATS): the listener's own threads take messages off the wire,
// leader/followers style, and a message call runs on the thread that took
// it when a slot is free: no hand-off. While the leader runs a call,
// another thread takes over the wire ("promotion") when messages already
// wait and calls run long enough to be worth a thread each (tens of
// microseconds; shorter ones run one after another, as nats.c runs a
// subscription's callbacks), when the call is about to wait in our code
// (nats::WillBlock), or when it has run for longer than a millisecond (a
// process-wide watch).
// One thread beyond the handler threads leads, so the wire is read (and
// load shed) while every handler thread is busy.
class ListenerCore : public std::enable_shared_from_this<ListenerCore>,
                     private nats::BlockingObserver {
 public:
  // Uses `options`' idle_timeout, max_sockets, handler threads and on_error.
  // `notify_peer_closed(key)` tells a socket's client that the server side
  // closed it (best effort); it is not called once Close has returned.
  // `leads`: the backend will call Lead (its pool gets the leader's thread).
  static std::shared_ptr<ListenerCore> Create(
      const ListenOptions& options,
      std::function<void(const std::string& key)> notify_peer_closed,
      bool leads = false);
  ~ListenerCore();

  // Waits up to `timeout` for the next message from the wire and leaves in
  // `*route` what routes it (to Add's queues, whose on-ready then runs the
  // call in place), or nothing. False once the source is gone (closed).
  // The leader runs `*route` right after, while it still holds the Take
  // (so a route may point into the Take's own state).
  using Take = std::function<bool(absl::Duration timeout, concurrency::Task*)>;
  // Starts the leader. `backlog()`: true when messages wait on the wire.
  void Lead(Take take, std::function<bool()> backlog);

  // The process-wide watch's check: promotes when the leader has been in a
  // call for longer than `long_call`.
  void CheckLongCall(absl::Time now, absl::Duration long_call);

  absl::Status Accept(AcceptHandler handler);
  absl::Status AcceptMessages(MessageHandler handler);

  // Registers the server-side socket `key`, taking `*socket`, and serves it
  // once it has work (or keeps it until Accept). FailedPrecondition after
  // Close; ResourceExhausted, naming the cap, when max_sockets are open:
  // then `*socket` is left with the caller, who tells the client why before
  // dropping it.
  absl::Status Add(const std::string& key,
                   std::shared_ptr<InboundQueue> inbound,
                   std::unique_ptr<Socket>* socket);

  // What Add would say of a new socket `key` now: OK, FailedPrecondition
  // after Close, ResourceExhausted at the cap (and `key` is remembered as
  // ended, so what its client sends next is refused too).
  absl::Status CheckRoom(const std::string& key);

  // The inbound queue of socket `key`, or null.
  std::shared_ptr<InboundQueue> Find(absl::string_view key) const;

  // Forgets socket `key` (it closed, or its peer did).
  void Remove(const std::string& key);

  // True when socket `key` ended within the last few seconds. A message
  // its client sent before hearing so is still in flight and must not start
  // a new socket.
  bool EndedLately(const std::string& key) const;

  size_t OpenSockets() const;
  size_t WaitingMessages() const {
    return waiting_calls_.load(std::memory_order_relaxed);
  }
  bool closed() const;

  // Ends every open socket with `why` (a handler reads what was queued,
  // then `why`; its peer is told) and goes on listening.
  void EndAll(const absl::Status& why);

  // Ends every socket (a handler's Recv returns what was queued, then
  // OutOfRange, and its peer is told), stops the reaper and waits for the
  // handlers to return, by `deadline`: DeadlineExceeded saying how many
  // still run (they finish on their own). A handler that closes its own
  // listener is not waited for. Idempotent; a later call waits again.
  absl::Status Close(absl::Time deadline);

 private:
  ListenerCore(const ListenOptions& options,
               std::function<void(const std::string& key)> notify_peer_closed,
               bool leads);

  // The leader's task: takes messages until it is promoted away or the
  // listener closes.
  void LeadLoop();
  struct Deferred {
    std::shared_ptr<concurrency::SerialQueue> calls;
    concurrency::Task call;
    bool counted = true;  // in waiting_calls_ (not a kept socket's)
  };
  // Runs a message call routed by this thread, in place (in its turn).
  void RunHere(Deferred call);
  // At the start of a message call: on the leader's thread, hands the wire
  // to another thread when messages wait, else marks the leader suspended.
  void EnterCall();
  // Hands the wire to a new leader task; mu_ held.
  void PromoteLocked();
  void OnWillBlock() override;

  // What every call for one socket needs, made once per socket.
  struct SocketCall {
    std::weak_ptr<ListenerCore> core;  // a queued call does not keep it
    std::shared_ptr<Socket> socket;
    std::shared_ptr<InboundQueue> inbound;
  };
  struct Entry {
    std::shared_ptr<InboundQueue> inbound;
    std::unique_ptr<Socket> socket;  // until a handler takes it
    std::shared_ptr<Socket> shared;  // message mode: what handlers get
    std::shared_ptr<concurrency::SerialQueue> calls;  // message mode
    std::shared_ptr<const SocketCall> call;           // message mode
    bool ready = false;    // a message arrived or the queue finished
    bool started = false;  // holds_sockets_: its one call is scheduled
  };

  // `holds_sockets`: Accept's adapter, whose call for a socket's first
  // message runs until the socket is done with (no other call for it).
  absl::Status StartServing(MessageHandler handler, bool holds_sockets);
  void OnReady(const std::string& key);
  // Message mode: the socket handlers get, made on first use; mu_ held.
  std::shared_ptr<Socket> SharedSocket(Entry& entry);
  // True when a message for `entry` should go to on_overload; mu_ held.
  bool Overloaded(Entry& entry);
  // Schedules a message call for entry `key` (with holds_sockets_, only
  // for its first message); mu_ held, and an AfterLock declared before it
  // (a socket that cannot be served is ended after). With inline handlers
  // or on the leader's thread, the call may instead be left in `*run_here`
  // for the caller to run once mu_ is released.
  void Serve(const std::string& key, Entry& entry,
             Deferred* run_here = nullptr);
  // Hands deferred calls to the pool while slots are free; mu_ held.
  void PumpDeferred();
  // Calls running or handed to the pool; mu_ held.
  int ActiveCalls() const {
    return tasks_ - static_cast<int>(deferred_.size());
  }
  // The task that handles the next message of a socket; `counted`: it is
  // in waiting_calls_.
  void RunMessageCall(const SocketCall& call, bool counted);
  void TaskDone();
  // To on_error, else the error sink; mu_ not held (on_error may call this
  // listener).
  void Report(const absl::Status& error);
  // Reported once mu_ is released, by an AfterLock; mu_ held.
  void ReportLocked(absl::Status error);
  // Declared before a lock of mu_ is taken, does what was left for after
  // it: reports, and ending the sockets Serve could not serve (their
  // queues and sockets call back into this listener).
  class AfterLock {
   public:
    explicit AfterLock(ListenerCore* core) : core_(core) {}
    AfterLock(const AfterLock&) = delete;
    AfterLock& operator=(const AfterLock&) = delete;
    ~AfterLock();

   private:
    ListenerCore* const core_;
  };
  void ReapIdle();                             // one pass, on the scheduler
  void RememberEnded(const std::string& key);  // mu_ held
  absl::Status CheckRoomLocked(const std::string& key);  // mu_ held

  const absl::Duration idle_timeout_;
  const size_t max_sockets_;
  const std::function<void(const absl::Status&)> on_error_;
  const size_t max_waiting_messages_;
  const bool inline_handlers_;
  const bool leads_;
  const MessageHandler on_overload_;
  const std::function<void(const std::string&)> notify_peer_closed_;
  const std::shared_ptr<concurrency::ThreadPool> pool_;
  // Message calls running at once (the handler threads).
  const int max_calls_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;  // mu_
  // Set once, under mu_, before any call is scheduled; calls read it
  // without the lock.
  MessageHandler handler_;
  bool holds_sockets_ = false;  // set with handler_, read as it
  std::map<std::string, Entry, std::less<>> sockets_;  // mu_
  int tasks_ = 0;  // mu_: handler tasks not finished
  // Accept: a socket waited for a handler thread (reported once).
  bool told_sockets_wait_ = false;  // mu_
  // Message calls not started, but for kept sockets' (load shedding reads
  // it under mu_).
  std::atomic<size_t> waiting_calls_{0};
  // Inline handlers: the calls waiting for a slot, oldest first. The
  // others of tasks_ run or are handed to the pool (ActiveCalls(), at most
  // the pool's size).
  std::deque<Deferred> deferred_;  // mu_
  // Leading. The leader either waits on the wire (in take_) or runs a call
  // it took ("suspended"), until promoted away.
  std::shared_ptr<const Take> take_;  // mu_; set once by Lead
  std::function<bool()> backlog_;     // set once by Lead, before the leader
  std::thread::id leader_;            // mu_; none while a promotion is due
  bool lead_scheduled_ = false;       // mu_: a leader task is due to start
  bool suspended_ = false;            // mu_: the leader runs a call
  absl::Time suspended_since_;        // mu_
  int taking_ = 0;                    // mu_: threads inside take_
  // Calls run in place, smoothed duration on the clock and on the CPU
  // (sampled); written under mu_.
  std::atomic<int64_t> call_ns_{0};
  std::atomic<int64_t> cpu_ns_{0};
  std::atomic<uint32_t> calls_in_place_{0};  // which to measure on the CPU
  // Left for an AfterLock; after_lock_ is set (under mu_) when either has
  // some, so the common case takes no second lock.
  std::vector<absl::Status> reports_;                     // mu_
  std::vector<std::pair<Entry, absl::Status>> unserved_;  // mu_
  std::atomic<bool> after_lock_{false};
  // Sockets that ended lately, oldest first, and the same as a set.
  std::deque<std::pair<absl::Time, std::string>> ended_order_;  // mu_
  std::set<std::string, std::less<>> ended_;                    // mu_
  // Idle reaping on the process scheduler; last, so it is cancelled first.
  concurrency::ScheduledTask reap_;
};

}  // namespace micro_nats::transport::transport_internal

#endif  // MICRO_NATS_TRANSPORT_INTERNAL_SOCKET_CORE_H_
