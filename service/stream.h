// Copyright 2026 The micro-nats Authors.
//
// stream.h: streaming calls — many messages each way on one call, with
// flow control.
//
// A stream is one transport socket of its own (a pseudo-connection that
// carries many messages each way, in order). The client opens it on an
// endpoint registered with Server::HandleStream; the handler runs once for
// the stream and reads requests (Recv) and writes responses (Send) until it
// returns; its status ends the stream for the caller (OK: Recv returns
// OutOfRange after the last message; an error: Recv returns it, as
// go-micro's Micro-Error on the final frame). The three kinds of gRPC are
// ways to use the one stream:
//   server streaming   the client Sends one request and CloseSends, then
//                      Recvs until OutOfRange;
//   client streaming   the client Sends many, then CloseAndRecv;
//   bidirectional      both at once, from two threads if it likes.
//
//   // Server: a greeting, repeated.
//   server->HandleStream<HelloRequest, HelloReply>(
//       "Greeter.Repeat",
//       [](Context& ctx, ServerStreamOf<HelloRequest, HelloReply>& stream) {
//         MN_ASSIGN_OR_RETURN(HelloRequest req, stream.Recv());
//         for (int i = 0; i < req.times(); ++i) {
//           HelloReply reply;
//           reply.set_message(absl::StrCat("Hello ", req.name()));
//           MN_RETURN_IF_ERROR(stream.Send(reply));  // waits for the window
//         }
//         return absl::OkStatus();
//       });
//   // Client.
//   MN_ASSIGN_OR_RETURN(auto stream,
//                       client->Stream<HelloRequest, HelloReply>(
//                           "greeter", "Greeter.Repeat", {}));
//   MN_RETURN_IF_ERROR(stream.Send(request));
//   MN_RETURN_IF_ERROR(stream.CloseSend());
//   for (;;) {
//     absl::StatusOr<HelloReply> reply = stream.Recv();
//     if (absl::IsOutOfRange(reply.status())) break;  // ended cleanly
//     MN_RETURN_IF_ERROR(reply.status());
//     ...
//   }
//
// Flow control: each end holds at most its window (StreamWindow) of
// messages received and not yet read; the peer's Send waits while that
// window is full, until its deadline. Nothing is dropped, memory stays
// bounded however fast one side is, and a slow reader stalls only its own
// stream. A peer that sends beyond the window it was given ends the stream
// (ResourceExhausted).
//
// Selection, retries and eviction are as for Call (client.h) until the
// server accepted the stream; after that a stream is never retried (its
// messages may have been handled).
//
// Stream endpoints are registered with endpoint metadata "stream": "true",
// as go-micro does. The NATS Service API (ADR-32) has no streams: stream
// endpoints are not offered there, only on the transport.

#ifndef MICRO_NATS_SERVICE_STREAM_H_
#define MICRO_NATS_SERVICE_STREAM_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/codec.h"
#include "service/context.h"
#include "status/status_macros.h"

namespace micro_nats::service {

// What one end of a stream holds received and not yet read. The peer's
// Send waits beyond it. A single message larger than `bytes` still passes
// when nothing else is unread (else it could never be sent), and so does
// one while less than half of `bytes` is unread (the reader returns
// credit per half window): an end holds at most `messages` messages and
// `bytes` plus one message. Each field 1 to 2^20 messages, 1 to 2^40
// bytes.
//
// The default lets small messages flow without a credit round trip every
// few dozen (gRPC's byte-counted window keeps thousands of 16 B messages
// in flight); memory stays bounded by `bytes`.
struct StreamWindow {
  size_t messages = 1024;
  size_t bytes = 1 << 20;  // MessageSize of each

  friend bool operator==(const StreamWindow&, const StreamWindow&) = default;
};

// The client's end of one stream.
//
// Send and Recv may be called from different threads, each from one thread
// at a time; Cancel from any thread. Destroying a stream that has not
// ended cancels it. No thread is the stream's: whichever call waits reads
// its socket. While it is open, the client pings the server a few times
// per the server's idle timeout (on the process timer; at most every
// 100 ms, and never while a Send is under way), so the server's idle
// reaping spares it however long both ends wait (idle timeouts from about
// 300 ms), and ends it once this process is gone. Its socket holds at most
// the window plus a few frames unread (the transport ends it beyond,
// ResourceExhausted), whatever the server sends.
class ClientStream {
 public:
  virtual ~ClientStream() = default;

  // Sends one request (`message.body`; its headers go with it). Waits while
  // the server's window is full, until `deadline` or the stream's
  // (DeadlineExceeded: this message was not sent; the stream goes on unless
  // the stream's own deadline passed). FailedPrecondition after CloseSend;
  // Cancelled after Cancel; once the handler returned, its status (OK
  // as OutOfRange: nobody reads any more), or OutOfRange when its end is
  // not read yet by `deadline` — either way the send side is closed, and
  // Recv still returns every response before the end; InvalidArgument for
  // a message the transport refuses (too large, a bad header) or one with
  // a `Micro-Stream*` header (the stream's own).
  virtual absl::Status Send(Message message,
                            absl::Time deadline = absl::InfiniteFuture()) = 0;

  // Half-close: the handler's Recv returns OutOfRange once it read what was
  // sent. Idempotent.
  virtual absl::Status CloseSend() = 0;

