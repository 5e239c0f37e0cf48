// Copyright 2026 The micro-nats Authors.

#include "nats/connection.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "concurrency/drop_reporter.h"
#include "concurrency/wait.h"
#include "nats/status.h"
#include "nats/will_block.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::nats {
namespace {

// How long a destructor waits for nats.c to finish its callbacks.
constexpr absl::Duration kCloseWait = absl::Seconds(5);

// Publishing is a hot path: the error message is only built on failure.
absl::Status PublishStatus(natsStatus s, absl::string_view subject) {
  if (s == NATS_OK) return absl::OkStatus();
  return FromNatsStatus(s, absl::StrCat("publish to '", subject, "'"));
}

int64_t Millis(absl::Duration d) { return concurrency::ApiTimeoutMillis(d); }

// How long the tail flusher waits for the server's PONG to its flush (the
// buffer is sent at once; the wait only paces the next one).
constexpr absl::Duration kTailFlushWait = absl::Milliseconds(100);

// The longest a subscription's close waits for the server to confirm (a
// barrier against nats.c's reader; see Subscription::Close).
constexpr absl::Duration kCloseFlush = absl::Seconds(1);

// The last subject this thread published to, checked (ValidateSubject,
// kConcrete) and NUL-terminated. Publishing checks every subject; a
// publisher usually sends to the same one again, and comparing bytes costs
// a fraction of checking them (and of nats.c's own publish).
struct CheckedSubjectCache {
  size_t size = 0;  // 0: empty (a subject is never empty)
  char bytes[kMaxSubjectLength + 1];
};
thread_local CheckedSubjectCache checked_subject;

// memcmp(a, b, n) == 0, inline for the usual lengths: a call to memcmp
// costs as much as the compare.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  if (n < 8) return std::memcmp(a, b, n) == 0;
  uint64_t x = 0, y = 0, diff = 0;
  for (size_t i = 0; i + 8 < n; i += 8) {
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    diff |= x ^ y;
  }
  std::memcpy(&x, a + n - 8, 8);
  std::memcpy(&y, b + n - 8, 8);
  return (diff | (x ^ y)) == 0;
}

struct OptionsDeleter {
  void operator()(natsOptions* opts) const { natsOptions_Destroy(opts); }
};

}  // namespace

const char* Connection::CheckedSubject(absl::string_view subject,
                                       absl::Status* invalid) {
  CheckedSubjectCache& cache = checked_subject;
  if (!subject.empty() && subject.size() == cache.size &&
      SameBytes(subject.data(), cache.bytes, cache.size)) {
    return cache.bytes;
  }
  *invalid = ValidateSubject(subject, SubjectKind::kConcrete);
  if (!invalid->ok()) return nullptr;
  // Valid: at most kMaxSubjectLength bytes.
  std::memcpy(cache.bytes, subject.data(), subject.size());
  cache.bytes[subject.size()] = '\0';
  cache.size = subject.size();
  return cache.bytes;
}

// A subscription's state, shared with nats.c's callbacks and the handler
// pool's tasks.
struct Subscription::State : public BlockingObserver {
  // kAdaptive, during a call on the delivery thread: the handler is about
  // to wait in our code (a nested call's answer), so later calls go to the
  // handler pool. Called on the delivery thread, inside the call.
  void OnWillBlock() override { on_pool = true; }

  MessageHandler handler;
  natsSubscription* sub = nullptr;
  std::weak_ptr<State> self;
  std::string subject;
  // kHandlerPool and kAdaptive: the handler calls, in order; null for
  // kDeliveryThread.
  std::shared_ptr<concurrency::SerialQueue> queue;
  size_t max_queued = 0;  // of `queue`; 0: no bound
  // kAdaptive: calls run on the delivery thread until one took longer than
  // `inline_budget`; then `on_pool` is set for good. Both only touched on
  // the subscription's one delivery thread.
  bool adaptive = false;
  bool on_pool = false;
  std::chrono::steady_clock::duration inline_budget{};
  // Counts and reports what `queue` dropped.
  std::shared_ptr<concurrency::DropReporter> drops;

  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;          // guarded by mu: no new handler calls
  std::thread::id delivering;   // guarded by mu: thread in the handler
  bool has_delivering = false;  // guarded by mu
  bool complete = false;        // guarded by mu: nats.c is done with it
  bool close_finished = false;  // guarded by mu: Close has returned
  size_t queued = 0;            // guarded by mu: messages in `queue`
};

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(ConnectionOptions options)
    : options_(std::move(options)),
      handler_pool_(
          std::make_shared<concurrency::ThreadPool>(options_.handler_threads)) {
}

