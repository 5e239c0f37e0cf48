// Copyright 2026 The micro-nats Authors.
//
// transport.h: synchronous request/response over pseudo-connections.
//
// The transport is go-micro's building block for calls: a server listens on
// an address and handles each new socket; a client dials the address and
// exchanges messages on its socket. On NATS a "connection" is a pair of
// subjects (the listener's address and the client's inbox), not a TCP
// stream, but the semantics below hold for every backend:
//   - messages on one socket arrive in order, in both directions;
//   - Recv after the peer closed returns what was already sent, then
//     OutOfRange ("peer closed"), never a hang;
//   - closing a listener closes its sockets (their peers see OutOfRange);
//   - Dial to an address nobody listens on is Unavailable;
//   - once a socket sent to a peer that vanished without closing (its
//     process died), Recv returns Unavailable promptly, not at the
//     deadline;
//   - a socket holds a bounded backlog of unread messages (PendingLimits):
//     a message beyond it ends the socket (Recv returns what is queued, then
//     ResourceExhausted) and its peer sees it closed (OutOfRange). Nothing
//     is dropped silently.
//
//   auto listener = transport->Listen("", {});  // a unique address
//   (*listener)->Accept([](std::unique_ptr<Socket> socket) {
//     while (true) {
//       auto request = socket->Recv(absl::InfiniteFuture());
//       if (!request.ok()) return;  // peer closed, listener closed
//       socket->Send({.body = Handle(request->body)}).IgnoreError();
//     }
//   });
//   auto client = transport->Dial((*listener)->Address(), {});
//   (*client)->Send({.body = "hi"});
//   auto reply = (*client)->Recv(absl::Now() + absl::Seconds(1));
//
// Backends: transport/memory, transport/nats, transport/mock (gmock);
// transport/testing holds the conformance suite every backend passes.

#ifndef MICRO_NATS_TRANSPORT_TRANSPORT_H_
#define MICRO_NATS_TRANSPORT_TRANSPORT_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "concurrency/thread_pool.h"
#include "message/message.h"

namespace micro_nats::transport {

// One message type and one header check for every block (message.h).
using Headers = ::micro_nats::Headers;
using Message = ::micro_nats::Message;
using ::micro_nats::MessageSize;

// Header names starting with this prefix are the transport's own; Send
// rejects them with InvalidArgument.
inline constexpr absl::string_view kReservedHeaderPrefix = "Micro-Transport-";

// Socket
//
// One end of a pseudo-connection. Send and Recv may be called from
// different threads; each of them from one thread at a time.
class Socket {
 public:
  virtual ~Socket() = default;

  // Sends `message` to the peer. InvalidArgument when it is larger than the
  // backend allows or uses a reserved header; FailedPrecondition after
  // Close; OutOfRange after the peer closed.
  virtual absl::Status Send(const Message& message) = 0;
  // As above, but the socket may take `message`'s contents instead of
  // copying them (the memory backend delivers them so); it is left valid
  // but unspecified. By default, Send(const Message&).
  virtual absl::Status Send(Message&& message) {
    return Send(static_cast<const Message&>(message));
  }
  // Whether Send(Message&&) takes the message's contents rather than
  // copying them (the memory backend): a caller that needs the message
  // again keeps a copy of it only then.
  virtual bool TakesMessages() const { return false; }

  // Returns the next message from the peer, waiting until `deadline`
  // (DeadlineExceeded). OutOfRange once the peer closed and everything it
  // sent was received; Unavailable when the peer vanished;
  // ResourceExhausted when the unread backlog outgrew its PendingLimits
  // (the socket ended); FailedPrecondition after Close.
  virtual absl::StatusOr<Message> Recv(absl::Time deadline) = 0;

  // Closes this end and tells the peer. Idempotent.
  virtual absl::Status Close() = 0;

  // For a MessageHandler that keeps its socket beyond its calls (a
  // service stream): `on_end` is called once when the socket ends other
  // than by this end's Close — its peer closed or vanished, it overflowed,
  // it was reaped idle, the listener closed — with why; at once, on this
  // thread, when it ended already. It runs on the thread that ended the
  // socket (it must not block), maybe before the handler got the messages
  // that came before the end. Unimplemented on other sockets (a client's,
  // an AcceptHandler's: their Recv says it).
  // Registering it also marks the socket as kept: from then on its
  // messages are never load-shed (ListenOptions::max_waiting_messages).
  virtual absl::Status NotifyOnEnd(
      std::function<void(const absl::Status& why)> on_end) {
    return absl::UnimplementedError(
        "NotifyOnEnd is for sockets a MessageHandler serves");
  }