  // The next response, waiting until `deadline` or the stream's. After the
  // last one: OutOfRange when the handler returned OK, else its status;
  // Cancelled after Cancel; Unavailable when the server vanished (found
  // within the client's probe interval). DeadlineExceeded at `deadline`
  // leaves the stream open; at the stream's deadline it ends it.
  virtual absl::StatusOr<Message> Recv(
      absl::Time deadline = absl::InfiniteFuture()) = 0;

  // Ends the stream at once: the handler's Context reports Cancelled and
  // its Recv and Send return Cancelled; here Send and Recv return
  // Cancelled. Idempotent.
  virtual void Cancel() = 0;

  // The stream's deadline (InfiniteFuture when it has none).
  virtual absl::Time deadline() const = 0;
};

// The handler's end of one stream. Used by the handler's thread (or one
// at a time).
class ServerStream {
 public:
  virtual ~ServerStream() = default;

  // The next request, waiting until `deadline` or the stream's. OutOfRange
  // once the client half-closed and everything it sent was read;
  // Cancelled when the client cancelled or vanished, or the server's Stop
  // passed its deadline; DeadlineExceeded at `deadline` or the stream's;
  // ResourceExhausted or InvalidArgument when the client broke the
  // protocol (sent beyond the window, a bad frame: the stream ended).
  virtual absl::StatusOr<Message> Recv(
      absl::Time deadline = absl::InfiniteFuture()) = 0;

  // Sends one response (its headers go with it). Waits while the
  // client's window is full, until `deadline` or the stream's; Cancelled
  // as Recv; InvalidArgument as ClientStream::Send.
  virtual absl::Status Send(Message message,
                            absl::Time deadline = absl::InfiniteFuture()) = 0;
};

// Serves one stream: returns when done; its status ends the stream for the
// caller. Runs on a thread of the server's stream pool
// (ServerOptions::max_streams) for the stream's whole life.
using StreamHandler =
    std::function<absl::Status(Context& ctx, ServerStream& stream)>;

// Typed streams: Req and Resp are protobuf messages, encoded with the
// stream's Content-Type (the client's, or StreamOptions::call.content_type);
// a message that comes with another Content-Type is read with its own.

template <typename Req, typename Resp>
class ClientStreamOf {
 public:
  ClientStreamOf(std::unique_ptr<ClientStream> raw, const Codec* codec)
      : raw_(std::move(raw)), codec_(codec) {}

  absl::Status Send(const Req& request,
                    absl::Time deadline = absl::InfiniteFuture()) {
    Message message;
    MN_ASSIGN_OR_RETURN(message.body, codec_->Marshal(request));
    return raw_->Send(std::move(message), deadline);
  }
  absl::Status CloseSend() { return raw_->CloseSend(); }
  absl::StatusOr<Resp> Recv(absl::Time deadline = absl::InfiniteFuture()) {
    MN_ASSIGN_OR_RETURN(Message message, raw_->Recv(deadline));
    return Decode(message);
  }
  // Client streaming: half-closes, then returns the one response. The
  // handler's error when it failed; Internal when it ended with no
  // response.
  absl::StatusOr<Resp> CloseAndRecv(
      absl::Time deadline = absl::InfiniteFuture()) {
    MN_RETURN_IF_ERROR(raw_->CloseSend());
    absl::StatusOr<Message> message = raw_->Recv(deadline);
    if (absl::IsOutOfRange(message.status())) {
      return absl::InternalError("the stream ended without a response");
    }
    MN_RETURN_IF_ERROR(message.status());
    return Decode(*message);
  }
  void Cancel() { raw_->Cancel(); }
  ClientStream& raw() { return *raw_; }

 private:
  absl::StatusOr<Resp> Decode(const Message& message) const {
    const Codec* codec = codec_;
    if (auto type = message.headers.find(kContentTypeHeader);
        type != message.headers.end()) {
      MN_ASSIGN_OR_RETURN(codec, CodecFor(type->second));
    }
    Resp response;
    MN_RETURN_IF_ERROR(codec->Unmarshal(message.body, &response));
    return response;
  }

  std::unique_ptr<ClientStream> raw_;
  const Codec* codec_;
};

template <typename Req, typename Resp>
class ServerStreamOf {
 public:
  ServerStreamOf(ServerStream& raw, const Codec* codec)
      : raw_(raw), codec_(codec) {}

  absl::StatusOr<Req> Recv(absl::Time deadline = absl::InfiniteFuture()) {
    MN_ASSIGN_OR_RETURN(Message message, raw_.Recv(deadline));
    const Codec* codec = codec_;
    if (auto type = message.headers.find(kContentTypeHeader);
        type != message.headers.end()) {
      MN_ASSIGN_OR_RETURN(codec, CodecFor(type->second));
    }
    Req request;
    MN_RETURN_IF_ERROR(codec->Unmarshal(message.body, &request));
    return request;
  }
  absl::Status Send(const Resp& response,
                    absl::Time deadline = absl::InfiniteFuture()) {
    Message message;
    MN_ASSIGN_OR_RETURN(message.body, codec_->Marshal(response));
    return raw_.Send(std::move(message), deadline);
  }
  ServerStream& raw() { return raw_; }

 private:
  ServerStream& raw_;
  const Codec* codec_;
};

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_STREAM_H_