absl::StatusOr<std::shared_ptr<Connection>> Connection::Connect(
    ConnectionOptions options) {
  if (options.servers.empty()) {
    return absl::InvalidArgumentError("ConnectionOptions.servers is empty");
  }
  MN_RETURN_IF_ERROR(ValidateSubject(options.inbox_prefix,
                                     SubjectKind::kConcrete,
                                     "ConnectionOptions.inbox_prefix"));
  std::shared_ptr<Connection> conn(new Connection(std::move(options)));
  MN_ASSIGN_OR_RETURN(conn->main_, conn->Open(/*send_asap=*/true));
  return conn;
}

absl::StatusOr<natsConnection*> Connection::Open(bool send_asap) {
  natsOptions* raw = nullptr;
  MN_RETURN_IF_ERROR(FromNatsStatus(natsOptions_Create(&raw), "nats options"));
  std::unique_ptr<natsOptions, OptionsDeleter> opts(raw);

  std::vector<const char*> servers;
  for (const std::string& s : options_.servers) servers.push_back(s.c_str());
  const std::string name =
      send_asap ? options_.name : absl::StrCat(options_.name, "-batching");
  const std::string where = absl::StrJoin(options_.servers, ",");

  natsStatus s = natsOptions_SetServers(opts.get(), servers.data(),
                                        static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts.get(), name.c_str());
  if (s == NATS_OK && !options_.user.empty()) {
    s = natsOptions_SetUserInfo(opts.get(), options_.user.c_str(),
                                options_.password.c_str());
  }
  if (s == NATS_OK && !options_.token.empty()) {
    s = natsOptions_SetToken(opts.get(), options_.token.c_str());
  }
  if (s == NATS_OK && options_.tls.has_value()) {
    const TlsOptions& tls = *options_.tls;
    s = natsOptions_SetSecure(opts.get(), true);
    if (s == NATS_OK && !tls.ca_file.empty()) {
      s = natsOptions_LoadCATrustedCertificates(opts.get(),
                                                tls.ca_file.c_str());
    }
    if (s == NATS_OK && !tls.cert_file.empty()) {
      s = natsOptions_LoadCertificatesChain(opts.get(), tls.cert_file.c_str(),
                                            tls.key_file.c_str());
    }
    if (s == NATS_OK && tls.skip_server_verification) {
      s = natsOptions_SkipServerVerification(opts.get(), true);
    }
  }
  if (s == NATS_OK) {
    s = natsOptions_SetTimeout(opts.get(), Millis(options_.connect_timeout));
  }
  if (s == NATS_OK) {
    s = natsOptions_SetAllowReconnect(opts.get(), options_.allow_reconnect);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetMaxReconnect(opts.get(),
                                    options_.max_reconnect_attempts);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectWait(opts.get(),
                                     Millis(options_.reconnect_wait));
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectBufSize(opts.get(),
                                        options_.reconnect_buffer_bytes);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetMaxPendingMsgs(
        opts.get(), options_.max_pending_msgs_per_subscription);
  }
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts.get(), send_asap);
  if (s == NATS_OK && options_.inbox_prefix != "_INBOX") {
    s = natsOptions_SetCustomInboxPrefix(opts.get(),
                                         options_.inbox_prefix.c_str());
  }
  if (s == NATS_OK) {
    // Process-wide: the pool only grows, so the largest size asked wins.
    s = nats_SetMessageDeliveryPoolSize(std::max(1, options_.delivery_threads));
  }
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts.get(), true);
  if (s == NATS_OK) {
    s = natsOptions_SetPingInterval(opts.get(), Millis(options_.ping_interval));
  }
  if (s == NATS_OK) {
    s = natsOptions_SetMaxPingsOut(opts.get(),
                                   std::max(1, options_.max_pings_out));
  }
  if (s == NATS_OK) {
    s = natsOptions_SetErrorHandler(opts.get(), &Connection::OnError, this);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetClosedCB(opts.get(), &Connection::OnClosed, this);
  }
  if (s == NATS_OK && send_asap) {
    s = natsOptions_SetDisconnectedCB(opts.get(), &Connection::OnDisconnected,
                                      this);
    if (s == NATS_OK) {
      s = natsOptions_SetReconnectedCB(opts.get(), &Connection::OnReconnected,
                                       this);
    }
  }
  MN_RETURN_IF_ERROR(FromNatsStatus(s, "invalid NATS connection options"));

  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts.get());
  if (s != NATS_OK) {
    absl::Status status =
        FromNatsStatus(s, absl::StrCat("connect to NATS at ", where));
    // Whatever nats.c says, failing to reach the servers is Unavailable.
    if (status.code() != absl::StatusCode::kUnauthenticated &&
        status.code() != absl::StatusCode::kInvalidArgument) {
      status = absl::UnavailableError(status.message());
    }
    return status;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++open_connections_;
  return nc;
}

