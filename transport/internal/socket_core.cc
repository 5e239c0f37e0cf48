// Copyright 2026 The micro-nats Authors.

#include "transport/internal/socket_core.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "status/status_macros.h"

namespace micro_nats::transport::transport_internal {
namespace {

// Waits on `cv` until `ready` or `deadline`; InfiniteFuture waits for ever
// (a time_point at the end of time overflows in the wait).
template <typename Pred>
bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
               absl::Time deadline, Pred ready) {
  if (deadline == absl::InfiniteFuture()) {
    cv.wait(lock, ready);
    return true;
  }
  return cv.wait_until(lock, absl::ToChronoTime(deadline), ready);
}

// A copy of `status` that shares no reference count with it. The queue and
// the callers of Recv live on different threads, and Debian's libabsl counts
// Status references in code TSan does not see: a shared count there reads as
// a race when the last holder frees it.
absl::Status Unshared(const absl::Status& status) {
  return absl::Status(status.code(), status.message());
}

}  // namespace

// ---------------------------------------------------------------------------
// InboundQueue

bool InboundQueue::Push(Message message) {
  const size_t bytes = MessageSize(message);
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
    cv_.notify_all();
    return true;
  }
  pending_bytes_ += bytes;
  messages_.push_back(std::move(message));
  Touch();
  cv_.notify_all();
  return false;
}

void InboundQueue::Finish(absl::Status why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_.ok()) finished_ = std::move(why);
  cv_.notify_all();
}

void InboundQueue::CloseLocal() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_locally_ = true;
  messages_.clear();
  pending_bytes_ = 0;
  cv_.notify_all();
}

absl::StatusOr<Message> InboundQueue::Pop(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  WaitUntil(cv_, lock, deadline, [this] {
    return closed_locally_ || !messages_.empty() || !finished_.ok();
  });
  if (closed_locally_) {
    return absl::FailedPreconditionError("socket is closed");
  }
  if (!messages_.empty()) {
    Message message = std::move(messages_.front());
    messages_.pop_front();
    pending_bytes_ -= MessageSize(message);
    Touch();
    return message;
  }
  if (!finished_.ok()) return Unshared(finished_);
  return absl::DeadlineExceededError("no message before the deadline");
}

absl::Status InboundQueue::SendableStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_locally_) {
    return absl::FailedPreconditionError("socket is closed");
  }
  return Unshared(finished_);
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

absl::StatusOr<Message> QueueSocket::Recv(absl::Time deadline) {
  return inbound_->Pop(deadline);
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

ListenerCore::ListenerCore(
    const ListenOptions& options,
    std::function<void(const std::string& key)> notify_peer_closed)
    : idle_timeout_(options.idle_timeout),
      on_error_(options.on_error),
      notify_peer_closed_(std::move(notify_peer_closed)) {
  if (idle_timeout_ > absl::ZeroDuration() &&
      idle_timeout_ != absl::InfiniteDuration()) {
    reaper_ = std::thread([this] { ReapIdle(); });
  }
}

ListenerCore::~ListenerCore() {
  Close();
  {
    // Including a handler that closed the listener itself: it must have
    // returned before its ListenerCore goes away.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return handlers_.empty(); });
  }
  JoinFinishedHandlers();
}

absl::Status ListenerCore::Accept(AcceptHandler handler) {
  if (!handler) return absl::InvalidArgumentError("accept handler is empty");
  std::vector<std::unique_ptr<Socket>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("listener is closed");
    if (handler_) {
      return absl::FailedPreconditionError("Accept was called already");
    }
    handler_ = std::move(handler);
    for (auto& socket : waiting_) StartHandler(std::move(socket));
    waiting_.clear();
  }
  return absl::OkStatus();
}

bool ListenerCore::Add(const std::string& key,
                       std::shared_ptr<InboundQueue> inbound,
                       std::unique_ptr<Socket> socket) {
  JoinFinishedHandlers();
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  sockets_[key] = std::move(inbound);
  if (handler_) {
    StartHandler(std::move(socket));
  } else {
    waiting_.push_back(std::move(socket));
  }
  return true;
}

void ListenerCore::StartHandler(std::unique_ptr<Socket> socket) {
  Socket* raw = socket.release();
  AcceptHandler handler = handler_;
  std::thread thread([this, raw, handler = std::move(handler)] {
    RunHandler(handler, std::unique_ptr<Socket>(raw));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handlers_.find(std::this_thread::get_id());
    finished_handlers_.push_back(std::move(it->second));
    handlers_.erase(it);
    cv_.notify_all();
  });
  const std::thread::id id = thread.get_id();
  handlers_.emplace(id, std::move(thread));  // mu_ is held: the thread waits
}

void ListenerCore::RunHandler(const AcceptHandler& handler,
                              std::unique_ptr<Socket> socket) {
  const std::string remote = socket->RemoteAddress();
  absl::Status error;
  try {
    handler(std::move(socket));  // closed when the handler is done with it
  } catch (const std::exception& e) {
    error = absl::InternalError(e.what());
  } catch (...) {
    error = absl::InternalError("a non-standard exception");
  }
  if (error.ok()) return;
  error = absl::InternalError(absl::StrCat(
      "accept handler for socket '", remote, "' threw: ", error.message()));
  if (on_error_) {
    on_error_(error);
  } else {
    std::fprintf(stderr, "micro-nats transport: %s\n",
                 error.ToString().c_str());
  }
}

void ListenerCore::JoinFinishedHandlers() {
  std::vector<std::thread> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished.swap(finished_handlers_);
  }
  for (std::thread& t : finished) t.join();
}

std::shared_ptr<InboundQueue> ListenerCore::Find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(key);
  return it == sockets_.end() ? nullptr : it->second;
}

void ListenerCore::Remove(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sockets_.erase(key) != 0) RememberEnded(key);
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

void ListenerCore::Close() {
  std::map<std::string, std::shared_ptr<InboundQueue>> sockets;
  std::vector<std::unique_ptr<Socket>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    sockets.swap(sockets_);
    waiting.swap(waiting_);
    cv_.notify_all();
  }
  for (auto& [key, inbound] : sockets) {
    inbound->Finish(absl::OutOfRangeError("the listener closed"));
    notify_peer_closed_(key);
  }
  waiting.clear();  // never handed out: closing them tells their peers
  if (reaper_.joinable()) reaper_.join();
  {
    // Handlers end once their Recv sees the finished queue. A handler that
    // closes the listener itself is not waited for.
    const std::thread::id self = std::this_thread::get_id();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] {
      return handlers_.empty() ||
             (handlers_.size() == 1 && handlers_.count(self) == 1);
    });
  }
  JoinFinishedHandlers();
}

void ListenerCore::ReapIdle() {
  const absl::Duration period =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(10), absl::Seconds(1));
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(period));
    if (closed_) break;
    const absl::Time now = absl::Now();
    std::vector<std::pair<std::string, std::shared_ptr<InboundQueue>>> idle;
    for (const auto& [key, inbound] : sockets_) {
      if (now - inbound->last_activity() > idle_timeout_) {
        idle.emplace_back(key, inbound);
      }
    }
    for (const auto& entry : idle) {
      sockets_.erase(entry.first);
      RememberEnded(entry.first);
    }
    lock.unlock();
    for (const auto& [key, inbound] : idle) {
      inbound->Finish(absl::OutOfRangeError(absl::StrCat(
          "closed after ", absl::FormatDuration(idle_timeout_), " idle")));
      notify_peer_closed_(key);
    }
    lock.lock();
  }
}

}  // namespace micro_nats::transport::transport_internal