  // This end's address and the peer's. For a client socket the remote
  // address is the listener's address.
  virtual std::string LocalAddress() const = 0;
  virtual std::string RemoteAddress() const = 0;
};

// Called once per server-side socket, when its first message arrives (a
// socket that ends before sending anything is never handed out), on a
// thread of the listener's pool that it holds until it returns; the socket
// is closed then (or when it throws: see ListenOptions::on_error).
using AcceptHandler = std::function<void(std::unique_ptr<Socket> socket)>;

// Called for each message a server-side socket receives, on a thread of the
// listener's pool (on NATS the one that took the message off the wire),
// which it holds only for the call. Calls for one socket
// run one at a time, in arrival order. `socket` answers (Send) and ends the
// socket (Close); its Recv is FailedPrecondition, since messages come to
// the handler. It may be kept to answer later. A handler that throws ends
// its socket (ListenOptions::on_error is told).
using MessageHandler =
    std::function<void(const std::shared_ptr<Socket>& socket, Message message)>;

namespace transport_internal {
// What MessageArrived returns on this thread (set by the listeners).
inline thread_local absl::Time message_arrived = absl::InfinitePast();
}  // namespace transport_internal

// In a MessageHandler's call: when its message arrived at the listener
// (taken off the wire, or sent on memory, and queued for a handler
// thread), so a server can count the time it waited. Read on the coarse
// clock (concurrency/coarse_clock.h: up to a tick early), so measure the
// wait against another coarse read. InfinitePast outside such a call.
inline absl::Time MessageArrived() {
  return transport_internal::message_arrived;
}

// Listener
//
// Thread-safe.
class Listener {
 public:
  virtual ~Listener() = default;

  // The address clients dial.
  virtual std::string Address() const = 0;

  // Starts handing sockets to `handler` and returns at once. Sockets
  // dialled before Accept wait for it. Simple, but each socket being served
  // holds a thread: at most the pool's size are served at once, the others
  // wait (the first time one does, on_error is told), and their clients
  // may time out. A Recv that timed out leaves its answer to the socket's
  // next Recv (messages stay in order, on their own socket only): close
  // the socket after a timeout, or match answers to requests, as the
  // service client does (Micro-Id). FailedPrecondition when called twice
  // (or after AcceptMessages) or after Close.
  virtual absl::Status Accept(AcceptHandler handler) = 0;

  // As Accept, but hands each message to `handler` as it arrives: sockets
  // hold no thread between messages, so any number of them is served by
  // the pool. What a server with many clients (the service server) uses.
  virtual absl::Status AcceptMessages(MessageHandler handler) = 0;

  // Stops listening, ends every socket (their peers see OutOfRange; a
  // handler's Recv returns what was queued, then OutOfRange) and waits for
  // the handlers to return, by `deadline` (as gRPC's Shutdown). After it,
  // DeadlineExceeded says how many handler calls still run: they finish on
  // their own, on sockets that are ended. A handler that closes its own
  // listener is not waited for. Idempotent.
  virtual absl::Status Shutdown(absl::Time deadline) = 0;

  // Messages taken off the wire and waiting for a handler thread now (the
  // ones ListenOptions::max_waiting_messages counts). A server that
  // refuses new requests lets these drain (refused, so their callers know
  // they never ran) before Shutdown ends their sockets.
  virtual size_t WaitingMessages() const { return 0; }

  // Shutdown by ListenOptions::close_timeout from now; the destructor too.
  virtual absl::Status Close() = 0;

  // Server-side sockets that are open now.
  virtual size_t OpenSockets() const = 0;
};

// How much a socket holds unread before it ends with ResourceExhausted, so
// a peer that floods a slow reader cannot grow memory without bound. The
// defaults are nats.c's own per-subscription limits. 0: no bound.
struct PendingLimits {
  size_t messages = 65536;
  size_t bytes = 64 << 20;  // MessageSize of each
};

struct ListenOptions {
  // A server socket that neither sends nor receives for this long, while no
  // handler works on it, is closed (its peer sees OutOfRange), so a client
  // that vanished without closing does not hold it for ever. A handler
  // that takes longer than this to answer keeps its socket.
  absl::Duration idle_timeout = absl::Minutes(1);

  // Server sockets open at once. A socket beyond is refused: its Dial fails
  // with ResourceExhausted (a client that skipped the handshake sees its
  // Recv fail so). 0: no cap.
  size_t max_sockets = 1024;

  // Threads that run this listener's handlers, started as needed. Ignored
  // when `executor` is set.
  int handler_threads = 16;
  // A pool shared with other listeners or the rest of the process; null:
  // the listener's own, of handler_threads.
  std::shared_ptr<concurrency::ThreadPool> executor;

  // Each server socket's unread backlog.
  PendingLimits max_pending;