Connection::~Connection() {
  {
    std::lock_guard<std::mutex> lock(tail_mu_);
    tail_stop_ = true;
  }
  tail_cv_.notify_all();
  for (natsConnection* nc : {main_, batching_.load()}) {
    if (nc != nullptr) natsConnection_Close(nc);
  }
  // Closed, its flush returns at once.
  if (tail_flusher_.joinable()) tail_flusher_.join();
  {
    // The closed callback is nats.c's last call with `this`: wait for it
    // before `this` goes away.
    std::unique_lock<std::mutex> lock(mu_);
    concurrency::WaitFor(closed_cv_, lock, kCloseWait,
                         [this] { return open_connections_ == 0; });
  }
  for (natsConnection* nc : {main_, batching_.load()}) {
    if (nc != nullptr) natsConnection_Destroy(nc);
  }
}

absl::StatusOr<natsConnection*> Connection::Batching() {
  if (natsConnection* nc = batching_.load(std::memory_order_acquire)) {
    return nc;
  }
  MN_ASSIGN_OR_RETURN(natsConnection * nc, Open(/*send_asap=*/false));
  natsConnection* extra = nullptr;
  natsConnection* result = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (batching_.load(std::memory_order_relaxed) == nullptr) {
      // Before publishers can see the connection (ArmTailFlush).
      if (options_.batched_idle_flush > absl::ZeroDuration()) {
        tail_flusher_ = std::thread([this, nc] { TailFlushLoop(nc); });
      }
      batching_.store(nc, std::memory_order_release);
    } else {
      extra = nc;  // another thread connected first
    }
    result = batching_.load(std::memory_order_relaxed);
  }
  if (extra != nullptr) {
    natsConnection_Close(extra);
    natsConnection_Destroy(extra);
  }
  return result;
}

absl::Status Connection::Publish(absl::string_view subject,
                                 absl::string_view body,
                                 const PublishOptions& options) {
  if (options.headers.empty()) {
    // No natsMsg to build: the cheap path for bulk publishing. Checked as
    // BuildMessage checks.
    if (options.reply.empty()) return Publish(subject, body, options.delivery);
    MN_RETURN_IF_ERROR(ValidateSubject(options.reply, SubjectKind::kConcrete,
                                       "reply subject"));
    absl::Status invalid;
    const char* subject_str = CheckedSubject(subject, &invalid);
    if (subject_str == nullptr) return invalid;
    MN_ASSIGN_OR_RETURN(natsConnection * nc, ConnectionFor(options.delivery));
    const natsStatus s = natsConnection_PublishRequest(
        nc, subject_str, options.reply.c_str(), body.data(),
        static_cast<int>(body.size()));
    if (s == NATS_OK) Published(options.delivery);
    return PublishStatus(s, subject);
  }
  MN_ASSIGN_OR_RETURN(NatsMsgPtr msg, BuildMessage(subject, options.reply,
                                                   options.headers, body));
  return PublishBuilt(msg.get(), options.delivery);
}

