// Copyright 2026 The micro-nats Authors.

#include "transport/internal/socket_core.h"

#include <time.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "concurrency/wait.h"
#include "status/error_sink.h"
#include "status/guarded.h"
#include "status/status_macros.h"

namespace micro_nats::transport::transport_internal {
namespace {

// A copy of `status` that shares no reference count with it. The queue and
// the callers of Recv live on different threads, and Debian's libabsl counts
// Status references in code TSan does not see: a shared count there reads as
// a race when the last holder frees it.
absl::Status Unshared(const absl::Status& status) {
  // What the status says of delivery goes with it (an inline Cord: no
  // count shared either).
  return WithDelivery(absl::Status(status.code(), status.message()),
                      DeliveryOf(status));
}

}  // namespace

// ---------------------------------------------------------------------------
// InboundQueue

bool InboundQueue::Push(Message message) {
  const size_t bytes = MessageSize(message);
  bool overflowed = false;
  bool wake = false;
  std::shared_ptr<const std::function<void()>> on_ready;
  std::function<void(const absl::Status&)> on_finish;
  absl::Status finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_locally_ || !finished_.ok()) return false;
    const bool too_many =
        limits_.messages != 0 && messages_.size() + 1 > limits_.messages;
    const bool too_big =
        limits_.bytes != 0 && pending_bytes_ + bytes > limits_.bytes;
    if (too_many || too_big) {
      finished_ = absl::ResourceExhaustedError(
          too_many ? absl::StrCat("the socket ended: more than ",
                                  limits_.messages, " messages arrived unread")
                   : absl::StrCat("the socket ended: more than ", limits_.bytes,
                                  " bytes arrived unread"));
      sendable_.store(false, std::memory_order_release);
      overflowed = true;
      on_finish.swap(on_finish_);
      finished = Unshared(finished_);
    } else {
      pending_bytes_ += bytes;
      // One clock read: the idle stamp and the message's arrival.
      const int64_t now = absl::ToUnixNanos(concurrency::CoarseNow());
      messages_.push_back({std::move(message), now});
      TouchAt(now);
    }
    wake = waiting_ > 0 || overflowed;
    on_ready = on_ready_;  // one lock per message, not two
  }
  // After the lock: the waiter it wakes does not then wait for it. The
  // queue outlives this (its pusher holds it).
  if (wake) cv_.notify_all();
  if (on_finish) on_finish(finished);
  if (on_ready != nullptr && *on_ready) (*on_ready)();
  return overflowed;
}

void InboundQueue::Finish(absl::Status why) {
  std::function<void(const absl::Status&)> on_finish;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finished_.ok()) return;
    finished_ = Unshared(why);
    sendable_.store(false, std::memory_order_release);
    cv_.notify_all();
    on_finish.swap(on_finish_);
  }
  if (on_finish) on_finish(why);
  NotifyReady();
}

void InboundQueue::SetOnFinish(
    std::function<void(const absl::Status&)> on_finish) {
  absl::Status finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Ended first, then closed (the listener closes an ended socket): it
    // ended all the same.
    if (finished_.ok()) {
      if (!closed_locally_) on_finish_ = std::move(on_finish);
      return;
    }
    finished = Unshared(finished_);
  }
  on_finish(finished);
}

void InboundQueue::CloseLocal() {
  std::lock_guard<std::mutex> lock(mu_);
  on_finish_ = nullptr;  // this end's own Close is not an end to tell
  closed_locally_ = true;
  sendable_.store(false, std::memory_order_release);
  messages_.clear();
  pending_bytes_ = 0;
  cv_.notify_all();
}

absl::StatusOr<Message> InboundQueue::Pop(absl::Time deadline,
                                          absl::Time* arrived) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [this] {
    return closed_locally_ || !messages_.empty() || !finished_.ok();
  };
  if (!ready() && deadline != absl::InfinitePast()) {
    // A handler run where its message was taken stops taking the
    // listener's messages while it waits here: another thread takes over.
    lock.unlock();
    nats::WillBlock();
    lock.lock();
    // Waiting for the peer: the handler is not working on the socket, and
    // the idle clock starts now.
    ++waiting_;
    Touch();
    concurrency::WaitUntil(cv_, lock, deadline, ready);
    --waiting_;
  }
  if (closed_locally_) {
    return absl::FailedPreconditionError("socket is closed");
  }
  if (!messages_.empty()) {
    Message message = std::move(messages_.front().message);
    if (arrived != nullptr) {
      *arrived = absl::FromUnixNanos(messages_.front().arrived_ns);
    }
    messages_.pop_front();
    pending_bytes_ -= MessageSize(message);
    Touch();
    return message;
  }
  if (!finished_.ok()) return Unshared(finished_);
  return absl::DeadlineExceededError("no message before the deadline");
}

