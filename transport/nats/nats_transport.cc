// Copyright 2026 The micro-nats Authors.

#include "transport/nats/nats_transport.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "concurrency/wait.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "nats/status.h"
#include "nats/will_block.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "subject/subject.h"
#include "transport/internal/socket_core.h"

namespace micro_nats::transport {
namespace {

using transport_internal::InboundQueue;
using transport_internal::ListenerCore;
using transport_internal::QueueSocket;

enum class Control {
  kData,
  kOpen,
  kOpenAck,
  kClose,
  kRefused,
  kPing,
  kUnknown
};

Control ReadControl(natsMsg* msg) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, kControlHeader, &value) != NATS_OK ||
      value == nullptr) {
    return Control::kData;
  }
  if (std::strcmp(value, kControlOpen) == 0) return Control::kOpen;
  if (std::strcmp(value, kControlOpenAck) == 0) return Control::kOpenAck;
  if (std::strcmp(value, kControlClose) == 0) return Control::kClose;
  if (std::strcmp(value, kControlRefused) == 0) return Control::kRefused;
  if (std::strcmp(value, kControlPing) == 0) return Control::kPing;
  return Control::kUnknown;
}

Message ToMessage(natsMsg* msg) {
  Message message{nats::ReadHeaders(msg), std::string(nats::Body(msg))};
  message.headers.erase(kTokenHeader);  // the transport's, not the handler's
  return message;
}

// The token a message carries, or "".
std::string TokenOf(natsMsg* msg) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, kTokenHeader, &value) != NATS_OK ||
      value == nullptr) {
    return std::string();
  }
  return std::string(value);
}