absl::Status Connection::Publish(absl::string_view subject,
                                 absl::string_view body, Delivery delivery) {
  absl::Status invalid;
  const char* subject_str = CheckedSubject(subject, &invalid);
  if (subject_str == nullptr) return invalid;
  natsConnection* nc = delivery == Delivery::kBatched
                           ? batching_.load(std::memory_order_acquire)
                           : main_;
  if (nc == nullptr) {
    // The first batched publish: connect first.
    const std::string copy(subject_str);
    MN_ASSIGN_OR_RETURN(nc, Batching());
    const natsStatus s = natsConnection_Publish(nc, copy.c_str(), body.data(),
                                                static_cast<int>(body.size()));
    if (s == NATS_OK) Published(delivery);
    return PublishStatus(s, subject);
  }
  const natsStatus s = natsConnection_Publish(nc, subject_str, body.data(),
                                              static_cast<int>(body.size()));
  if (s != NATS_OK) return PublishStatus(s, subject);
  Published(delivery);
  return absl::OkStatus();
}

void Connection::ArmTailFlush() {
  if (tail_armed_.exchange(true) ||
      options_.batched_idle_flush <= absl::ZeroDuration()) {
    return;
  }
  std::lock_guard<std::mutex> lock(tail_mu_);
  tail_cv_.notify_one();
}

void Connection::TailFlushLoop(natsConnection* nc) {
  const absl::Duration idle = options_.batched_idle_flush;
  std::unique_lock<std::mutex> lock(tail_mu_);
  while (true) {
    // Until a publish arms it or Close stops it (Close notifies).
    concurrency::WaitUntil(tail_cv_, lock, absl::InfiniteFuture(), [this] {
      return tail_stop_ || tail_armed_.load(std::memory_order_relaxed);
    });
    if (tail_stop_) return;
    // Watch the buffer: while it grows the burst goes on (and nats.c's
    // flusher sends it every ~1 ms); once it stood still for `idle`, or
    // nats.c emptied it, the burst is over.
    int before = -1;
    while (true) {
      lock.unlock();
      const int buffered = natsConnection_Buffered(nc);
      lock.lock();
      if (tail_stop_) return;
      if (buffered <= 0 || buffered == before) break;
      before = buffered;
      concurrency::WaitFor(tail_cv_, lock, idle, [this] { return tail_stop_; });
    }
    // Disarmed before the flush takes nats.c's lock: a publish buffered
    // after that lock sees it unarmed and arms again; one before is sent.
    tail_armed_.store(false);
    lock.unlock();
    if (natsConnection_Buffered(nc) > 0) {
      natsConnection_FlushTimeout(nc, Millis(kTailFlushWait));
    }
    lock.lock();
  }
}

absl::Status Connection::PublishMsg(natsMsg* msg, Delivery delivery) {
  // The message may come from nats.c's own natsMsg_Create, past
  // BuildMessage's checks.
  MN_RETURN_IF_ERROR(ValidateMessage(msg));
  return PublishBuilt(msg, delivery);
}

absl::Status Connection::PublishBuilt(natsMsg* msg, Delivery delivery) {
  MN_ASSIGN_OR_RETURN(natsConnection * nc, ConnectionFor(delivery));
  const natsStatus s = natsConnection_PublishMsg(nc, msg);
  if (s == NATS_OK) Published(delivery);
  return PublishStatus(s, natsMsg_GetSubject(msg));
}

absl::StatusOr<natsConnection*> Connection::ConnectionFor(Delivery delivery) {
  if (delivery == Delivery::kBatched) return Batching();
  return main_;
}