absl::Status InboundQueue::SendableStatus() const {
  // Every send asks: no lock while the socket is open.
  if (sendable_.load(std::memory_order_acquire)) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_locally_) {
    return absl::FailedPreconditionError("socket is closed");
  }
  return Unshared(finished_);
}

void InboundQueue::SetOnReady(std::function<void()> on_ready) {
  std::lock_guard<std::mutex> lock(mu_);
  on_ready_ =
      std::make_shared<const std::function<void()>>(std::move(on_ready));
}

void InboundQueue::NotifyReady() {
  std::shared_ptr<const std::function<void()>> on_ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    on_ready = on_ready_;
  }
  if (on_ready != nullptr && *on_ready) (*on_ready)();
}

void InboundQueue::BeginWork() {
  working_.fetch_add(1, std::memory_order_relaxed);
}

void InboundQueue::EndWork() {
  Touch();
  working_.fetch_sub(1, std::memory_order_relaxed);
}

bool InboundQueue::IdleSince(absl::Time cutoff) const {
  std::lock_guard<std::mutex> lock(mu_);
  // A call that began just before this read is not seen, but it popped its
  // message just now (Touch), so the socket is not idle either way.
  const bool working = working_.load(std::memory_order_relaxed) > waiting_;
  return !working && messages_.empty() && last_activity() < cutoff;
}

// ---------------------------------------------------------------------------
// QueueSocket

QueueSocket::QueueSocket(std::shared_ptr<InboundQueue> inbound, SendFn send,
                         std::function<void()> on_close,
                         std::string local_address, std::string remote_address)
    : inbound_(std::move(inbound)),
      send_(std::move(send)),
      on_close_(std::move(on_close)),
      local_address_(std::move(local_address)),
      remote_address_(std::move(remote_address)) {}

QueueSocket::~QueueSocket() { Close().IgnoreError(); }

absl::Status QueueSocket::Send(const Message& message) {
  MN_RETURN_IF_ERROR(inbound_->SendableStatus());
  MN_RETURN_IF_ERROR(send_(message));
  inbound_->Touch();
  return absl::OkStatus();
}

absl::Status QueueSocket::Send(Message&& message) {
  if (!take_) return Send(static_cast<const Message&>(message));
  MN_RETURN_IF_ERROR(inbound_->SendableStatus());
  MN_RETURN_IF_ERROR(take_(std::move(message)));
  inbound_->Touch();
  return absl::OkStatus();
}

absl::StatusOr<Message> QueueSocket::Recv(absl::Time deadline) {
  if (!probe_ || probe_interval_ <= absl::ZeroDuration()) {
    return inbound_->Pop(deadline);
  }
  while (true) {
    const absl::Time until = std::min(deadline, absl::Now() + probe_interval_);
    absl::StatusOr<Message> message = inbound_->Pop(until);
    if (!absl::IsDeadlineExceeded(message.status()) || until >= deadline) {
      return message;
    }
    probe_();
  }
}

