// Copyright 2026 The micro-nats Authors.

#include "nats/subscription.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/drop_reporter.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "nats/status.h"
#include "nats/will_block.h"
#include "status/error_sink.h"
#include "status/status_macros.h"

namespace micro_nats::nats {
namespace {

// The longest a subscription's close waits for the server to confirm (a
// barrier against nats.c's reader; see Subscription::Close).
constexpr absl::Duration kCloseFlush = absl::Seconds(1);

// The longest Unsubscribe waits for an error report (on_error) running on
// another thread (Drain: to its deadline). Documented in subscription.h.
constexpr absl::Duration kReportWait = absl::Seconds(2);

// kAdaptive: calls in a row on the handler pool that returned within the
// budget without waiting before the subscription runs on the delivery
// thread. A handler that makes a nested call on every message shows it
// here, where its wait holds no delivery thread.
constexpr int kProvingCalls = 32;

// kAdaptive: a call over its budget sends the subscription back to the
// pool to prove itself again, with twice the calls each time (a call
// merely preempted on a busy machine is not held against it for ever; a
// handler that is slow every so often ends up staying on the pool).
constexpr int kMostOverrunsCounted = 10;  // 32 << 10: 32768 calls

// steady_clock for budgets too fine for the coarse clock (tests).
int64_t PreciseNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// A subscription's asynchronous error reports (its drops, nats.c's errors
// for it): none starts once Shut has been called, so Unsubscribe's return
// is the end of them, as of handler calls.
class Subscription::ErrorGate {
 public:
  // Unset `on_error`: the process error sink.
  explicit ErrorGate(std::function<void(const absl::Status&)> on_error)
      : on_error_(std::move(on_error)) {}

  void Report(const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_) return;
      reporting_.push_back(std::this_thread::get_id());
    }
    ReportError(on_error_, {"nats"}, status);
    std::lock_guard<std::mutex> lock(mu_);
    reporting_.erase(std::find(reporting_.begin(), reporting_.end(),
                               std::this_thread::get_id()));
    cv_.notify_all();
  }

  // Whether this thread is in Report (in on_error): a Close elsewhere may
  // be waiting for it.
  bool ReportingHere() const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::find(reporting_.begin(), reporting_.end(),
                     std::this_thread::get_id()) != reporting_.end();
  }

  // No report starts after this; waits until `deadline` for those running
  // (as Unsubscribe waits for a running handler call), except this
  // thread's own (a report that unsubscribes). False when one still ran.
  bool Shut(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    shut_ = true;
    const std::thread::id self = std::this_thread::get_id();
    return concurrency::WaitUntil(cv_, lock, deadline, [&] {
      return std::all_of(reporting_.begin(), reporting_.end(),
                         [&](std::thread::id id) { return id == self; });
    });
  }

 private:
  const std::function<void(const absl::Status&)> on_error_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shut_ = false;                       // guarded by mu_
  std::vector<std::thread::id> reporting_;  // guarded by mu_
};

// nats.c's internal subscribe (src/conn.h, the same from 3.0 to 3.9): with
// `prevent_pool` the subscription gets a delivery thread of its own even on
// a connection that uses the shared pool, as nats.c's own request replies
// do. nats.c has no public way to ask for that.
extern "C" natsStatus natsConn_subscribeImpl(
    natsSubscription** new_sub, natsConnection* nc, bool lock,
    const char* subject, const char* queue, int64_t timeout,
    natsMsgHandler handler, void* closure, bool prevent_pool, void* jetstream);

// A subscription's state, shared with nats.c's callbacks and the handler
// pool's tasks.
struct Subscription::State : public BlockingObserver {
  // kAdaptive, during a call: the handler is about to wait in our code (a
  // nested call's answer). Called on the calling thread, inside the call.
  void OnWillBlock() override { waited.store(true, std::memory_order_relaxed); }