absl::StatusOr<NatsMsgPtr> Connection::Request(absl::string_view subject,
                                               absl::string_view body,
                                               const Headers& headers,
                                               absl::Time deadline) {
  const absl::Duration remaining = deadline - absl::Now();
  if (remaining <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat("request on '", subject, "': the deadline passed"));
  }
  MN_ASSIGN_OR_RETURN(NatsMsgPtr msg, BuildMessage(subject, "", headers, body));
  // A listener thread (or an inline broker handler) that asks must let
  // another take over its wire before it waits for the answer.
  WillBlock();
  natsMsg* reply = nullptr;
  MN_RETURN_IF_ERROR(FromNatsStatus(
      natsConnection_RequestMsg(&reply, main_, msg.get(), Millis(remaining)),
      absl::StrCat("request on '", subject, "'")));
  return NatsMsgPtr(reply);
}

absl::Status Connection::Flush(absl::Duration timeout) {
  if (natsConnection* batching = batching_.load(std::memory_order_acquire)) {
    MN_RETURN_IF_ERROR(FromNatsStatus(
        natsConnection_FlushTimeout(batching, Millis(timeout)), "flush"));
  }
  return FromNatsStatus(natsConnection_FlushTimeout(main_, Millis(timeout)),
                        "flush");
}

int64_t Connection::max_payload() const {
  return natsConnection_GetMaxPayload(main_);
}

bool Connection::IsConnected() const {
  return natsConnection_Status(main_) == NATS_CONN_STATUS_CONNECTED;
}

std::string Connection::ConnectedUrl() const {
  char buf[512] = {};
  if (natsConnection_GetConnectedUrl(main_, buf, sizeof(buf)) != NATS_OK) {
    return "";
  }
  return buf;
}

std::string Connection::NewInbox() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) {
    // Only fails when out of memory.
    std::abort();
  }
  std::string result(inbox);
  natsInbox_Destroy(inbox);
  return result;
}

std::string Connection::Inbox() const {
  if (options_.inbox_prefix == "_INBOX") return NewInbox();
  // NewInbox's nuid, under this connection's prefix.
  const std::string unique = NewInbox();
  return absl::StrCat(options_.inbox_prefix,
                      absl::string_view(unique).substr(sizeof("_INBOX") - 1));
}

absl::StatusOr<std::unique_ptr<Subscription>> Connection::Subscribe(
    absl::string_view subject, MessageHandler handler,
    SubscribeOptions options) {
  MN_RETURN_IF_ERROR(
      ValidateSubject(subject, SubjectKind::kPattern, "subscription subject"));
  if (!options.queue.empty()) {
    MN_RETURN_IF_ERROR(ValidateQueueName(options.queue));
  }
  auto state = std::make_shared<Subscription::State>();
  state->self = state;
  state->handler = std::move(handler);
  state->subject = std::string(subject);
  const int max_pending = options.max_pending_msgs > 0
                              ? options.max_pending_msgs
                              : options_.max_pending_msgs_per_subscription;
  if (options.run_on == HandlerThread::kAdaptive) {
    state->adaptive = true;
    state->inline_budget =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            absl::ToChronoNanoseconds(options.inline_budget));
  }
  if (options.run_on != HandlerThread::kDeliveryThread) {
    state->queue = concurrency::SerialQueue::Create(handler_pool_);
    state->max_queued = static_cast<size_t>(std::max(0, max_pending));
    // Copies: a report may come after the Connection is gone.
    state->drops = concurrency::DropReporter::Create(
        handler_pool_, [subject = state->subject, max = state->max_queued,
                        on_error = options.on_error,
                        fallback = options_.on_async_error](int64_t count) {
          const absl::Status status = absl::ResourceExhaustedError(
              absl::StrCat("subscription '", subject, "': dropped ", count,
                           " message(s): the handler fell behind (more than ",
                           max, " waiting)"));
          if (on_error) {
            on_error(status);
          } else if (fallback) {
            fallback(status);
          } else {
            std::fprintf(stderr, "micro-nats: %s\n", status.ToString().c_str());
          }
        });
  }
  const std::string& subject_str = state->subject;
  natsSubscription* sub = nullptr;
  natsStatus s =
      options.queue.empty()
          ? natsConnection_Subscribe(&sub, main_, subject_str.c_str(),
                                     &Subscription::OnMessage, state.get())
          : natsConnection_QueueSubscribe(
                &sub, main_, subject_str.c_str(), options.queue.c_str(),
                &Subscription::OnMessage, state.get());
  MN_RETURN_IF_ERROR(
      FromNatsStatus(s, absl::StrCat("subscribe to '", subject, "'")));
  state->sub = sub;
  // nats.c may still call OnMessage after Unsubscribe returns (it then
  // returns at once); the state lives until nats.c's completion callback.
  auto* keep_alive = new std::shared_ptr<Subscription::State>(state);
  s = natsSubscription_SetOnCompleteCB(sub, &Subscription::OnComplete,
                                       keep_alive);
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
  AddErrorRoute(sub, subject_str, std::move(options.on_error));
  return std::unique_ptr<Subscription>(
      new Subscription(shared_from_this(), subject_str, std::move(state)));
}