absl::Status QueueSocket::Close() {
  std::call_once(close_once_, [this] {
    inbound_->CloseLocal();
    if (on_close_) on_close_();
  });
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// ListenerCore

namespace {

// A socket that forwards to another (`Ptr` owns it); the two below differ
// only in Recv.
template <typename Ptr>
class ForwardingSocket : public Socket {
 public:
  explicit ForwardingSocket(Ptr socket) : socket_(std::move(socket)) {}

  absl::Status Send(const Message& message) override {
    return socket_->Send(message);
  }
  absl::Status Send(Message&& message) override {
    return socket_->Send(std::move(message));
  }
  absl::Status Close() override { return socket_->Close(); }
  std::string LocalAddress() const override { return socket_->LocalAddress(); }
  std::string RemoteAddress() const override {
    return socket_->RemoteAddress();
  }

 protected:
  const Ptr socket_;
};

// What a MessageHandler gets: Recv is refused (messages come to the
// handler) unless the handler holds the socket (the Accept adapter).
class HandlerSocket : public ForwardingSocket<std::unique_ptr<Socket>> {
 public:
  HandlerSocket(std::unique_ptr<Socket> socket,
                std::shared_ptr<InboundQueue> inbound, bool may_recv)
      : ForwardingSocket(std::move(socket)),
        inbound_(std::move(inbound)),
        may_recv_(may_recv) {}

  absl::Status NotifyOnEnd(
      std::function<void(const absl::Status&)> on_end) override {
    if (may_recv_) return Socket::NotifyOnEnd(std::move(on_end));
    // Before SetOnFinish, so the handler's next messages are never shed.
    inbound_->MarkKept();
    inbound_->SetOnFinish(std::move(on_end));
    return absl::OkStatus();
  }

  absl::StatusOr<Message> Recv(absl::Time deadline) override {
    if (may_recv_) return socket_->Recv(deadline);
    return absl::FailedPreconditionError(
        "Recv on a socket served by a MessageHandler: its messages come to "
        "the handler");
  }

 private:
  const std::shared_ptr<InboundQueue> inbound_;
  const bool may_recv_;
};

// What an AcceptHandler gets: the socket whose first message started its
// call, that message first. Dropping it closes the socket.
class AcceptedSocket : public ForwardingSocket<std::shared_ptr<Socket>> {
 public:
  AcceptedSocket(std::shared_ptr<Socket> socket, Message first)
      : ForwardingSocket(std::move(socket)), first_(std::move(first)) {}
  ~AcceptedSocket() override { Close().IgnoreError(); }

  absl::StatusOr<Message> Recv(absl::Time deadline) override {
    if (has_first_) {
      has_first_ = false;
      return std::move(first_);
    }
    return socket_->Recv(deadline);
  }

 private:
  Message first_;
  bool has_first_ = true;
};

// The message calls this thread runs, innermost first: a handler that
// closes its own listener is not waited for. Per thread, so a call takes no
// lock and allocates nothing to say where it runs.
struct CallFrame {
  const ListenerCore* core;
  const CallFrame* outer;
};
thread_local const CallFrame* call_frames = nullptr;

// This thread's CPU time (ns).
int64_t ThreadCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

int CallsOnThisThread(const ListenerCore* core) {
  int n = 0;
  for (const CallFrame* f = call_frames; f != nullptr; f = f->outer) {
    if (f->core == core) ++n;
  }
  return n;
}

}  // namespace

namespace {

// The long-call watch: one task on the process scheduler, which runs every
// kWatchPeriod while leaders have begun calls lately (kWatchLinger) and is
// cancelled otherwise, so a call that runs long or blocks outside our waits
// hands the wire over within about two periods, and an idle process has no
// 1 ms wake-ups. It owns no thread: the scheduler's are joined at exit.
constexpr absl::Duration kLongCall = absl::Milliseconds(1);
constexpr absl::Duration kWatchPeriod = absl::Milliseconds(1);
constexpr absl::Duration kWatchLinger = absl::Milliseconds(200);

class LongCallWatch {
 public:
  static LongCallWatch& Get() {
    // Never destroyed: listeners may unwatch during static destruction.
    static auto* watch = new LongCallWatch;
    return *watch;
  }

  void Watch(const std::shared_ptr<ListenerCore>& core) {
    std::lock_guard<std::mutex> lock(mu_);
    cores_[core.get()] = core;
  }

  void Unwatch(const ListenerCore* core) {
    std::lock_guard<std::mutex> lock(mu_);
    cores_.erase(core);
  }

  // A leader began a call: the watch looks for a while. Per call, so only
  // two atomics unless the watch is off.
  void CallBegan() {
    last_call_ns_.store(absl::ToUnixNanos(absl::Now()));
    if (!active_.load()) Start();
  }

 private:
  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_.load()) return;
    active_.store(true);
    // Replacing a task that cancelled itself waits for its last run to
    // return, which takes no lock of ours.
    task_ = concurrency::Scheduler::Default().Every(kWatchPeriod,
                                                    [this] { Check(); });
  }

  bool Lingered(absl::Time now) const {
    return now - absl::FromUnixNanos(last_call_ns_.load()) > kWatchLinger;
  }

  void Check() {
    std::vector<std::weak_ptr<ListenerCore>> cores;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Lingered(absl::Now())) {
        // Seen by CallBegan (both sequentially consistent): either it
        // starts the watch again, or this sees its call and goes on.
        active_.store(false);
        if (Lingered(absl::Now())) {
          task_.Cancel();  // from its own run: returns at once
          return;
        }
        active_.store(true);
      }
      cores.reserve(cores_.size());
      for (const auto& [key, core] : cores_) cores.push_back(core);
    }
    const absl::Time checked = absl::Now();
    for (const auto& weak : cores) {
      if (auto core = weak.lock()) core->CheckLongCall(checked, kLongCall);
    }
  }

  std::mutex mu_;
  std::map<const ListenerCore*, std::weak_ptr<ListenerCore>> cores_;  // mu_
  concurrency::ScheduledTask task_;                                   // mu_
  std::atomic<bool> active_{false};  // task_ runs; written under mu_
  std::atomic<int64_t> last_call_ns_{0};
};

}  // namespace