  MessageHandler handler;
  natsSubscription* sub = nullptr;
  std::weak_ptr<State> self;
  std::string subject;
  // kHandlerPool and kAdaptive: the handler calls, in order; null for
  // kDeliveryThread and a thread of its own.
  std::shared_ptr<concurrency::SerialQueue> queue;
  size_t max_queued = 0;  // of `queue`; 0: no bound
  // kAdaptive: calls run on the handler pool until ProvingCalls() in a row
  // (`proven`) neither waited (`waited`) nor took longer than
  // `inline_budget_ns`; then on the delivery thread (`on_delivery_thread`,
  // written only there) until one does. One that waited sends it to the
  // pool for good (`on_pool_for_good`); one over budget to the pool to
  // prove itself again (`overruns`). Calls never overlap, so `waited` is
  // the current call's.
  bool adaptive = false;
  // A thread of its own (reply routing): messages are freed in place;
  // others go to nats.c's collector (see OnMessage).
  bool free_in_place = false;
  std::atomic<bool> on_delivery_thread{false};
  std::atomic<bool> waited{false};
  std::atomic<bool> on_pool_for_good{false};
  std::atomic<int> proven{0};
  std::atomic<int> overruns{0};
  int64_t inline_budget_ns = 0;
  int64_t (*now_ns)() = &PreciseNanos;
  int ProvingCalls() const {
    return kProvingCalls << overruns.load(std::memory_order_relaxed);
  }
  // Counts and reports what `queue` dropped.
  std::shared_ptr<concurrency::DropReporter> drops;
  // Every asynchronous error report of this subscription goes through it.
  std::shared_ptr<ErrorGate> errors;

  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;          // guarded by mu: no new handler calls
  std::thread::id delivering;   // guarded by mu: thread in the handler
  bool has_delivering = false;  // guarded by mu
  bool complete = false;        // guarded by mu: nats.c is done with it
  bool close_finished = false;  // guarded by mu: Close has returned
  size_t queued = 0;            // guarded by mu: messages in `queue`
  // kAdaptive: calls scheduled on `queue` and not yet returned. Atomic, not
  // under `mu`: a delivery thread that reads 0 (acquire) comes after every
  // such call, and neither side takes a lock more per message.
  std::atomic<size_t> on_queue{0};
};

