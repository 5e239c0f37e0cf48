// Copyright 2026 The micro-nats Authors.

#include "service/internal/stream_core.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/wait.h"
#include "service/errors.h"

namespace micro_nats::service::service_internal {
namespace {

constexpr struct {
  FrameKind kind;
  absl::string_view name;
} kKinds[] = {
    {FrameKind::kOpen, "open"},
    {FrameKind::kAccept, "accept"},
    {FrameKind::kMsg, "msg"},
    {FrameKind::kCredit, "credit"},
    {FrameKind::kHalfClose, "half-close"},
    {FrameKind::kEnd, "end"},
    {FrameKind::kCancel, "cancel"},
    {FrameKind::kPing, "ping"},
};

// A header's value, or null.
const std::string* Find(const Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

// A decimal number of at most 20 digits, no sign, no more than `max`.
absl::StatusOr<uint64_t> ParseNumber(const Headers& headers, const char* name,
                                     uint64_t max) {
  const std::string* value = Find(headers, name);
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("a stream frame without its ", name, " header"));
  }
  uint64_t number = 0;
  if (value->empty() || value->size() > 20 ||
      !std::all_of(value->begin(), value->end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(*value, &number) || number > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", name, " header '", value->substr(0, 24),
                     "' is not a number up to ", max));
  }
  return number;
}

int64_t NowNanos() { return absl::ToUnixNanos(concurrency::CoarseNow()); }

}  // namespace

absl::string_view FrameKindName(FrameKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

absl::StatusOr<FrameKind> KindOf(const Headers& headers) {
  const std::string* value = Find(headers, kStreamHeader);
  if (value == nullptr) return absl::NotFoundError("not a stream frame");
  for (const auto& k : kKinds) {
    if (k.name == *value) return k.kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "a stream frame of unknown kind '", value->substr(0, 24), "'"));
}

void SetKind(Headers* headers, FrameKind kind) {
  (*headers)[kStreamHeader] = std::string(FrameKindName(kind));
}

Message Frame(FrameKind kind) {
  Message frame;
  SetKind(&frame.headers, kind);
  return frame;
}

absl::StatusOr<StreamWindow> ParseWindow(const Headers& headers) {
  auto messages =
      ParseNumber(headers, kStreamMessagesHeader, kMaxWindowMessages);
  if (!messages.ok()) return messages.status();
  auto bytes = ParseNumber(headers, kStreamBytesHeader, kMaxWindowBytes);
  if (!bytes.ok()) return bytes.status();
  if (*messages == 0 || *bytes == 0) {
    return absl::InvalidArgumentError("a stream window of zero");
  }
  return StreamWindow{.messages = static_cast<size_t>(*messages),
                      .bytes = static_cast<size_t>(*bytes)};
}

void SetWindow(Headers* headers, StreamWindow window) {
  (*headers)[kStreamMessagesHeader] = absl::StrCat(window.messages);
  (*headers)[kStreamBytesHeader] = absl::StrCat(window.bytes);
}

absl::StatusOr<StreamWindow> ResolveWindow(StreamWindow window,
                                           StreamWindow fallback) {
  if (window.messages == 0) window.messages = fallback.messages;
  if (window.bytes == 0) window.bytes = fallback.bytes;
  if (window.messages == 0 || window.bytes == 0 ||
      window.messages > kMaxWindowMessages || window.bytes > kMaxWindowBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a stream window is 1 to ", kMaxWindowMessages,
                     " messages and 1 to ", kMaxWindowBytes, " bytes, not ",
                     window.messages, " and ", window.bytes));
  }
  return window;
}

absl::StatusOr<Counts> ParseCounts(const Headers& headers) {
  auto messages = ParseNumber(headers, kStreamMessagesHeader, ~uint64_t{0});
  if (!messages.ok()) return messages.status();
  auto bytes = ParseNumber(headers, kStreamBytesHeader, ~uint64_t{0});
  if (!bytes.ok()) return bytes.status();
  return Counts{.messages = *messages, .bytes = *bytes};
}

void SetCounts(Headers* headers, Counts counts) {
  (*headers)[kStreamMessagesHeader] = absl::StrCat(counts.messages);
  (*headers)[kStreamBytesHeader] = absl::StrCat(counts.bytes);
}

