// Copyright 2026 The micro-nats Authors.

#include "nats/connection.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "concurrency/scheduler.h"
#include "concurrency/wait.h"
#include "nats/status.h"
#include "nats/will_block.h"
#include "status/error_sink.h"
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

// The longest the tail flusher waits between two looks at a burst.
constexpr absl::Duration kTailLongestLook = absl::Milliseconds(1);

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

// Runs nats.c calls in order until the first one fails, as nats.c's IFOK
// does, and remembers which step that was: a failed option names itself.
class IfOk {
 public:
  // Calls `call(args...)` unless an earlier call failed.
  template <typename Call, typename... Args>
  void operator()(const char* step, Call&& call, Args&&... args) {
    if (status_ != NATS_OK) return;
    status_ =
        std::invoke(std::forward<Call>(call), std::forward<Args>(args)...);
    if (status_ != NATS_OK) failed_ = step;
  }

  // OK, or the first failure with `context` and the step that failed.
  absl::Status status(absl::string_view context) const {
    if (status_ == NATS_OK) return absl::OkStatus();
    return FromNatsStatus(status_, absl::StrCat(context, " (", failed_, ")"));
  }

 private:
  natsStatus status_ = NATS_OK;
  const char* failed_ = "";
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

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(ConnectionOptions options)
    : options_(std::move(options)),
      handler_pool_(
          std::make_shared<concurrency::ThreadPool>(options_.handler_threads)) {
  // Without a tail flusher nobody needs telling: publishes skip it.
  if (options_.batched_idle_flush <= absl::ZeroDuration()) {
    tail_state_.store(kTailPublished, std::memory_order_relaxed);
  }
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
  conn->max_payload_.store(natsConnection_GetMaxPayload(conn->main_),
                           std::memory_order_relaxed);
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

  natsOptions* const o = opts.get();
  IfOk set;
  set("servers", natsOptions_SetServers, o, servers.data(),
      static_cast<int>(servers.size()));
  set("name", natsOptions_SetName, o, name.c_str());
  if (!options_.user.empty()) {
    set("user", natsOptions_SetUserInfo, o, options_.user.c_str(),
        options_.password.c_str());
  }
  if (!options_.token.empty()) {
    set("token", natsOptions_SetToken, o, options_.token.c_str());
  }
  if (options_.tls.has_value()) {
    const TlsOptions& tls = *options_.tls;
    set("tls", natsOptions_SetSecure, o, true);
    if (!tls.ca_file.empty()) {
      set("tls.ca_file", natsOptions_LoadCATrustedCertificates, o,
          tls.ca_file.c_str());
    }
    if (!tls.cert_file.empty()) {
      set("tls.cert_file", natsOptions_LoadCertificatesChain, o,
          tls.cert_file.c_str(), tls.key_file.c_str());
    }
    if (tls.skip_server_verification) {
      set("tls.skip_server_verification", natsOptions_SkipServerVerification, o,
          true);
    }
  }
  set("connect_timeout", natsOptions_SetTimeout, o,
      Millis(options_.connect_timeout));
  set("allow_reconnect", natsOptions_SetAllowReconnect, o,
      options_.allow_reconnect);
  set("max_reconnect_attempts", natsOptions_SetMaxReconnect, o,
      options_.max_reconnect_attempts);
  set("reconnect_wait", natsOptions_SetReconnectWait, o,
      Millis(options_.reconnect_wait));
  set("reconnect_buffer_bytes", natsOptions_SetReconnectBufSize, o,
      options_.reconnect_buffer_bytes);
  set("max_pending_msgs_per_subscription", natsOptions_SetMaxPendingMsgs, o,
      options_.max_pending_msgs_per_subscription);
  set("send asap", natsOptions_SetSendAsap, o, send_asap);
  if (options_.inbox_prefix != "_INBOX") {
    set("inbox_prefix", natsOptions_SetCustomInboxPrefix, o,
        options_.inbox_prefix.c_str());
  }
  // Process-wide: the pool only grows, so the largest size asked wins.
  set("delivery_threads", nats_SetMessageDeliveryPoolSize,
      std::max(1, options_.delivery_threads));
  set("global message delivery", natsOptions_UseGlobalMessageDelivery, o, true);
  set("ping_interval", natsOptions_SetPingInterval, o,
      Millis(options_.ping_interval));
  set("max_pings_out", natsOptions_SetMaxPingsOut, o,
      std::max(1, options_.max_pings_out));
  set("error handler", natsOptions_SetErrorHandler, o, &Connection::OnError,
      this);
  set("closed callback", natsOptions_SetClosedCB, o, &Connection::OnClosed,
      this);
  if (send_asap) {
    set("disconnected callback", natsOptions_SetDisconnectedCB, o,
        &Connection::OnDisconnected, this);
    set("reconnected callback", natsOptions_SetReconnectedCB, o,
        &Connection::OnReconnected, this);
  }
  MN_RETURN_IF_ERROR(set.status("invalid NATS connection options"));

  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, o);
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
  return Publish(subject, body, options.reply, options.headers,
                 options.delivery);
}