ListenerCore::ListenerCore(
    const ListenOptions& options,
    std::function<void(const std::string& key)> notify_peer_closed, bool leads)
    : idle_timeout_(options.idle_timeout),
      max_sockets_(options.max_sockets),
      on_error_(options.on_error),
      max_waiting_messages_(options.max_waiting_messages),
      inline_handlers_(options.inline_handlers),
      leads_(leads),
      on_overload_(options.on_overload),
      notify_peer_closed_(std::move(notify_peer_closed)),
      // One thread more when leading: the leader's.
      pool_(options.executor != nullptr
                ? options.executor
                : std::make_shared<concurrency::ThreadPool>(
                      std::max(1, options.handler_threads) + (leads ? 1 : 0))),
      max_calls_(std::max(1, pool_->max_threads() - (leads ? 1 : 0))) {
  if (idle_timeout_ > absl::ZeroDuration() &&
      idle_timeout_ != absl::InfiniteDuration()) {
    // Checked a few times per timeout, on the process timer.
    reap_ = concurrency::Scheduler::Default().Every(
        std::clamp(idle_timeout_ / 4, absl::Milliseconds(10), absl::Seconds(1)),
        [this] { ReapIdle(); });
  }
}

std::shared_ptr<ListenerCore> ListenerCore::Create(
    const ListenOptions& options,
    std::function<void(const std::string& key)> notify_peer_closed,
    bool leads) {
  return std::shared_ptr<ListenerCore>(
      new ListenerCore(options, std::move(notify_peer_closed), leads));
}

namespace {
// The core whose leader role this thread holds, if any.
thread_local ListenerCore* leading_core = nullptr;
// The CPU time at the start of the call this leader runs in place, when it
// is measured (EnterCall to RunHere, on this thread); else -1.
thread_local int64_t cpu_sample_start = -1;
}  // namespace

void ListenerCore::Lead(Take take, std::function<bool()> backlog) {
  backlog_ = std::move(backlog);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || take_ != nullptr) return;
    take_ = std::make_shared<const Take>(std::move(take));
  }
  LongCallWatch::Get().Watch(shared_from_this());
  AfterLock after(this);
  std::lock_guard<std::mutex> lock(mu_);
  PromoteLocked();
}

void ListenerCore::PromoteLocked() {
  if (closed_ || lead_scheduled_) return;
  lead_scheduled_ = true;
  leader_ = std::thread::id();
  suspended_ = false;
  absl::Status scheduled =
      pool_->Schedule([self = shared_from_this()] { self->LeadLoop(); });
  if (!scheduled.ok()) {
    // No thread: nobody reads the wire until a call ends and tries again.
    lead_scheduled_ = false;
    ReportLocked(absl::ResourceExhaustedError(absl::StrCat(
        "no thread to take the listener's messages: ", scheduled.message())));
  }
}

void ListenerCore::LeadLoop() {
  const std::thread::id me = std::this_thread::get_id();
  std::shared_ptr<const Take> take;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lead_scheduled_ = false;
    if (closed_ || leader_ != std::thread::id()) return;
    leader_ = me;
    take = take_;
  }
  ListenerCore* const outer = std::exchange(leading_core, this);
  nats::BlockingObserver* const outer_observer =
      nats::SetBlockingObserver(this);
  // Bounded, so a Close whose unsubscribe did not wake the wait is seen.
  constexpr absl::Duration kTakeTimeout = absl::Milliseconds(250);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || leader_ != me) break;
      ++taking_;
    }
    concurrency::Task route;
    const bool more = (*take)(kTakeTimeout, &route);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --taking_;
      if (closed_) cv_.notify_all();
      if (!more) {
        if (leader_ == me) leader_ = std::thread::id();
        break;
      }
    }
    // Routing may run the message's call here (RunHere).
    if (route) std::move(route)();
  }
  nats::SetBlockingObserver(outer_observer);
  leading_core = outer;
}