absl::StatusOr<absl::Duration> ParseKeepalive(const Headers& headers) {
  if (Find(headers, kStreamKeepaliveHeader) == nullptr) {
    return absl::ZeroDuration();
  }
  // Up to a day: beyond, no server reaps that late.
  auto nanos = ParseNumber(headers, kStreamKeepaliveHeader,
                           absl::ToInt64Nanoseconds(absl::Hours(24)));
  if (!nanos.ok()) return nanos.status();
  if (*nanos == 0) return absl::ZeroDuration();
  return std::max(kMinKeepalive,
                  absl::Nanoseconds(static_cast<int64_t>(*nanos)));
}

void StripStreamHeaders(Headers* headers) {
  for (auto it = headers->lower_bound(std::string(kStreamHeaderPrefix));
       it != headers->end() &&
       absl::StartsWith(it->first, kStreamHeaderPrefix);) {
    it = headers->erase(it);
  }
}

absl::Status CheckUserHeaders(const Headers& headers) {
  auto it = headers.lower_bound(std::string(kStreamHeaderPrefix));
  if (it != headers.end() && absl::StartsWith(it->first, kStreamHeaderPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("header '", it->first,
                                                   "' is the stream's own (",
                                                   kStreamHeaderPrefix, "*)"));
  }
  return absl::OkStatus();
}

bool WindowAdmits(StreamWindow window, uint64_t messages, uint64_t bytes,
                  uint64_t size) {
  if (messages == 0) return true;
  if (messages >= window.messages) return false;
  return bytes + size <= window.bytes || bytes * 2 < window.bytes;
}

absl::Status SendWindow::Credit(Counts consumed) {
  if (consumed.messages > sent_.messages || consumed.bytes > sent_.bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the peer credited ", consumed.messages, " messages and ",
                     consumed.bytes, " bytes read, of ", sent_.messages,
                     " and ", sent_.bytes, " sent"));
  }
  // Credits are cumulative: one overtaken by a later is stale.
  if (consumed.messages >= credited_.messages &&
      consumed.bytes >= credited_.bytes) {
    credited_ = consumed;
  }
  return absl::OkStatus();
}

absl::Status RecvWindow::Arrived(uint64_t size) {
  // Against what we told the peer, not what our user read: reads not yet
  // credited do not entitle it to more.
  const uint64_t messages = received_.messages - credited_.messages;
  const uint64_t bytes = received_.bytes - credited_.bytes;
  if (!WindowAdmits(own_, messages, bytes, size)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the peer sent beyond the stream's window (", own_.messages,
        " messages, ", own_.bytes, " bytes): ", messages, " messages and ",
        bytes, " bytes not credited, and ", size, " more bytes came"));
  }
  ++received_.messages;
  received_.bytes += size;
  return absl::OkStatus();
}

transport::PendingLimits StreamPendingLimits(StreamWindow window) {
  const uint64_t frames = window.messages + kStreamControlFrames;
  return {
      .messages = static_cast<size_t>(frames),
      .bytes = static_cast<size_t>(window.bytes + 2 * kStreamLargestMessage +
                                   frames * kStreamFrameOverhead)};
}

bool RecvWindow::Read(uint64_t size, Counts* credit) {
  ++read_.messages;
  read_.bytes += size;
  if ((read_.messages - credited_.messages) * 2 < own_.messages &&
      (read_.bytes - credited_.bytes) * 2 < own_.bytes) {
    return false;
  }
  credited_ = read_;
  *credit = read_;
  return true;
}

// ---------------------------------------------------------------------------
// StreamCore

StreamCore::StreamCore(Role role, std::shared_ptr<transport::Socket> socket,
                       StreamWindow own, StreamWindow peer, absl::Time deadline,
                       std::string service)
    : role_(role),
      socket_(std::move(socket)),
      own_(own),
      deadline_(deadline),
      service_(std::move(service)),
      recv_window_(own),
      send_window_(peer) {
  last_sent_ns_.store(NowNanos(), std::memory_order_relaxed);
}

StreamCore::~StreamCore() { socket_->Close().IgnoreError(); }

bool StreamCore::Ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !failed_.ok() || finished_ ||
         (role_ == Role::kClient && !recv_end_.ok());
}

void StreamCore::OnFrame(Message frame) {
  Message reply;
  bool close = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    OnFrameLocked(std::move(frame), &reply, &close);
  }
  if (close) TellAndClose(&reply, !reply.headers.empty());
}