std::string NewToken() {
  static thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

absl::Status PeerClosed() {
  return absl::OutOfRangeError("the peer closed the socket");
}

// `token`: the client socket's, on its first message (empty: none).
absl::Status SendData(nats::Connection& conn, const std::string& subject,
                      const std::string& reply, const Message& message,
                      const std::string& token = "") {
  MN_RETURN_IF_ERROR(ValidateMessage(
      message, static_cast<size_t>(std::max<int64_t>(0, conn.max_payload()))));
  if (token.empty()) {
    // The headers as they are: no copy.
    return conn.Publish(subject, message.body, reply, message.headers);
  }
  Headers headers = message.headers;
  headers[kTokenHeader] = token;
  return conn.Publish(subject, message.body, reply, headers);
}

absl::Status SendControl(nats::Connection& conn, const std::string& subject,
                         const std::string& reply, const char* control,
                         absl::string_view body = "",
                         const std::string& token = "") {
  Headers headers = {{kControlHeader, control}};
  if (!token.empty()) headers[kTokenHeader] = token;
  return conn.Publish(subject, body,
                      {.reply = reply, .headers = std::move(headers)});
}

// What a "refused" control message says: its body, bounded (it comes from
// the network).
absl::Status Refused(natsMsg* msg) {
  constexpr size_t kMaxReason = 512;
  absl::string_view reason = nats::Body(msg).substr(0, kMaxReason);
  if (reason.empty()) reason = "the listener refused the socket";
  return absl::ResourceExhaustedError(reason);
}

// Reports bad input from the wire once per listener or mux, and goes on.
void LogIgnored(std::once_flag& once, absl::string_view where,
                absl::string_view what) {
  std::call_once(once, [&] {
    ReportError({"transport", where},
                absl::InvalidArgumentError(
                    absl::StrCat("ignoring ", what, " (reported once)")));
  });
}

// ---------------------------------------------------------------------------
// Server side

// A listener's synchronous subscription, freed when its last user (the
// listener, the leader's take) lets go.
struct Wire {
  explicit Wire(std::shared_ptr<nats::Connection> conn)
      : conn(std::move(conn)) {}
  ~Wire() {
    if (sub == nullptr) return;
    natsSubscription_Unsubscribe(sub);
    // nats.c's reader may still be parsing a message for it: a flush is a
    // barrier (see nats::Subscription::Close).
    if (conn->IsConnected()) natsConnection_FlushTimeout(conn->get(), 1000);
    natsSubscription_Destroy(sub);
  }
  const std::shared_ptr<nats::Connection> conn;
  natsSubscription* sub = nullptr;
};

class ListenerState : public std::enable_shared_from_this<ListenerState> {
 public:
  ListenerState(std::shared_ptr<nats::Connection> conn,
                std::shared_ptr<nats::InboxMux> mux, std::string address,
                const ListenOptions& options)
      : conn_(std::move(conn)),
        mux_(std::move(mux)),
        address_(std::move(address)),
        max_pending_(options.max_pending),
        close_timeout_(options.close_timeout),
        core_(ListenerCore::Create(
            options, [this](const std::string& key) { TellClosed(key); },
            /*leads=*/true)) {}

  absl::Status Start() {
    // A synchronous subscription, read by the listener's own threads
    // (ListenerCore::Lead): a request's handler runs on the thread that
    // took it off the wire, never on nats.c's shared delivery threads,
    // which route replies (InboxMux) and must never wait for a handler.
    auto wire = std::make_shared<Wire>(conn_);
    MN_RETURN_IF_ERROR(
        nats::FromNatsStatus(natsConnection_SubscribeSync(
                                 &wire->sub, conn_->get(), address_.c_str()),
                             absl::StrCat("subscribe to '", address_, "'")));
    wire_ = wire;
    std::weak_ptr<ListenerState> weak = shared_from_this();
    core_->Lead(
        [wire, weak](absl::Duration timeout, concurrency::Task* route) {
          natsMsg* msg = nullptr;
          switch (natsSubscription_NextMsg(
              &msg, wire->sub, absl::ToInt64Milliseconds(timeout))) {
            case NATS_OK:
              // Two pointers, stored in the task itself (no allocation):
              // the leader runs the route right after this returns, while
              // it holds this function (and so `weak`).
              *route = [weak = &weak, owned = nats::NatsMsgPtr(msg)] {
                if (auto self = weak->lock()) self->OnMessage(owned.get());
              };
              return true;
            case NATS_TIMEOUT:
            case NATS_NO_RESPONDERS:  // a "503" sent here: nothing to route
              return true;
            case NATS_SLOW_CONSUMER:
              // What NATS dropped belonged to some socket: which is
              // unknown, so every socket ends, saying why.
              *route = [weak] {
                if (auto self = weak.lock()) {
                  self->core().EndAll(absl::ResourceExhaustedError(
                      "the listener lost messages (NATS: slow consumer), "
                      "its sockets ended"));
                }
              };
              return true;
            default:  // unsubscribed, or the connection closed
              return false;
          }
        },
        [wire] {
          int messages = 0;
          int bytes = 0;
          return natsSubscription_GetPending(wire->sub, &messages, &bytes) ==
                     NATS_OK &&
                 messages > 0;
        });
    // Registered at the server before Listen returns, so a Dial right
    // after finds it.
    return conn_->Flush(absl::Seconds(5));
  }

  absl::Status Close(absl::Time deadline) {
    // Ends the leader's wait on the wire; the subscription is freed once
    // nothing uses it (Wire).
    if (wire_ != nullptr) {
      natsSubscription_Unsubscribe(wire_->sub);
      // The server drops the interest before Close returns, so a Dial made
      // after it is refused at once (no responders) rather than taken by a
      // subscription that is gone and left unanswered. Bounded by the
      // deadline, so a server that is down does not hold Close.
      conn_
          ->Flush(std::clamp(deadline - absl::Now(), absl::ZeroDuration(),
                             absl::Seconds(1)))
          .IgnoreError();
    }
    return core_->Close(deadline);
  }

  const std::string& address() const { return address_; }
  ListenerCore& core() { return *core_; }
  absl::Duration close_timeout() const { return close_timeout_; }

 private:
  void OnMessage(natsMsg* msg) {
    const absl::string_view reply = nats::Reply(msg);
    if (reply.empty()) {
      LogIgnored(bad_input_, address_, "a message without a reply subject");
      return;
    }
    const Control control = ReadControl(msg);
    if (control == Control::kData) {
      // An open socket's message, the common case: no copy of its key.
      if (auto inbound = core_->Find(reply)) {
        // The socket's handler reads its backlog, then ResourceExhausted;
        // the client hears now. The key stays until the handler closes
        // the socket, so late messages are dropped, not a new socket.
        if (inbound->Push(ToMessage(msg))) TellClosed(std::string(reply));
        return;
      }
    }
    const std::string key(reply);
    switch (control) {
      case Control::kClose:
        if (auto inbound = core_->Find(key)) {
          if (!TokenMatches(key, msg)) {
            LogIgnored(bad_input_, address_,
                       "a close without its socket's token (forged?)");
            return;
          }
          inbound->Finish(PeerClosed());
          core_->Remove(key);
          ForgetToken(key);
        }
        return;
      case Control::kOpen:
        if (EnsureSocket(key, msg) != nullptr) {
          SendControl(*conn_, key, "", kControlOpenAck).IgnoreError();
        }
        return;
      case Control::kPing:
        // A client waiting for an answer asks whether its socket is still
        // here; silence means yes (NATS itself says when we are gone).
        if (core_->Find(key) == nullptr) TellClosed(key);
        return;
      case Control::kOpenAck:
      case Control::kRefused:
      case Control::kUnknown:
        LogIgnored(bad_input_, address_, "an unexpected control message");
        return;
      case Control::kData:
        if (auto inbound = EnsureSocket(key, msg)) {
          // The socket's handler reads its backlog, then ResourceExhausted;
          // the client hears now. The key stays until the handler closes
          // the socket, so late messages are dropped, not a new socket.
          if (inbound->Push(ToMessage(msg))) TellClosed(key);
        }
        return;
    }
  }

  // Tells the client of socket `key` that the listener is full, when
  // `why` says so (a closed listener just drops the socket).
  void TellRefused(const std::string& key, const absl::Status& why) {
    if (absl::IsResourceExhausted(why)) {
      SendControl(*conn_, key, "", kControlRefused, why.message())
          .IgnoreError();
    }
  }

  // Tells the client of socket `key` that the server side ended it.
  void TellClosed(const std::string& key) {
    SendControl(*conn_, key, "", kControlClose).IgnoreError();
  }

  // True when socket `key` started without a token (a peer written
  // elsewhere) or `msg` carries the one it started with.
  bool TokenMatches(const std::string& key, natsMsg* msg) {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    auto it = tokens_.find(key);
    return it == tokens_.end() || it->second == TokenOf(msg);
  }

  void ForgetToken(const std::string& key) {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    tokens_.erase(key);
  }

  // Messages are routed by one leader at a time, and a socket is added
  // before its first message's call can hand the wire over, so
  // find-then-add cannot race.
  // `first` is the message that opens the socket: its token is kept.
  std::shared_ptr<InboundQueue> EnsureSocket(const std::string& key,
                                             natsMsg* first) {
    if (auto inbound = core_->Find(key)) return inbound;
    if (core_->EndedLately(key)) {
      // Sent before the client heard its socket ended: not a new socket.
      // Say so again, in case the first close was lost.
      TellClosed(key);
      return nullptr;
    }
    if (absl::Status room = core_->CheckRoom(key); !room.ok()) {
      // Refused before anything is made for it: a flood of opens costs a
      // reply each, nothing more.
      TellRefused(key, room);
      return nullptr;
    }
    auto inbound = std::make_shared<InboundQueue>(max_pending_);
    // The server's messages carry a reply inbox of their own so that NATS
    // says "no responders" there when the client is gone (its process died
    // without closing): the handler's Recv then ends at once, not at the
    // idle timeout.
    const std::string back = mux_->Register(
        [inbound, key](natsMsg* msg) {
          if (natsMsg_IsNoResponders(msg)) {
            inbound->Finish(absl::UnavailableError(absl::StrCat(
                "the client at '", key, "' is gone (NATS: no responders)")));
          }
        },
        // A lost "no responders" could leave the socket waiting on a
        // client that is gone: it ends, saying why.
        [inbound](const absl::Status& lost) { inbound->Finish(lost); });
    std::weak_ptr<ListenerState> weak = shared_from_this();
    auto socket = std::make_unique<QueueSocket>(
        inbound,
        [conn = conn_, key, back](const Message& message) {
          return SendData(*conn, key, back, message);
        },
        [weak, mux = mux_, key, back] {
          mux->Unregister(back);
          if (auto self = weak.lock()) {
            // Forgotten before the client hears, so whatever it sends after
            // the close is refused (EndedLately), not taken for this socket.
            self->core_->Remove(key);
            self->ForgetToken(key);
            self->TellClosed(key);
          }
        },
        address_, key);
    std::unique_ptr<Socket> owned = std::move(socket);
    if (std::string token = TokenOf(first); !token.empty()) {
      std::lock_guard<std::mutex> lock(tokens_mu_);
      tokens_[key] = std::move(token);
    }
    absl::Status added = core_->Add(key, inbound, &owned);
    if (!added.ok()) {
      ForgetToken(key);
      // The client hears why before the socket, dropped here, says it
      // closed.
      TellRefused(key, added);
      return nullptr;
    }
    return inbound;
  }

  const std::shared_ptr<nats::Connection> conn_;
  const std::shared_ptr<nats::InboxMux> mux_;  // the sockets' reply inboxes
  const std::string address_;
  const PendingLimits max_pending_;
  std::once_flag bad_input_;
  std::shared_ptr<Wire> wire_;
  std::mutex tokens_mu_;
  // Each open socket's token, if its client sent one; bounded by the
  // sockets (erased as they end).
  std::map<std::string, std::string> tokens_;  // guarded by tokens_mu_
  const absl::Duration close_timeout_;
  // Last: the reaper uses the members above until Close.
  const std::shared_ptr<ListenerCore> core_;
};

class NatsListener : public Listener {
 public:
  explicit NatsListener(std::shared_ptr<ListenerState> state)
      : state_(std::move(state)) {}
  ~NatsListener() override { Close().IgnoreError(); }

  std::string Address() const override { return state_->address(); }
  absl::Status Accept(AcceptHandler handler) override {
    return state_->core().Accept(std::move(handler));
  }
  absl::Status AcceptMessages(MessageHandler handler) override {
    return state_->core().AcceptMessages(std::move(handler));
  }
  absl::Status Shutdown(absl::Time deadline) override {
    return state_->Close(deadline);
  }
  absl::Status Close() override {
    return Shutdown(concurrency::DeadlineIn(state_->close_timeout()));
  }
  size_t OpenSockets() const override { return state_->core().OpenSockets(); }
  size_t WaitingMessages() const override {
    return state_->core().WaitingMessages();
  }

 private:
  std::shared_ptr<ListenerState> state_;
};

// ---------------------------------------------------------------------------
// Client side

// One client socket's receiving end, and the answer to its Dial.
struct ClientEndpoint {
  ClientEndpoint(std::shared_ptr<nats::Connection> conn, std::string address,
                 PendingLimits max_pending)
      : conn(std::move(conn)),
        address(std::move(address)),
        inbound(std::make_shared<InboundQueue>(max_pending)) {}

  const std::shared_ptr<nats::Connection> conn;
  const std::string address;
  const std::shared_ptr<InboundQueue> inbound;
  // Sent on the open, the first data message and the close.
  const std::string token = NewToken();
  std::atomic<bool> token_sent{false};
  // A probe was sent since the last data message: a "no responders" now
  // may answer the probe, after a listener took the data (Delivery).
  std::atomic<bool> probed{false};
  std::mutex mu;
  std::string inbox;  // guarded by mu; set once registered
  std::condition_variable cv;
  bool answered = false;     // guarded by mu
  absl::Status dial_status;  // guarded by mu

  // Tells the listener this socket ended.
  void SendClose() {
    std::string from;
    {
      std::lock_guard<std::mutex> lock(mu);
      from = inbox;
    }
    SendControl(*conn, address, from, kControlClose, "", token).IgnoreError();
  }

  void Answer(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    if (answered) return;
    answered = true;
    dial_status = std::move(status);
    cv.notify_all();
  }
};

// What a client socket's inbox receives: the answer to its Dial, the
// listener's messages and its close, or NATS's "no responders".
void OnClientMessage(ClientEndpoint& endpoint, std::once_flag& bad_input,
                     natsMsg* msg) {
  if (natsMsg_IsNoResponders(msg)) {
    // Without a probe since the last data message it answers data: that
    // message reached nobody. (One answering a probe sent before it says
    // the listener was gone before it was sent: right all the same.)
    absl::Status gone = WithDelivery(
        absl::UnavailableError(absl::StrCat(
            "no listener at '", endpoint.address, "' (NATS: no responders)")),
        endpoint.probed.load(std::memory_order_acquire)
            ? Delivery::kMaybeDelivered
            : Delivery::kNotDelivered);
    endpoint.Answer(gone);
    endpoint.inbound->Finish(gone);
    return;
  }
  switch (ReadControl(msg)) {
    case Control::kOpenAck:
      endpoint.Answer(absl::OkStatus());
      return;
    case Control::kClose:
      endpoint.Answer(PeerClosed());
      endpoint.inbound->Finish(PeerClosed());
      return;
    case Control::kRefused: {
      const absl::Status refused = Refused(msg);
      endpoint.Answer(refused);
      // A copy that shares no reference count with what Dial returns: the
      // queue is freed on the mux's thread, and Debian's libabsl counts
      // Status references where TSan does not see them.
      endpoint.inbound->Finish(absl::Status(refused.code(), refused.message()));
      return;
    }
    case Control::kOpen:
    case Control::kPing:
    case Control::kUnknown:
      LogIgnored(bad_input, endpoint.address, "an unexpected control message");
      return;
    case Control::kData:
      endpoint.Answer(absl::OkStatus());  // a peer that skips the ack
      if (endpoint.inbound->Push(ToMessage(msg))) endpoint.SendClose();
      return;
  }
}

class NatsTransport : public Transport {
 public:
  explicit NatsTransport(std::shared_ptr<nats::Connection> conn)
      : conn_(std::move(conn)) {}

  // Subscribes the inbox now, so a transport that cannot work fails here.
  absl::Status Start() { return Mux().status(); }

  absl::StatusOr<std::unique_ptr<Listener>> Listen(
      absl::string_view address, ListenOptions options) override {
    std::string chosen =
        address.empty() ? conn_->Inbox() : std::string(address);
    MN_RETURN_IF_ERROR(
        ValidateSubject(chosen, SubjectKind::kConcrete, "transport address"));
    MN_ASSIGN_OR_RETURN(std::shared_ptr<nats::InboxMux> mux, Mux());
    auto state = std::make_shared<ListenerState>(conn_, std::move(mux),
                                                 std::move(chosen), options);
    MN_RETURN_IF_ERROR(state->Start());
    return std::make_unique<NatsListener>(std::move(state));
  }

  absl::StatusOr<std::unique_ptr<Socket>> Dial(absl::string_view address,
                                               DialOptions options) override {
    MN_RETURN_IF_ERROR(
        ValidateSubject(address, SubjectKind::kConcrete, "transport address"));
    MN_ASSIGN_OR_RETURN(std::shared_ptr<nats::InboxMux> mux, Mux());
    const std::string target(address);
    auto endpoint =
        std::make_shared<ClientEndpoint>(conn_, target, options.max_pending);
    const std::string inbox = mux->Register(
        [endpoint, bad_input = bad_input_](natsMsg* msg) {
          OnClientMessage(*endpoint, *bad_input, msg);
        },
        // Some message to this socket may be among those lost.
        [endpoint](const absl::Status& lost) {
          endpoint->Answer(lost);
          endpoint->inbound->Finish(absl::Status(lost.code(), lost.message()));
        });
    {
      std::lock_guard<std::mutex> lock(endpoint->mu);
      endpoint->inbox = inbox;
    }
    absl::Status status;
    if (options.handshake) {
      endpoint->token_sent = true;
      status =
          SendControl(*conn_, target, inbox, kControlOpen, "", endpoint->token);
      if (status.ok()) {
        nats::WillBlock();
        std::unique_lock<std::mutex> lock(endpoint->mu);
        if (!concurrency::WaitFor(endpoint->cv, lock, options.timeout,
                                  [&] { return endpoint->answered; })) {
          status = absl::DeadlineExceededError(
              absl::StrCat("the listener at '", address, "' did not answer in ",
                           absl::FormatDuration(options.timeout)));
        } else {
          // Unshared with the endpoint's, which the mux's thread frees.
          status = absl::Status(endpoint->dial_status.code(),
                                endpoint->dial_status.message());
        }
      }
    }
    if (!status.ok()) {
      if (absl::IsDeadlineExceeded(status)) {
        // The open may still arrive: the close that follows it frees what
        // it opened.
        SendControl(*conn_, target, inbox, kControlClose, "", endpoint->token)
            .IgnoreError();
      }
      mux->Unregister(inbox);
      return status;
    }
    auto socket = std::make_unique<QueueSocket>(
        endpoint->inbound,
        [conn = conn_, target, inbox, endpoint](const Message& message) {
          // Before it goes: its "no responders" must find it cleared.
          endpoint->probed.store(false, std::memory_order_release);
          // Send is called by one thread at a time.
          if (!endpoint->token_sent.load(std::memory_order_relaxed)) {
            absl::Status sent =
                SendData(*conn, target, inbox, message, endpoint->token);
            if (sent.ok()) {
              endpoint->token_sent.store(true, std::memory_order_relaxed);
            }
            return sent;
          }
          return SendData(*conn, target, inbox, message);
        },
        [mux, endpoint, inbox] {
          endpoint->SendClose();
          mux->Unregister(inbox);
        },
        inbox, target);
    socket->SetProbe(
        [conn = conn_, target, inbox, endpoint] {
          endpoint->probed.store(true, std::memory_order_release);
          SendControl(*conn, target, inbox, kControlPing).IgnoreError();
        },
        options.probe_interval);
    return socket;
  }

 private:
  absl::StatusOr<std::shared_ptr<nats::InboxMux>> Mux() {
    std::lock_guard<std::mutex> lock(mu_);
    if (mux_ == nullptr) {
      MN_ASSIGN_OR_RETURN(mux_, nats::InboxMux::Create(conn_));
    }
    return mux_;
  }

  const std::shared_ptr<nats::Connection> conn_;
  const std::shared_ptr<std::once_flag> bad_input_ =
      std::make_shared<std::once_flag>();
  std::mutex mu_;
  std::shared_ptr<nats::InboxMux> mux_;  // guarded by mu_; made on first Dial
};

}  // namespace

absl::StatusOr<std::unique_ptr<Transport>> NewNatsTransport(
    std::shared_ptr<nats::Connection> connection) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError(
        "NewNatsTransport: the connection is null");
  }
  auto transport = std::make_unique<NatsTransport>(std::move(connection));
  MN_RETURN_IF_ERROR(transport->Start());
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace micro_nats::transport