absl::StatusOr<std::unique_ptr<Subscription>> Subscription::Create(
    std::shared_ptr<Connection> connection, absl::string_view subject,
    MessageHandler handler, SubscribeOptions options, bool own_thread) {
  const ConnectionOptions& conn_options = connection->options_;
  const std::shared_ptr<concurrency::ThreadPool>& handler_pool =
      connection->handler_pool_;
  auto state = std::make_shared<State>();
  state->self = state;
  state->handler = std::move(handler);
  state->subject = std::string(subject);
  const int max_pending = options.max_pending_msgs > 0
                              ? options.max_pending_msgs
                              : conn_options.max_pending_msgs_per_subscription;
  if (options.run_on == HandlerThread::kAdaptive) {
    state->adaptive = true;
    state->inline_budget_ns = absl::ToInt64Nanoseconds(options.inline_budget);
    // The coarse clock when it serves: twice a message, a read costs a
    // tenth of a precise one under a hypervisor's clock source.
    if (concurrency::CoarseClockServes(options.inline_budget)) {
      state->now_ns = &concurrency::CoarseMonotonicNanos;
    }
  }
  if (own_thread && nats_GetVersionNumber() >> 16 != 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("a subscription on a thread of its own needs nats.c 3.x "
                     "(found ",
                     nats_GetVersion(), ")"));
  }
  // Copies: a report may come after the Connection is gone.
  state->errors = std::make_shared<ErrorGate>(
      options.on_error ? options.on_error : conn_options.on_async_error);
  if (options.run_on == HandlerThread::kHandlerPool ||
      options.run_on == HandlerThread::kAdaptive) {
    state->queue = concurrency::SerialQueue::Create(handler_pool);
    state->max_queued = static_cast<size_t>(std::max(0, max_pending));
    state->drops = concurrency::DropReporter::Create(
        handler_pool, [subject = state->subject, max = state->max_queued,
                       errors = state->errors](int64_t count) {
          errors->Report(absl::ResourceExhaustedError(
              absl::StrCat("subscription '", subject, "': dropped ", count,
                           " message(s): the handler fell behind (more than ",
                           max, " waiting)")));
        });
  }
  const std::string& subject_str = state->subject;
  natsSubscription* sub = nullptr;
  natsStatus s = NATS_OK;
  state->free_in_place = own_thread;
  if (own_thread) {
    s = natsConn_subscribeImpl(&sub, connection->main_, /*lock=*/true,
                               subject_str.c_str(), /*queue=*/nullptr,
                               /*timeout=*/0, &OnMessage, state.get(),
                               /*prevent_pool=*/true, /*jetstream=*/nullptr);
  } else if (options.queue.empty()) {
    s = natsConnection_Subscribe(&sub, connection->main_, subject_str.c_str(),
                                 &OnMessage, state.get());
  } else {
    s = natsConnection_QueueSubscribe(
        &sub, connection->main_, subject_str.c_str(), options.queue.c_str(),
        &OnMessage, state.get());
  }
  MN_RETURN_IF_ERROR(
      FromNatsStatus(s, absl::StrCat("subscribe to '", subject, "'")));
  state->sub = sub;
  // nats.c may still call OnMessage after Unsubscribe returns (it then
  // returns at once); the state lives until nats.c's completion callback.
  auto* keep_alive = new std::shared_ptr<State>(state);
  s = natsSubscription_SetOnCompleteCB(sub, &OnComplete, keep_alive);
  if (s != NATS_OK) {
    delete keep_alive;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return FromNatsStatus(s, "subscription completion callback");
  }
  if (options.max_pending_msgs > 0 &&
      options.run_on != HandlerThread::kHandlerPool) {
    // Bytes unlimited (-1): the message count is the bound we promise. (A
    // kHandlerPool subscription's bound is on its own queue: nats.c's,
    // emptied as fast as messages come, keeps the connection's.)
    s = natsSubscription_SetPendingLimits(sub, options.max_pending_msgs, -1);
    if (s != NATS_OK) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
      return FromNatsStatus(s, "subscription pending limit");
    }
  }
  connection->AddErrorRoute(
      sub, subject_str, [errors = state->errors](const absl::Status& status) {
        errors->Report(status);
      });
  return std::unique_ptr<Subscription>(
      new Subscription(std::move(connection), subject_str, std::move(state)));
}

Subscription::Subscription(std::shared_ptr<Connection> connection,
                           std::string subject, std::shared_ptr<State> state)
    : connection_(std::move(connection)),
      subject_(std::move(subject)),
      state_(std::move(state)) {}

Subscription::~Subscription() { Unsubscribe().IgnoreError(); }

void Subscription::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                             void* closure) {
  auto* state = static_cast<State*>(closure);
  // Reply routing wakes for one message at a time: nats.c's collector would
  // add a wake-up of its thread per reply. Fan-out deliveries come many to a
  // wake-up, and the collector frees them in batches on the other core
  // (N = 256: 0.93-1.03x raw, against 0.71-0.81x freed in place).
  DeliveredMsgPtr owned(msg, ReleaseMsg{.now = state->free_in_place});
  if (state->queue == nullptr) {
    Deliver(*state, msg);
    return;
  }
  bool here = state->on_delivery_thread.load(std::memory_order_relaxed);
  if (state->adaptive && !here &&
      state->on_queue.load(std::memory_order_acquire) == 0) {
    // Proven: move to this thread once the pool has run every call it
    // holds, so the order stays. The pool's count is read first (acquire):
    // what its calls found (waited, over budget, proven) is seen after.
    here =
        !state->on_pool_for_good.load(std::memory_order_relaxed) &&
        state->proven.load(std::memory_order_relaxed) >= state->ProvingCalls();
    if (here) state->on_delivery_thread.store(true, std::memory_order_relaxed);
  }
  if (here) {
    // nats.c gives each subscription one delivery thread: the calls before
    // this one have returned, and later ones come after it.
    if (DeliverAdaptive(*state, msg)) {
      state->on_delivery_thread.store(false, std::memory_order_relaxed);
    }
    return;
  }
  // On nats.c's delivery thread: hand the message to the handler pool and
  // return, whatever the handler does.
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->closed) return;
    if (state->max_queued != 0 && state->queued >= state->max_queued) {
      state->drops->Dropped();
      return;
    }
    ++state->queued;
  }
  if (state->adaptive) state->on_queue.fetch_add(1, std::memory_order_relaxed);
  absl::Status scheduled = state->queue->Schedule(
      [self = state->self.lock(), owned = std::move(owned)]() mutable {
        bool backlog_empty = false;
        {
          std::lock_guard<std::mutex> lock(self->mu);
          backlog_empty = --self->queued == 0;
          self->cv.notify_all();
        }
        self->drops->Delivered(backlog_empty);
        if (self->adaptive) {
          DeliverAdaptive(*self, owned.get());
          self->on_queue.fetch_sub(1, std::memory_order_release);
        } else {
          Deliver(*self, owned.get());
        }
      });
  if (!scheduled.ok()) {
    {
      std::lock_guard<std::mutex> lock(state->mu);
      --state->queued;
      state->cv.notify_all();
    }
    if (state->adaptive) {
      state->on_queue.fetch_sub(1, std::memory_order_relaxed);
    }
    state->drops->Dropped();
  }
}