  // How long Close (and the destructor) wait for handlers to return.
  absl::Duration close_timeout = absl::Seconds(10);

  // Memory backend, with AcceptMessages: run a message's handler on the
  // sender's thread (which waits for the answer anyway) when the pool has
  // a thread free and nothing waits, saving a thread hand-off. The pool's
  // size still bounds the calls running at once. Only for handlers that
  // never wait for their caller to do something after Send.
  // NATS ignores it: there a handler always runs on the listener's thread
  // that took its message off the wire (no hand-off), and that thread
  // hands the wire to another before the handler waits in a transport
  // Recv, a Dial or a NATS request, or once it has run for about a
  // millisecond; replies are routed on other threads, so a handler that
  // blocks or calls other services never stalls them.
  bool inline_handlers = false;

  // Load shedding, with AcceptMessages: when this many messages (over all
  // sockets) already wait for a handler thread, a new one is handed to
  // `on_overload` instead of waiting, on the thread that delivered it; that
  // handler must not block (it typically sends a short "busy" answer). 0 or
  // no on_overload: messages wait, however many.
  // Kept sockets (whose handler registered Socket::NotifyOnEnd, as a
  // service stream does) are exempt: their messages always wait, in order,
  // and do not count toward this cap, so a stream's frames are never
  // dropped and a flowing stream does not make other calls be shed. What
  // they hold is bounded by the socket's max_pending (and a stream's
  // window). A message that came before the handler registered it (a
  // stream's open) may still be shed.
  size_t max_waiting_messages = 0;
  MessageHandler on_overload;

  // Told when an accept handler throws: its socket is closed (the peer sees
  // OutOfRange) and the listener goes on serving. Empty: to the process
  // error sink (status/error_sink.h) as "transport".
  std::function<void(const absl::Status&)> on_error;
};

struct DialOptions {
  // How long Dial waits for the listener to answer. A Dial that times out
  // tells the listener, so nothing is held there for it.
  absl::Duration timeout = absl::Seconds(5);

  // True: Dial waits for the listener to confirm the socket, so a missing
  // listener or a full one fails Dial itself. False: Dial returns at once
  // and the socket opens with its first message, saving a round trip;
  // those failures then end the socket, and Recv says why (Unavailable,
  // ResourceExhausted). A client that keeps sockets warm (one per peer,
  // reused for many calls) pays the round trip once either way.
  bool handshake = true;

  // The client socket's unread backlog.
  PendingLimits max_pending;

  // While Recv waits longer than this, the client checks that the listener
  // still holds the socket, so an answer lost with its server (a process
  // killed after taking the request) ends Recv with Unavailable after about
  // this long rather than at its deadline. Zero: never. Backends whose
  // listeners cannot vanish unannounced (memory) ignore it.
  absl::Duration probe_interval = absl::Seconds(1);
};

// Transport
//
// Thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;

  // Listens on `address`, or on a new unique address when it is empty.
  // InvalidArgument for an address that is not a concrete NATS subject;
  // AlreadyExists when the address is taken (memory backend).
  virtual absl::StatusOr<std::unique_ptr<Listener>> Listen(
      absl::string_view address, ListenOptions options = {}) = 0;

  // Opens a socket to the listener at `address`. Unavailable when nobody
  // listens there; InvalidArgument for an invalid address.
  virtual absl::StatusOr<std::unique_ptr<Socket>> Dial(
      absl::string_view address, DialOptions options = {}) = 0;
};

// What a socket's failure says of the request it last sent (a socket
// used for one request at a time, as the service client uses them):
//   kNotDelivered    no listener took it (NATS: "no responders" to it, no
//                    probe sent since), so sending it elsewhere cannot run
//                    it twice;
//   kMaybeDelivered  a listener may have taken it (the probe found the
//                    listener gone after it was sent);
//   kUnknown         the failure does not say (read the code: an ended
//                    socket, OutOfRange, may have been after a handler
//                    took it).
// Carried as a payload of the status Recv returns (kDeliveryPayload).
enum class Delivery { kUnknown, kNotDelivered, kMaybeDelivered };
inline constexpr char kDeliveryPayload[] = "micro-nats/delivery";
Delivery DeliveryOf(const absl::Status& failure);
// `status` saying `delivery` (kUnknown: unchanged).
absl::Status WithDelivery(absl::Status status, Delivery delivery);

// Checks a message before sending: header names and values
// (ValidateHeaders), reserved headers and `max_bytes` (MessageSize).
absl::Status ValidateMessage(const Message& message, size_t max_bytes);

}  // namespace micro_nats::transport

#endif  // MICRO_NATS_TRANSPORT_TRANSPORT_H_