void ListenerCore::RunHere(Deferred call) {
  // The call claims its socket's turn first (RunOrSchedule), then hands
  // the wire over if need be (EnterCall): a new leader taking the socket's
  // next message finds the turn taken, and queues it.
  call.calls->RunOrSchedule(std::move(call.call));
  if (leading_core != this) return;
  const std::thread::id me = std::this_thread::get_id();
  const int64_t cpu =
      cpu_sample_start < 0 ? -1 : ThreadCpuNanos() - cpu_sample_start;
  cpu_sample_start = -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_ == me && suspended_) {
    suspended_ = false;
    // How long calls run in place, smoothed (1/8 of each new one): on the
    // clock, and on this thread's CPU for the calls sampled.
    const int64_t took =
        absl::ToInt64Nanoseconds(absl::Now() - suspended_since_);
    const int64_t was = call_ns_.load(std::memory_order_relaxed);
    call_ns_.store(was + (took - was) / 8, std::memory_order_relaxed);
    if (cpu >= 0) {
      const int64_t cpu_was = cpu_ns_.load(std::memory_order_relaxed);
      cpu_ns_.store(cpu_was + (cpu - cpu_was) / 8, std::memory_order_relaxed);
    }
  }
}

void ListenerCore::EnterCall() {
  if (leading_core != this) return;
  const std::thread::id me = std::this_thread::get_id();
  // Messages waiting on the wire are taken by another thread now, when
  // running calls side by side beats waking a thread for each: calls that
  // keep a CPU busy for long (another core can take the next), or that
  // wait long outside our waits. Calls that are merely slow on the clock
  // because the cores are busy gain nothing from another thread (it would
  // wait for a core too), and short ones run one after the other here, as
  // nats.c runs a subscription's callbacks.
  constexpr int64_t kWorthAThread = 50'000;  // ns of CPU
  constexpr int64_t kWaitsLong = 500'000;    // ns on the clock
  const bool waiting =
      (cpu_ns_.load(std::memory_order_relaxed) >= kWorthAThread ||
       call_ns_.load(std::memory_order_relaxed) >= kWaitsLong) &&
      backlog_ && backlog_();
  // A thread's CPU clock is a system call (about a microsecond): one call
  // in kCpuSample is measured.
  constexpr uint32_t kCpuSample = 8;
  const int64_t cpu_start =
      !waiting && calls_in_place_.fetch_add(1, std::memory_order_relaxed) %
                          kCpuSample ==
                      0
          ? ThreadCpuNanos()
          : -1;
  {
    AfterLock after(this);
    std::lock_guard<std::mutex> lock(mu_);
    if (leader_ != me) return;
    if (waiting) {
      PromoteLocked();
      return;
    }
    suspended_ = true;
    suspended_since_ = absl::Now();
  }
  cpu_sample_start = cpu_start;
  LongCallWatch::Get().CallBegan();
}

void ListenerCore::OnWillBlock() {
  AfterLock after(this);
  std::lock_guard<std::mutex> lock(mu_);
  if (suspended_ && leader_ == std::this_thread::get_id()) PromoteLocked();
}

void ListenerCore::CheckLongCall(absl::Time now, absl::Duration long_call) {
  AfterLock after(this);
  std::lock_guard<std::mutex> lock(mu_);
  if (suspended_ && now - suspended_since_ >= long_call) PromoteLocked();
}

ListenerCore::~ListenerCore() {
  // No task is left (each holds this core); what remains is the reaper.
  Close(absl::InfinitePast()).IgnoreError();
}

absl::Status ListenerCore::Accept(AcceptHandler handler) {
  if (!handler) return absl::InvalidArgumentError("accept handler is empty");
  // The blocking handler is a message call that holds its socket: it runs
  // for the first message and reads the others itself (Recv), so its
  // socket gets no other call.
  return StartServing(
      [handler = std::move(handler)](const std::shared_ptr<Socket>& socket,
                                     Message first) {
        handler(std::make_unique<AcceptedSocket>(socket, std::move(first)));
      },
      /*holds_sockets=*/true);
}

absl::Status ListenerCore::AcceptMessages(MessageHandler handler) {
  if (!handler) return absl::InvalidArgumentError("message handler is empty");
  return StartServing(std::move(handler), /*holds_sockets=*/false);
}

absl::Status ListenerCore::StartServing(MessageHandler handler,
                                        bool holds_sockets) {
  AfterLock after(this);
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return absl::FailedPreconditionError("listener is closed");
  if (handler_) {
    return absl::FailedPreconditionError("Accept was called already");
  }
  handler_ = std::move(handler);
  holds_sockets_ = holds_sockets;
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    auto next = std::next(it);  // Serve may erase `it`
    if (it->second.ready) Serve(it->first, it->second);
    it = next;
  }
  return absl::OkStatus();
}