absl::Status Connection::Publish(absl::string_view subject,
                                 absl::string_view body,
                                 absl::string_view reply,
                                 const Headers& headers, Delivery delivery) {
  if (headers.empty()) {
    // No natsMsg to build: the cheap path for bulk publishing. Checked as
    // BuildMessage checks.
    if (reply.empty()) return Publish(subject, body, delivery);
    MN_RETURN_IF_ERROR(
        ValidateSubject(reply, SubjectKind::kConcrete, "reply subject"));
    // Valid: at most kMaxSubjectLength bytes; nats.c wants it terminated.
    char reply_str[kMaxSubjectLength + 1];
    std::memcpy(reply_str, reply.data(), reply.size());
    reply_str[reply.size()] = '\0';
    absl::Status invalid;
    const char* subject_str = CheckedSubject(subject, &invalid);
    if (subject_str == nullptr) return invalid;
    MN_ASSIGN_OR_RETURN(natsConnection * nc, ConnectionFor(delivery));
    const natsStatus s = natsConnection_PublishRequest(
        nc, subject_str, reply_str, body.data(), static_cast<int>(body.size()));
    if (s == NATS_OK) Published(delivery);
    return PublishStatus(s, subject);
  }
  MN_ASSIGN_OR_RETURN(NatsMsgPtr msg,
                      BuildMessage(subject, reply, headers, body));
  return PublishBuilt(msg.get(), delivery);
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
  if (tail_state_.exchange(kTailPublished) != kTailIdle) {
    return;  // it is watching and will look again
  }
  std::lock_guard<std::mutex> lock(tail_mu_);
  tail_cv_.notify_one();
}