void Subscription::Deliver(State& state, natsMsg* msg) {
  {
    std::lock_guard<std::mutex> lock(state.mu);
    if (state.closed) return;
    state.delivering = std::this_thread::get_id();
    state.has_delivering = true;
  }
  state.handler(msg);
  std::lock_guard<std::mutex> lock(state.mu);
  state.has_delivering = false;
  state.cv.notify_all();
}

bool Subscription::DeliverAdaptive(State& state, natsMsg* msg) {
  state.waited.store(false, std::memory_order_relaxed);
  const int64_t start = state.now_ns();
  BlockingObserver* const outer = SetBlockingObserver(&state);
  Deliver(state, msg);
  SetBlockingObserver(outer);
  if (state.waited.load(std::memory_order_relaxed)) {
    state.on_pool_for_good.store(true, std::memory_order_relaxed);
    return true;
  }
  if (state.now_ns() - start > state.inline_budget_ns) {
    // Only the thread running the call writes these (calls never overlap).
    state.proven.store(0, std::memory_order_relaxed);
    const int overruns = state.overruns.load(std::memory_order_relaxed);
    if (overruns < kMostOverrunsCounted) {
      state.overruns.store(overruns + 1, std::memory_order_relaxed);
    }
    return true;
  }
  const int proven = state.proven.load(std::memory_order_relaxed);
  if (proven < state.ProvingCalls()) {
    state.proven.store(proven + 1, std::memory_order_relaxed);
  }
  return false;
}

bool Subscription::RunsOnDeliveryThread() const {
  return state_->on_delivery_thread.load(std::memory_order_relaxed);
}

void Subscription::OnComplete(void* closure) {
  auto* keep_alive = static_cast<std::shared_ptr<State>*>(closure);
  {
    State& state = **keep_alive;
    std::lock_guard<std::mutex> lock(state.mu);
    state.complete = true;
    state.cv.notify_all();
  }
  delete keep_alive;
}

absl::Status Subscription::Unsubscribe() {
  return Close(/*drain=*/false, absl::ZeroDuration());
}

absl::Status Subscription::Drain(absl::Duration timeout) {
  return Close(/*drain=*/true, timeout);
}