absl::Status ListenerCore::CheckRoom(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return CheckRoomLocked(key);
}

absl::Status ListenerCore::CheckRoomLocked(const std::string& key) {
  if (closed_) return absl::FailedPreconditionError("the listener closed");
  if (max_sockets_ != 0 && sockets_.size() >= max_sockets_) {
    RememberEnded(key);  // what the client sends next is refused too
    return absl::ResourceExhaustedError(absl::StrCat(
        "the listener is full: ", max_sockets_, " sockets are open"));
  }
  return absl::OkStatus();
}

absl::Status ListenerCore::Add(const std::string& key,
                               std::shared_ptr<InboundQueue> inbound,
                               std::unique_ptr<Socket>* socket) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status room = CheckRoomLocked(key); !room.ok()) return room;
    Entry& entry = sockets_[key];
    entry.inbound = inbound;
    entry.socket = std::move(*socket);
  }
  // The queue may outlive this core (the backend finishes it later).
  inbound->SetOnReady([weak = weak_from_this(), key] {
    if (auto self = weak.lock()) self->OnReady(key);
  });
  return absl::OkStatus();
}

void ListenerCore::OnReady(const std::string& key) {
  AfterLock after(this);
  std::shared_ptr<Socket> overloaded;
  std::shared_ptr<InboundQueue> inbound;
  Deferred run_here;  // a call to run on this thread
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = sockets_.find(key);
    if (it == sockets_.end()) return;
    it->second.ready = true;
    if (!Overloaded(it->second)) {
      Serve(key, it->second, &run_here);
      lock.unlock();
      if (run_here.call) RunHere(std::move(run_here));
      return;
    }
    overloaded = it->second.shared;
    inbound = it->second.inbound;
  }
  // Outside the lock: the overload handler sends.
  absl::StatusOr<Message> message = inbound->Pop(absl::InfinitePast());
  if (message.ok()) {
    absl::Status error =
        Guarded([&] { on_overload_(overloaded, std::move(message).value()); });
    if (!error.ok()) {
      Report(absl::InternalError(absl::StrCat(
          "overload handler for socket '", key, "' threw: ", error.message())));
    }
    return;
  }
  // The queue finished: a handler call closes the socket.
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(key);
  if (it != sockets_.end()) Serve(key, it->second);
}

std::shared_ptr<Socket> ListenerCore::SharedSocket(Entry& entry) {
  if (entry.shared == nullptr) {
    entry.shared = std::make_shared<HandlerSocket>(
        std::move(entry.socket), entry.inbound, holds_sockets_);
    entry.calls = concurrency::SerialQueue::Create(pool_);
    entry.call = std::make_shared<const SocketCall>(
        SocketCall{weak_from_this(), entry.shared, entry.inbound});
  }
  return entry.shared;
}

bool ListenerCore::Overloaded(Entry& entry) {
  // A kept socket's messages (a stream's frames) always queue, in order:
  // shedding one would break its stream, and its memory is bounded by the
  // stream's window and the socket's PendingLimits.
  if (!handler_ || holds_sockets_ || !on_overload_ || entry.inbound->kept() ||
      max_waiting_messages_ == 0 || waiting_calls_ < max_waiting_messages_) {
    return false;
  }
  SharedSocket(entry);
  return true;
}

