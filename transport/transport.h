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

namespace micro_nats::transport {

// Header names to values (one value per name, as in go-micro).
using Headers = std::map<std::string, std::string>;

struct Message {
  Headers headers;
  std::string body;  // raw bytes
};

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

  // Returns the next message from the peer, waiting until `deadline`
  // (DeadlineExceeded). OutOfRange once the peer closed and everything it
  // sent was received; Unavailable when the peer vanished;
  // ResourceExhausted when the unread backlog outgrew its PendingLimits
  // (the socket ended); FailedPrecondition after Close.
  virtual absl::StatusOr<Message> Recv(absl::Time deadline) = 0;

  // Closes this end and tells the peer. Idempotent.
  virtual absl::Status Close() = 0;

  // This end's address and the peer's. For a client socket the remote
  // address is the listener's address.
  virtual std::string LocalAddress() const = 0;
  virtual std::string RemoteAddress() const = 0;
};

// Called once per new server-side socket, on a thread of its own; the
// socket is closed when the handler returns (or throws: see
// ListenOptions::on_error).
using AcceptHandler = std::function<void(std::unique_ptr<Socket> socket)>;

// Listener
//
// Thread-safe.
class Listener {
 public:
  virtual ~Listener() = default;

  // The address clients dial.
  virtual std::string Address() const = 0;

  // Starts handing new sockets to `handler` and returns at once. Sockets
  // dialled before Accept wait for it. FailedPrecondition when called twice
  // or after Close.
  virtual absl::Status Accept(AcceptHandler handler) = 0;

  // Stops listening, closes every socket (their peers see OutOfRange) and
  // waits for the handlers to return. Idempotent.
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
  // A server socket that neither sends nor receives for this long is closed
  // (its peer sees OutOfRange), so a client that vanished without closing
  // does not hold it for ever.
  absl::Duration idle_timeout = absl::Minutes(1);

  // Each server socket's unread backlog.
  PendingLimits max_pending;

  // Told when an accept handler throws: its socket is closed (the peer sees
  // OutOfRange) and the listener goes on serving. Empty: logged to stderr.
  std::function<void(const absl::Status&)> on_error;
};

struct DialOptions {
  // How long Dial waits for the listener to answer.
  absl::Duration timeout = absl::Seconds(5);

  // The client socket's unread backlog.
  PendingLimits max_pending;
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

// A message's size as limits count it: the body, and each header as its
// "name: value\r\n" line.
size_t MessageSize(const Message& message);

// Checks a message before sending: reserved headers and `max_bytes`
// (MessageSize).
absl::Status ValidateMessage(const Message& message, size_t max_bytes);

}  // namespace micro_nats::transport

#endif  // MICRO_NATS_TRANSPORT_TRANSPORT_H_