absl::Status Subscription::Close(bool drain, absl::Duration timeout) {
  const absl::Time deadline = concurrency::DeadlineIn(timeout);
  const std::thread::id self = std::this_thread::get_id();
  // In this subscription's on_error: a Close on another thread may be
  // waiting for this report to return.
  const bool in_report = state_->errors->ReportingHere();
  // A handler call still running, unless it is this thread's own.
  auto handler_done = [&] {
    return !state_->has_delivering || state_->delivering == self;
  };
  natsSubscription* sub = nullptr;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    sub = std::exchange(state_->sub, nullptr);
    if (sub == nullptr) {
      // Closed before (a Drain that timed out may have left a handler call
      // running), or closing now on another thread. From inside the
      // handler or on_error: return at once, the other Close waits for
      // us. Otherwise wait until that Close is done and no handler call
      // runs.
      if (drain || in_report ||
          (state_->has_delivering && state_->delivering == self)) {
        return absl::OkStatus();
      }
      state_->closed = true;
      state_->cv.wait(lock,
                      [&] { return state_->close_finished && handler_done(); });
      return absl::OkStatus();
    }
  }
  absl::Status status;
  if (drain) {
    // nats.c calls OnComplete once the drained subscription's last message
    // was handed to OnMessage; then the handler pool works through what it
    // holds. Both by the deadline.
    status = FromNatsStatus(natsSubscription_DrainTimeout(
                                sub, concurrency::ApiTimeoutMillis(
                                         concurrency::Remaining(deadline))),
                            absl::StrCat("drain '", subject_, "'"));
    std::unique_lock<std::mutex> lock(state_->mu);
    if (status.ok() && !concurrency::WaitUntil(state_->cv, lock, deadline, [&] {
          return state_->complete && state_->queued == 0 && handler_done();
        })) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "drain '", subject_, "': messages or a handler call ",
          "were still pending after ", absl::FormatDuration(timeout)));
    }
  }
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->closed = true;
  }
  if (!drain || !status.ok()) {
    // After the connection closed there is nothing to unsubscribe from.
    natsSubscription_Unsubscribe(sub);
  }
  if (!drain) {
    // Unsubscribe's promise: no handler call runs once it returns.
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, handler_done);
  }
  connection_->RemoveErrorRoute(sub);
  // Reports end here. Drops not reported yet are reported now, on this
  // thread, so the counts add up; a report running elsewhere is waited
  // for, Drain's to its deadline, Unsubscribe's for kReportWait: an
  // on_error stuck past that is told, not waited for without end.
  const absl::Time reports_deadline =
      drain ? deadline : concurrency::DeadlineIn(kReportWait);
  bool reports_ended = true;
  if (state_->drops != nullptr) {
    reports_ended = state_->drops->Close(reports_deadline);
  }
  reports_ended = state_->errors->Shut(reports_deadline) && reports_ended;
  if (!reports_ended) {
    absl::Status late = absl::DeadlineExceededError(
        absl::StrCat(drain ? "drain '" : "unsubscribe '", subject_,
                     "': its on_error was still running after ",
                     absl::FormatDuration(drain ? timeout : kReportWait),
                     "; that report ends after this returned"));
    if (drain) {
      if (status.ok()) status = std::move(late);
    } else {
      ReportError({"nats"}, late);  // not to on_error: that is the one stuck
    }
  }
  // nats.c 3.4.1's reader thread looks a subscription up and then locks it
  // without holding a reference, so freeing it right after Unsubscribe can
  // race with a message for it being parsed (seen under ASan). A flush is a
  // barrier: once its PONG is read, the reader is past every message sent
  // before it. Without a server there is no reader to wait for, and no
  // reason to wait a flush timeout; with one, the flush is bounded by the
  // caller's deadline (Drain) or kCloseFlush (Unsubscribe).
  if (connection_->IsConnected()) {
    const absl::Duration flush =
        drain ? std::min(kCloseFlush, concurrency::Remaining(deadline))
              : kCloseFlush;
    natsConnection_FlushTimeout(connection_->get(),
                                concurrency::ApiTimeoutMillis(flush));
  }
  natsSubscription_Destroy(sub);
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->close_finished = true;
  state_->cv.notify_all();
  return status;
}

int64_t Subscription::dropped() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  int64_t dropped = state_->drops != nullptr ? state_->drops->total() : 0;
  if (state_->sub != nullptr) {
    int64_t by_nats = 0;
    if (natsSubscription_GetDropped(state_->sub, &by_nats) == NATS_OK) {
      dropped += by_nats;
    }
  }
  return dropped;
}

}  // namespace micro_nats::nats