void Connection::AddErrorRoute(
    natsSubscription* sub, std::string subject,
    std::function<void(const absl::Status&)> on_error) {
  std::lock_guard<std::mutex> lock(mu_);
  error_routes_[sub] = {std::move(subject), std::move(on_error)};
}

void Connection::RemoveErrorRoute(natsSubscription* sub) {
  std::lock_guard<std::mutex> lock(mu_);
  error_routes_.erase(sub);
}

namespace {

// The subject nats-server named in a refused subscription ('Permissions
// Violation for Subscription to "x"'), or "" for any other error.
std::string RefusedSubscription(natsConnection* nc) {
  const char* text = nullptr;
  if (nc == nullptr) return "";
  natsConnection_GetLastError(nc, &text);
  if (text == nullptr) return "";
  constexpr absl::string_view kMarker = "Subscription to \"";
  const absl::string_view error(text);
  const size_t start = error.find(kMarker);
  if (start == absl::string_view::npos) return "";
  const size_t from = start + kMarker.size();
  const size_t end = error.find('"', from);
  if (end == absl::string_view::npos) return "";
  return std::string(error.substr(from, end - from));
}

}  // namespace

void Connection::RouteError(natsConnection* nc, natsSubscription* sub,
                            natsStatus err) {
  std::function<void(const absl::Status&)> callback;
  std::string context = "NATS asynchronous error";
  if (sub == nullptr && err == NATS_NOT_PERMITTED) {
    // nats.c reports a refused subscription without its natsSubscription:
    // find it by the subject the server named, so its own on_error hears.
    const std::string refused = RefusedSubscription(nc);
    std::vector<std::function<void(const absl::Status&)>> callbacks;
    if (!refused.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [unused, route] : error_routes_) {
        if (route.subject == refused && route.on_error) {
          callbacks.push_back(route.on_error);
        }
      }
    }
    if (!callbacks.empty()) {
      const absl::Status status = FromNatsStatus(
          err,
          absl::StrCat("subscription '", refused, "': the server refused it"));
      for (const auto& on_error : callbacks) on_error(status);
      return;
    }
  }
  if (sub != nullptr) {
    // Held while `sub` is read: RemoveErrorRoute, which takes mu_, comes
    // before the subscription is freed. One no longer routed is gone, and
    // its pointer is not followed.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = error_routes_.find(sub);
    if (it == error_routes_.end()) {
      context = "a subscription already closed";
    } else {
      callback = it->second.on_error;
      context = absl::StrCat("subscription '", it->second.subject, "'");
      int64_t dropped = 0;
      if (err == NATS_SLOW_CONSUMER &&
          natsSubscription_GetDropped(sub, &dropped) == NATS_OK) {
        absl::StrAppend(&context, ": NATS dropped ", dropped,
                        " message(s) so far, the handler fell behind");
      }
    }
  }
  if (!callback) callback = options_.on_async_error;
  const absl::Status status = FromNatsStatus(err, context);
  if (callback) {
    callback(status);
  } else {
    // A loss is never silent.
    std::fprintf(stderr, "micro-nats: %s\n", status.ToString().c_str());
  }
}