void ListenerCore::Serve(const std::string& key, Entry& entry,
                         Deferred* run_here) {
  if (!handler_) return;  // kept until Accept
  if (holds_sockets_) {
    // Its handler reads the rest itself.
    if (entry.started) return;
    entry.started = true;
  }
  ++tasks_;
  // A kept socket's calls do not count: a flowing stream must not make
  // other sockets' calls be shed.
  const bool counted = !entry.inbound->kept();
  if (counted) waiting_calls_.fetch_add(1, std::memory_order_relaxed);
  if (holds_sockets_ && tasks_ > max_calls_ && !told_sockets_wait_) {
    // Its client waits, maybe past its deadline, with no word of why.
    told_sockets_wait_ = true;
    ReportLocked(absl::ResourceExhaustedError(absl::StrCat(
        "socket '", key, "' waits for a handler thread: all ", max_calls_,
        " serve other sockets, each until its handler returns (Accept; "
        "AcceptMessages holds a thread only per message). Said once per "
        "listener")));
  }
  SharedSocket(entry);
  // One pointer: the task is stored in place, not allocated (hence two
  // lambdas rather than a captured flag).
  concurrency::Task call;
  if (counted) {
    call = [call = entry.call]() {
      if (auto core = call->core.lock()) core->RunMessageCall(*call, true);
    };
  } else {
    call = [call = entry.call]() {
      if (auto core = call->core.lock()) core->RunMessageCall(*call, false);
    };
  }
  // A blocking handler never runs on the thread that delivered its first
  // message (a memory sender would wait for it), except a leader's, which
  // hands the wire over before it waits.
  const bool inline_here = inline_handlers_ && !holds_sockets_;
  if (inline_here || leads_) {
    // In place when there is a free slot and nobody waits for one (no
    // overtaking); otherwise in turn, as calls end. Leading, only on the
    // leader's thread: never on a thread that routes replies or reaps.
    if (run_here != nullptr && (inline_here || leading_core == this) &&
        deferred_.empty() &&
        ActiveCalls() - 1 < max_calls_) {  // this one aside
      *run_here = {entry.calls, std::move(call), counted};
      return;
    }
    deferred_.push_back({entry.calls, std::move(call), counted});
    PumpDeferred();
    return;
  }
  absl::Status scheduled = entry.calls->Schedule(std::move(call));
  if (scheduled.ok()) return;
  if (counted) waiting_calls_.fetch_sub(1, std::memory_order_relaxed);
  // No thread to run it on: the socket ends, and its client hears. Both
  // after mu_ is released: the queue's Finish calls OnReady, and dropping
  // the socket tells the backend, which calls Remove.
  --tasks_;
  ReportLocked(absl::ResourceExhaustedError(absl::StrCat(
      "no thread to serve socket '", key, "': ", scheduled.message())));
  RememberEnded(key);  // before the erase: `key` may be the entry's own
  unserved_.push_back({std::move(entry), Unshared(scheduled)});
  sockets_.erase(key);
  after_lock_.store(true, std::memory_order_relaxed);
}

void ListenerCore::PumpDeferred() {
  // Each call deferred counts as active once it leaves deferred_.
  while (!deferred_.empty() && ActiveCalls() < max_calls_) {
    Deferred next = std::move(deferred_.front());
    deferred_.pop_front();
    absl::Status scheduled = next.calls->Schedule(std::move(next.call));
    if (!scheduled.ok()) {
      // The call is dropped: its socket's client sees no answer until its
      // own deadline; say why.
      --tasks_;
      if (next.counted) waiting_calls_.fetch_sub(1, std::memory_order_relaxed);
      ReportLocked(absl::ResourceExhaustedError(
          absl::StrCat("no thread to run a call: ", scheduled.message())));
    }
  }
}

void ListenerCore::RunMessageCall(const SocketCall& call, bool counted) {
  const std::shared_ptr<Socket>& socket = call.socket;
  InboundQueue* const inbound = call.inbound.get();
  const CallFrame frame{this, call_frames};
  call_frames = &frame;
  if (counted) waiting_calls_.fetch_sub(1, std::memory_order_relaxed);
  EnterCall();
  absl::Time arrived = absl::InfinitePast();
  absl::StatusOr<Message> message =
      inbound->Pop(absl::InfinitePast(), &arrived);
  if (message.ok()) {
    inbound->BeginWork();
    // What MessageArrived says in the call; a call run inside it (memory,
    // inline) sets its own, and this one's is back after.
    const absl::Time outer = message_arrived;
    message_arrived = arrived;
    // handler_ is set before the first call is scheduled and never again.
    absl::Status error =
        Guarded([&] { handler_(socket, std::move(message).value()); });
    message_arrived = outer;
    inbound->EndWork();
    if (!error.ok()) {
      Report(absl::InternalError(absl::StrCat(
          holds_sockets_ ? "accept" : "message", " handler for socket '",
          socket->RemoteAddress(), "' threw: ", error.message())));
      socket->Close().IgnoreError();
    }
  } else if (message.status().code() != absl::StatusCode::kDeadlineExceeded) {
    // The socket ended (its peer closed or vanished, it overflowed, the
    // listener closed): close this end, which frees it.
    socket->Close().IgnoreError();
  }
  call_frames = frame.outer;
  TaskDone();
}

void ListenerCore::TaskDone() {
  AfterLock after(this);
  std::lock_guard<std::mutex> lock(mu_);
  --tasks_;
  PumpDeferred();  // a slot is free (inline handlers)
  // Only Close waits for tasks (the reaper shares cv_: waking it for every
  // call would cost more than the call).
  if (closed_) cv_.notify_all();
}

void ListenerCore::Report(const absl::Status& error) {
  ReportError(on_error_, {"transport"}, error);
}