void StreamCore::OnFrameLocked(Message frame, Message* reply, bool* close) {
  if (!failed_.ok() || finished_) return;  // over: late frames are moot
  absl::StatusOr<FrameKind> kind = KindOf(frame.headers);
  absl::Status error;
  const bool server = role_ == Role::kServer;
  if (!kind.ok()) {
    error = absl::IsNotFound(kind.status())
                ? absl::InvalidArgumentError(
                      "a message on a stream's socket that is no stream frame")
                : kind.status();
  } else {
    switch (*kind) {
      case FrameKind::kMsg: {
        if (!recv_end_.ok()) {
          error = absl::InvalidArgumentError(
              server ? "a stream message after the client's half-close"
                     : "a stream message after its end");
          break;
        }
        StripStreamHeaders(&frame.headers);
        error = recv_window_.Arrived(MessageSize(frame));
        if (!error.ok()) break;
        inbound_.push_back(std::move(frame));
        Changed();
        return;
      }
      case FrameKind::kCredit: {
        absl::StatusOr<Counts> counts = ParseCounts(frame.headers);
        error = counts.ok() ? send_window_.Credit(*counts) : counts.status();
        if (error.ok()) Changed();
        break;
      }
      case FrameKind::kHalfClose:
        if (!server || !recv_end_.ok()) {
          error = absl::InvalidArgumentError(
              "a half-close out of place on a stream");
          break;
        }
        recv_end_ = absl::OutOfRangeError(
            "the client half-closed the stream: nothing more comes");
        Changed();
        return;
      case FrameKind::kEnd: {
        if (server) {
          error = absl::InvalidArgumentError("an end frame from a client");
          break;
        }
        absl::Status status = absl::OutOfRangeError("the stream ended");
        if (const std::string* json = Find(frame.headers, kErrorHeader)) {
          status = ErrorFromJson(*json);
          if (status.ok()) status = absl::UnknownError("the stream failed");
        }
        recv_end_ = std::move(status);
        *close = true;  // the server closed its end after this
        Changed();
        return;
      }
      case FrameKind::kCancel:
        if (!server) {
          error = absl::InvalidArgumentError("a cancel frame from a server");
          break;
        }
        FailLocked(
            Find(frame.headers, kErrorHeader) != nullptr &&
                    absl::IsDeadlineExceeded(
                        ErrorFromJson(*Find(frame.headers, kErrorHeader)))
                ? absl::DeadlineExceededError(
                      "the stream's deadline passed (the client ended "
                      "it)")
                : absl::CancelledError("the client cancelled the stream"),
            /*tell_peer=*/false, reply);
        *close = true;
        return;
      case FrameKind::kPing:
        return;
      case FrameKind::kOpen:
      case FrameKind::kAccept:
        error = absl::InvalidArgumentError(
            absl::StrCat("a second ", FrameKindName(*kind), " on a stream"));
        break;
    }
  }
  if (error.ok()) return;
  FailLocked(error, /*tell_peer=*/true, reply);
  *close = true;
}

bool StreamCore::FailLocked(const absl::Status& why, bool tell_peer,
                            Message* reply) {
  // The client's stream ended with the server's end: nothing to cancel.
  if (!failed_.ok() || finished_ ||
      (role_ == Role::kClient && !recv_end_.ok())) {
    return false;
  }
  failed_ = why;
  failed_flag_->store(true);
  inbound_.clear();  // nobody reads them now
  Changed();
  if (tell_peer) {
    if (role_ == Role::kClient) {
      *reply = Frame(FrameKind::kCancel);
      // The handler sees the deadline as such, not as a cancel.
      if (absl::IsDeadlineExceeded(why)) {
        reply->headers[kErrorHeader] = ErrorToJson(why, service_);
      }
    } else {
      *reply = Frame(FrameKind::kEnd);
      reply->headers[kErrorHeader] = ErrorToJson(why, service_);
    }
  }
  return true;
}

void StreamCore::OnSocketEnd(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mu_);
  Message unused;
  if (role_ == Role::kServer) {
    FailLocked(absl::CancelledError(
                   absl::StrCat("the client went away (", why.message(), ")")),
               /*tell_peer=*/false, &unused);
    return;
  }
  // The server ends a stream with its end frame, read before this.
  if (!recv_end_.ok()) return;
  FailLocked(
      absl::IsUnavailable(why) || absl::IsResourceExhausted(why)
          ? absl::Status(why.code(),
                         absl::StrCat("the stream's server: ", why.message()))
          : absl::UnavailableError(
                absl::StrCat("the stream's server closed it without an end (",
                             why.message(), ")")),
      /*tell_peer=*/false, &unused);
}