void Connection::OnError(natsConnection* nc, natsSubscription* sub,
                         natsStatus err, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  // A report may drop the last reference to this Connection (an on_error
  // holding the only owner of an InboxMux, say). Destroyed here, on
  // nats.c's callback thread, ~Connection could not see its closed
  // callback (it runs on this thread) and nats.c would call into freed
  // memory next: keep it alive, and let the last owner go elsewhere.
  std::shared_ptr<Connection> keep = self->weak_from_this().lock();
  self->RouteError(nc, sub, err);
  if (keep != nullptr && keep.use_count() == 1) {
    std::thread([last = std::move(keep)] {}).detach();
  }
}

void Connection::OnDisconnected(natsConnection*, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  if (self->options_.on_disconnected) self->options_.on_disconnected();
}

void Connection::OnReconnected(natsConnection*, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  if (self->options_.on_reconnected) self->options_.on_reconnected();
  std::vector<std::shared_ptr<const std::function<void()>>> listeners;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    for (const auto& [handle, listener] : self->reconnect_listeners_) {
      listeners.push_back(listener);
    }
  }
  for (const auto& listener : listeners) (*listener)();
}

uint64_t Connection::AddReconnectListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t handle = ++next_listener_;
  reconnect_listeners_.emplace(
      handle,
      std::make_shared<const std::function<void()>>(std::move(listener)));
  return handle;
}

void Connection::RemoveReconnectListener(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mu_);
  reconnect_listeners_.erase(handle);
}

void Connection::OnClosed(natsConnection*, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  std::lock_guard<std::mutex> lock(self->mu_);
  --self->open_connections_;
  self->closed_cv_.notify_all();
}

// ---------------------------------------------------------------------------
// Subscription

Subscription::Subscription(std::shared_ptr<Connection> connection,
                           std::string subject, std::shared_ptr<State> state)
    : connection_(std::move(connection)),
      subject_(std::move(subject)),
      state_(std::move(state)) {}

Subscription::~Subscription() { Unsubscribe().IgnoreError(); }

void Subscription::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                             void* closure) {
  NatsMsgPtr owned(msg);
  auto* state = static_cast<State*>(closure);
  if (state->queue == nullptr) {
    Deliver(*state, msg);
    return;
  }
  if (state->adaptive && !state->on_pool) {
    // nats.c gives each subscription one delivery thread: the calls before
    // this one have returned, and later ones come after it.
    const auto start = std::chrono::steady_clock::now();
    BlockingObserver* const outer = SetBlockingObserver(state);
    Deliver(*state, msg);
    SetBlockingObserver(outer);
    if (std::chrono::steady_clock::now() - start > state->inline_budget) {
      state->on_pool = true;
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
  absl::Status scheduled = state->queue->Schedule(
      [self = state->self.lock(), owned = std::move(owned)]() mutable {
        bool backlog_empty = false;
        {
          std::lock_guard<std::mutex> lock(self->mu);
          backlog_empty = --self->queued == 0;
          self->cv.notify_all();
        }
        self->drops->Delivered(backlog_empty);
        Deliver(*self, owned.get());
      });
  if (!scheduled.ok()) {
    {
      std::lock_guard<std::mutex> lock(state->mu);
      --state->queued;
      state->cv.notify_all();
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
      // handler: return at once, the other Close waits for us. Otherwise
      // wait until that Close is done and no handler call runs.
      if (drain || (state_->has_delivering && state_->delivering == self)) {
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
                                sub, Millis(concurrency::Remaining(deadline))),
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
    natsConnection_FlushTimeout(connection_->get(), Millis(flush));
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