void ListenerCore::ReportLocked(absl::Status error) {
  reports_.push_back(std::move(error));
  after_lock_.store(true, std::memory_order_relaxed);
}

ListenerCore::AfterLock::~AfterLock() {
  // Set under mu_ by this thread, so seen here when it was.
  if (!core_->after_lock_.load(std::memory_order_relaxed)) return;
  std::vector<absl::Status> reports;
  std::vector<std::pair<Entry, absl::Status>> unserved;
  {
    std::lock_guard<std::mutex> lock(core_->mu_);
    reports.swap(core_->reports_);
    unserved.swap(core_->unserved_);
    core_->after_lock_.store(false, std::memory_order_relaxed);
  }
  for (const absl::Status& report : reports) core_->Report(report);
  for (auto& [entry, why] : unserved) {
    entry.inbound->Finish(std::move(why));
  }
  // The entries (their sockets) are dropped here: that tells the backend.
}

std::shared_ptr<InboundQueue> ListenerCore::Find(absl::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(key);
  return it == sockets_.end() ? nullptr : it->second.inbound;
}

void ListenerCore::Remove(const std::string& key) {
  Entry entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sockets_.find(key);
    if (it == sockets_.end()) return;
    entry = std::move(it->second);
    sockets_.erase(it);
    RememberEnded(key);
  }
  // Destroyed outside the lock: a socket never handed out tells the backend
  // it closed, which calls Remove again.
}

void ListenerCore::RememberEnded(const std::string& key) {
  // Long enough for anything in flight on loopback or a LAN; bounded, so a
  // storm of short sockets cannot grow it without limit.
  constexpr absl::Duration kMemory = absl::Seconds(10);
  constexpr size_t kMaxRemembered = 65536;
  const absl::Time now = absl::Now();
  while (!ended_order_.empty() && (now - ended_order_.front().first > kMemory ||
                                   ended_order_.size() >= kMaxRemembered)) {
    ended_.erase(ended_order_.front().second);
    ended_order_.pop_front();
  }
  if (ended_.insert(key).second) ended_order_.emplace_back(now, key);
}

bool ListenerCore::EndedLately(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_.count(key) != 0;
}

size_t ListenerCore::OpenSockets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sockets_.size();
}

bool ListenerCore::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void ListenerCore::EndAll(const absl::Status& why) {
  std::map<std::string, Entry, std::less<>> sockets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sockets.swap(sockets_);
    for (const auto& [key, entry] : sockets) RememberEnded(key);
  }
  for (auto& [key, entry] : sockets) {
    entry.inbound->Finish(why);
    notify_peer_closed_(key);
  }
}

absl::Status ListenerCore::Close(absl::Time deadline) {
  std::map<std::string, Entry, std::less<>> sockets;
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = !closed_;
    closed_ = true;
    sockets.swap(sockets_);
    cv_.notify_all();
  }
  if (first) LongCallWatch::Get().Unwatch(this);
  if (first) {
    for (auto& [key, entry] : sockets) {
      entry.inbound->Finish(absl::OutOfRangeError("the listener closed"));
      notify_peer_closed_(key);
    }
    sockets.clear();  // never handed out: closing them tells their peers
    reap_.Cancel();   // after it, no reaping runs or will run
  }
  // Handlers end once their Recv sees the finished queue. A handler that
  // closes the listener itself is not waited for.
  const int mine = CallsOnThisThread(this);
  std::unique_lock<std::mutex> lock(mu_);
  auto others_done = [&] { return tasks_ == mine && taking_ == 0; };
  if (concurrency::WaitUntil(cv_, lock, deadline, others_done)) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the listener closed, but ", tasks_ - mine,
      " handler call(s) were still running at the deadline; their sockets "
      "are ended and they finish on their own"));
}

void ListenerCore::ReapIdle() {
  std::vector<std::pair<std::string, Entry>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    const absl::Time cutoff = absl::Now() - idle_timeout_;
    for (auto it = sockets_.begin(); it != sockets_.end();) {
      if (it->second.inbound->IdleSince(cutoff)) {
        idle.emplace_back(it->first, std::move(it->second));
        RememberEnded(it->first);
        it = sockets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [key, entry] : idle) {
    entry.inbound->Finish(absl::OutOfRangeError(absl::StrCat(
        "closed after ", absl::FormatDuration(idle_timeout_), " idle")));
    notify_peer_closed_(key);
  }
  // Sockets never handed out close here, outside the lock.
}

}  // namespace micro_nats::transport::transport_internal