absl::Status StreamCore::SendFrame(Message frame) {
  std::lock_guard<std::mutex> lock(send_mu_);
  absl::Status sent = socket_->Send(std::move(frame));
  last_sent_ns_.store(NowNanos(), std::memory_order_relaxed);
  return sent;
}

void StreamCore::TellAndClose(Message* reply, bool has_reply) {
  if (has_reply) SendFrame(std::move(*reply)).IgnoreError();
  socket_->Close().IgnoreError();
}

bool StreamCore::Wait(std::unique_lock<std::mutex>& lock, absl::Time until) {
  if (role_ == Role::kClient && !reading_) return ReadOne(lock, until);
  const uint64_t seen = generation_;
  return concurrency::WaitUntil(cv_, lock, until, [&] {
    return generation_ != seen || (role_ == Role::kClient && !reading_);
  });
}

bool StreamCore::ReadOne(std::unique_lock<std::mutex>& lock, absl::Time until) {
  reading_ = true;
  lock.unlock();
  // The caller's deadline as it is: a wait longer than the probe interval
  // asks whether the server still holds the socket (Unavailable if not).
  absl::StatusOr<Message> frame = socket_->Recv(until);
  Message reply;
  bool close = false;
  lock.lock();
  reading_ = false;
  Changed();  // another waiter may read now
  if (frame.ok()) {
    OnFrameLocked(std::move(frame).value(), &reply, &close);
  } else if (!absl::IsDeadlineExceeded(frame.status())) {
    lock.unlock();
    OnSocketEnd(frame.status());
    lock.lock();
  }
  if (close) {
    lock.unlock();
    TellAndClose(&reply, !reply.headers.empty());
    lock.lock();
  }
  return !absl::IsDeadlineExceeded(frame.status());
}

absl::Status StreamCore::TimedOut(std::unique_lock<std::mutex>& lock,
                                  absl::Time until, absl::string_view what) {
  if (role_ == Role::kClient && until >= deadline_ &&
      deadline_ != absl::InfiniteFuture()) {
    // The client ends its stream at the stream's deadline; the server's
    // handler sees its Context past the deadline, and the cancel.
    Message reply;
    const absl::Status why =
        absl::DeadlineExceededError("the stream's deadline passed");
    if (FailLocked(why, /*tell_peer=*/true, &reply)) {
      lock.unlock();
      TellAndClose(&reply, true);
      lock.lock();
    }
    return failed_.ok() ? why : failed_;
  }
  return absl::DeadlineExceededError(what);
}

absl::StatusOr<Message> StreamCore::Recv(absl::Time deadline) {
  const absl::Time until = Bound(deadline);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!failed_.ok()) return failed_;
    if (!inbound_.empty()) {
      Message message = std::move(inbound_.front());
      inbound_.pop_front();
      Counts credit;
      const bool due = recv_window_.Read(MessageSize(message), &credit);
      lock.unlock();
      if (due) {
        Message frame = Frame(FrameKind::kCredit);
        SetCounts(&frame.headers, credit);
        // Failing, the socket ended: the next call says so.
        SendFrame(std::move(frame)).IgnoreError();
      }
      return message;
    }
    if (!recv_end_.ok()) return recv_end_;
    if (finished_) return absl::FailedPreconditionError("the stream ended");
    if (!Wait(lock, until) && absl::Now() >= until) {
      return TimedOut(lock, until, "no stream message before the deadline");
    }
  }
}

absl::Status StreamCore::Send(Message message, absl::Time deadline) {
  if (absl::Status ours = CheckUserHeaders(message.headers); !ours.ok()) {
    return ours;
  }
  const uint64_t size = MessageSize(message);
  const absl::Time until = Bound(deadline);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!failed_.ok()) return failed_;
    if (role_ == Role::kClient && !recv_end_.ok()) return recv_end_;
    if (send_closed_) {
      return absl::OutOfRangeError(
          "the server ended the stream: Recv reads the rest and its end");
    }
    if (half_closed_) {
      return absl::FailedPreconditionError("Send after CloseSend");
    }
    if (finished_) return absl::FailedPreconditionError("the stream ended");
    if (send_window_.Admits(size)) break;
    if (!Wait(lock, until) && absl::Now() >= until) {
      return TimedOut(lock, until,
                      "the peer's stream window stayed full until the "
                      "deadline: the message was not sent");
    }
  }
  send_window_.Sent(size);
  lock.unlock();
  SetKind(&message.headers, FrameKind::kMsg);
  absl::Status sent = SendFrame(std::move(message));
  if (sent.ok()) return sent;
  lock.lock();
  send_window_.Unsent(size);
  return SendFailed(lock, sent, until);
}