void Connection::TailFlushLoop(natsConnection* nc) {
  const absl::Duration idle = options_.batched_idle_flush;
  // While a burst goes on, nats.c's flusher sends every ~1 ms: past its
  // first millisecond, looking more often than that buys nothing and costs
  // a wake-up each.
  const absl::Duration longest = std::max(idle, kTailLongestLook);
  std::unique_lock<std::mutex> lock(tail_mu_);
  while (true) {
    // Until a publish wakes it or Close stops it (Close notifies).
    concurrency::WaitUntil(tail_cv_, lock, absl::InfiniteFuture(), [this] {
      return tail_stop_ || tail_state_.load() != kTailIdle;
    });
    if (tail_stop_) return;
    // Look every `idle` for the burst's first millisecond, then twice as
    // long each time up to `longest`: a short burst's tail waits about
    // `idle`, a long one costs a look per millisecond. Only atomics here:
    // nats.c's connection lock is the publishers'.
    const absl::Time burst = absl::Now();
    absl::Duration look = idle;
    tail_state_.store(kTailWatching);
    while (true) {
      concurrency::WaitFor(tail_cv_, lock, look, [this] { return tail_stop_; });
      if (tail_stop_) return;
      if (tail_state_.exchange(kTailWatching) == kTailPublished) {
        if (absl::Now() - burst >= longest) look = std::min(2 * look, longest);
        continue;
      }
      // No publish since the last look: the burst is over, unless one
      // comes now (then its exchange saw kTailWatching, and we look again).
      int watching = kTailWatching;
      if (tail_state_.compare_exchange_strong(watching, kTailIdle)) break;
    }
    // Idle before the flush takes nats.c's lock: a publish buffered after
    // that lock sees kTailIdle and wakes us again; one before is sent.
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
  const int64_t cached = max_payload_.load(std::memory_order_relaxed);
  // Zero before the first connect's value is in.
  return cached > 0 ? cached : natsConnection_GetMaxPayload(main_);
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
  switch (options.run_on) {
    case HandlerThread::kHandlerPool:
    case HandlerThread::kDeliveryThread:
    case HandlerThread::kAdaptive:
      break;
    default:
      // No thread per subscription for anyone: a thread of its own is
      // SubscribeOnOwnThread's, micro-nats' own.
      return absl::InvalidArgumentError(
          absl::StrCat("subscribe to '", subject, "': no such HandlerThread (",
                       static_cast<int>(options.run_on), ")"));
  }
  return Subscription::Create(shared_from_this(), subject, std::move(handler),
                              std::move(options));
}

absl::StatusOr<std::unique_ptr<Subscription>> Connection::SubscribeOnOwnThread(
    absl::string_view subject, MessageHandler handler,
    std::function<void(const absl::Status&)> on_error) {
  MN_RETURN_IF_ERROR(
      ValidateSubject(subject, SubjectKind::kPattern, "subscription subject"));
  return Subscription::Create(shared_from_this(), subject, std::move(handler),
                              {.on_error = std::move(on_error),
                               .run_on = HandlerThread::kDeliveryThread},
                              /*own_thread=*/true);
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
//
// nats.c hands the asynchronous error callback its own copy of the
// server's text as this thread's last error (nats_GetLastError): read that.
// The connection's last error (natsConnection_GetLastError) is a pointer
// into a buffer nats.c's reader thread rewrites, under a lock we cannot
// take, when the next error comes: reading it here raced with a burst of
// refusals (TSan, authorization_test), and could name the wrong subject.
std::string RefusedSubscription() {
  natsStatus ignored = NATS_OK;
  const char* text = nats_GetLastError(&ignored);
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
    const std::string refused = RefusedSubscription();
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
      // Its pointer may dangle: nothing more is known.
      context =
          "a subscription without an error route (closed already, or made "
          "on the nats.c connection directly without AddErrorRoute)";
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
  ReportError(callback, {"nats"}, status);  // a loss is never silent
}

namespace {

// Connections whose last owner let go on nats.c's callback thread, where
// ~Connection cannot run (it waits for a callback of that thread): they
// are released on the process Scheduler's thread instead, whose threads
// are bounded and joined by its Shutdown. Lives for the process: the
// task's handle.
class LastOwners {
 public:
  static void Release(std::shared_ptr<Connection> last) {
    static auto* const owners = new LastOwners();
    {
      std::lock_guard<std::mutex> lock(owners->mu_);
      owners->pending_.push_back(std::move(last));
    }
    owners->task_.RunSoon();
  }

 private:
  LastOwners()
      : task_(concurrency::Scheduler::Default().OnDemand([this] {
          std::vector<std::shared_ptr<Connection>> taken;
          {
            std::lock_guard<std::mutex> lock(mu_);
            taken.swap(pending_);
          }
          // Destroyed here, outside the lock.
        })) {}

  std::mutex mu_;
  std::vector<std::shared_ptr<Connection>> pending_;  // guarded by mu_
  concurrency::ScheduledTask task_;
};

}  // namespace

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
  // Always handed over: "am I the last?" (use_count) could change right
  // after it is asked. Async errors are rare.
  if (keep != nullptr) LastOwners::Release(std::move(keep));
}

void Connection::OnDisconnected(natsConnection*, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  if (self->options_.on_disconnected) self->options_.on_disconnected();
}

void Connection::OnReconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  // The server now may be another, with another limit.
  self->max_payload_.store(natsConnection_GetMaxPayload(nc),
                           std::memory_order_relaxed);
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

}  // namespace micro_nats::nats