absl::Status StreamCore::SendFailed(std::unique_lock<std::mutex>& lock,
                                    const absl::Status& sent,
                                    absl::Time until) {
  // Too large, a bad header: this message, not the stream.
  if (absl::IsInvalidArgument(sent)) return sent;
  if (role_ == Role::kClient) {
    // The socket ended under us: the server ended the stream, its
    // responses and end frame wait on the socket (or it vanished, which
    // the socket's Recv says). Not this end's failure: the send side
    // closes, and Recv reads on to the end as usual. The end's word, if it
    // comes by the caller's deadline, is Send's too; what is read
    // meanwhile queues for Recv (the window bounds it).
    send_closed_ = true;
    Changed();
    while (failed_.ok() && recv_end_.ok()) {
      if (!Wait(lock, until) && absl::Now() >= until) break;
    }
    if (!failed_.ok()) return failed_;
    if (!recv_end_.ok()) return recv_end_;
    return absl::OutOfRangeError(
        absl::StrCat("the server ended the stream (", sent.message(),
                     "): Recv reads the rest and its end"));
  }
  Message unused;
  FailLocked(absl::CancelledError(
                 absl::StrCat("the client went away (", sent.message(), ")")),
             false, &unused);
  return failed_;
}

absl::Status StreamCore::CloseSend() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (half_closed_) return absl::OkStatus();
    if (!failed_.ok()) return failed_;
    half_closed_ = true;
    // Nobody reads any more, or the socket is ending: the end says the rest.
    if (!recv_end_.ok() || send_closed_) return absl::OkStatus();
  }
  absl::Status sent = SendFrame(Frame(FrameKind::kHalfClose));
  // A server that ended meanwhile: its end says the rest.
  if (absl::IsOutOfRange(sent)) return absl::OkStatus();
  return sent;
}

bool StreamCore::Abort(const absl::Status& why, bool tell_peer) {
  Message reply;
  bool ended = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended = FailLocked(why, tell_peer, &reply);
  }
  TellAndClose(&reply, ended && tell_peer);
  return ended;
}

void StreamCore::Finish(const absl::Status& status, const Metadata& trailer) {
  bool tell = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tell = failed_.ok() && !finished_;
    finished_ = true;
    Changed();
  }
  if (tell) {
    Message end = Frame(FrameKind::kEnd);
    for (const auto& [key, value] : trailer) {
      if (!absl::StartsWith(key, kStreamHeaderPrefix)) {
        end.headers.emplace(key, value);
      }
    }
    if (!status.ok()) end.headers[kErrorHeader] = ErrorToJson(status, service_);
    absl::Status sent = SendFrame(std::move(end));
    if (absl::IsInvalidArgument(sent)) {
      // The trailer is what cannot go: say so instead.
      Message instead = Frame(FrameKind::kEnd);
      instead.headers[kErrorHeader] = ErrorToJson(
          absl::InternalError(absl::StrCat(
              "the stream's end could not be sent: ", sent.message())),
          service_);
      SendFrame(std::move(instead)).IgnoreError();
    }
  }
  socket_->Close().IgnoreError();
}

void StreamCore::Ping(absl::Duration interval) {
  if (role_ == Role::kClient && absl::Now() >= deadline_) {
    Abort(absl::DeadlineExceededError("the stream's deadline passed"), true);
    return;
  }
  if (Ended()) return;
  const int64_t last = last_sent_ns_.load(std::memory_order_relaxed);
  if (NowNanos() - last < absl::ToInt64Nanoseconds(interval) / 2) return;
  // A Send under way is activity, and may block (a full buffer): the
  // process timer must not wait for it.
  std::unique_lock<std::mutex> sending(send_mu_, std::try_to_lock);
  if (!sending.owns_lock()) return;
  socket_->Send(Frame(FrameKind::kPing)).IgnoreError();
  last_sent_ns_.store(NowNanos(), std::memory_order_relaxed);
}

}  // namespace micro_nats::service::service_internal
