// Copyright 2026 The micro-nats Authors.
//
// stream_core.h: the stream protocol (stream.h) both ends share — frames,
// flow control, and one end's state.
//
// A stream is one transport socket of its own. Each frame is a transport
// message whose `Micro-Stream` header says its kind:
//   open        client -> server, first: the call's headers (Micro-Service,
//               Micro-Endpoint, Micro-Id, Content-Type, Timeout, the
//               metadata) and the client's receive window
//               (Micro-Stream-Messages, Micro-Stream-Bytes).
//   accept      server -> client: the server's receive window, and
//               Micro-Stream-Keepalive (ns): how often the client pings so
//               idle reaping spares the stream. A refusal instead is an
//               error answer as for a call (Micro-Error, Micro-Refused).
//   msg         either way: a message; its headers and body are the user's.
//   credit      either way: the receiver's cumulative count of messages and
//               bytes read (Micro-Stream-Messages, Micro-Stream-Bytes).
//   half-close  client -> server: nothing more comes (CloseSend).
//   end         server -> client, last: the handler returned; Micro-Error
//               when it failed, else OK; its headers carry the handler's
//               response metadata. The server closes the socket after it.
//   cancel      client -> server: the client gave up (Cancel, its deadline,
//               a protocol error); Micro-Error DeadlineExceeded when it was
//               the stream's deadline. It closes the socket after it.
//   ping        client -> server: keepalive, nothing else.
//
// Flow control: each receiver advertises a window (messages, bytes: the
// MessageSize of the user's message, without the Micro-Stream headers)
// and returns credit as its user reads, once half a window was read. A
// sender sends while WindowAdmits what it sent and was not credited; a
// receiver that is sent more than WindowAdmits of what it received and
// did not credit ends the stream (ResourceExhausted), so a hostile peer
// cannot grow its memory. Every number from the peer is parsed bounded; an
// unknown kind, a frame out of place, or a credit beyond what was sent ends the
// stream (InvalidArgument).

#ifndef MICRO_NATS_SERVICE_INTERNAL_STREAM_CORE_H_
#define MICRO_NATS_SERVICE_INTERNAL_STREAM_CORE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/context.h"
#include "service/stream.h"
#include "transport/transport.h"

namespace micro_nats::service::service_internal {

inline constexpr char kStreamHeader[] = "Micro-Stream";
inline constexpr char kStreamMessagesHeader[] = "Micro-Stream-Messages";
inline constexpr char kStreamBytesHeader[] = "Micro-Stream-Bytes";
inline constexpr char kStreamKeepaliveHeader[] = "Micro-Stream-Keepalive";
// Every header of ours starts so; a user's message may not use them.
inline constexpr absl::string_view kStreamHeaderPrefix = "Micro-Stream";

// Windows a peer may advertise (and we may be configured with).
inline constexpr uint64_t kMaxWindowMessages = uint64_t{1} << 20;
inline constexpr uint64_t kMaxWindowBytes = uint64_t{1} << 40;
// The keepalive interval a server may ask for: a hostile server cannot
// make each stream ping more than 10 times a second on the process timer.
// Servers ask for a quarter of their idle timeout, so idle timeouts down
// to ~300 ms keep live streams (1 s would need idle timeouts of seconds).
inline constexpr absl::Duration kMinKeepalive = absl::Milliseconds(100);

// The largest single message a stream socket's backlog allows for beyond
// the window (WindowAdmits lets one message of any size in; nats-server
// recommends max_payload up to 8 MB, the memory transport allows 1 MiB),
// and what each frame's own headers may add.
inline constexpr uint64_t kStreamLargestMessage = uint64_t{8} << 20;
inline constexpr uint64_t kStreamControlFrames = 64;
inline constexpr uint64_t kStreamFrameOverhead = 256;

enum class FrameKind {
  kOpen,
  kAccept,
  kMsg,
  kCredit,
  kHalfClose,
  kEnd,
  kCancel,
  kPing,
};

absl::string_view FrameKindName(FrameKind kind);

// The kind a frame says. NotFound: no Micro-Stream header (not a stream
// frame); InvalidArgument: an unknown kind.
absl::StatusOr<FrameKind> KindOf(const Headers& headers);

// A frame of `kind` with nothing else.
Message Frame(FrameKind kind);
void SetKind(Headers* headers, FrameKind kind);

// A window, as open and accept carry it. InvalidArgument when absent, not
// a number, zero or beyond the maximums.
absl::StatusOr<StreamWindow> ParseWindow(const Headers& headers);
void SetWindow(Headers* headers, StreamWindow window);
// A window as given by options: zero fields take `fallback`'s; beyond the
// maximums is InvalidArgument.
absl::StatusOr<StreamWindow> ResolveWindow(StreamWindow window,
                                           StreamWindow fallback);

// A credit's cumulative counts. InvalidArgument when absent or not a
// number.
struct Counts {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};
absl::StatusOr<Counts> ParseCounts(const Headers& headers);
void SetCounts(Headers* headers, Counts counts);

// The keepalive an accept asks for (zero: none); InvalidArgument for a bad
// number. Bounded below by kMinKeepalive.
absl::StatusOr<absl::Duration> ParseKeepalive(const Headers& headers);

// The transport backlog (PendingLimits) of a stream socket whose end
// advertised `window`: an honest peer never has more unread at the
// transport than the window's messages plus a few credits and its end
// (kStreamControlFrames), nor more bytes than the window, one message
// beyond it and the end's trailer (kStreamLargestMessage each) and the
// frames' headers. Beyond, the transport ends the socket before anything
// is decoded (ResourceExhausted).
transport::PendingLimits StreamPendingLimits(StreamWindow window);

// Drops our headers, leaving the user's.
void StripStreamHeaders(Headers* headers);
// InvalidArgument when a user's message carries a header of ours.
absl::Status CheckUserHeaders(const Headers& headers);

// Whether a window lets one more message of `size` bytes in while
// `messages` and `bytes` are outstanding (sent and not credited, or
// received and not read). One message always passes when none is
// outstanding (else a message larger than the window could never go), and
// so does one while less than half the bytes are (else, credit coming only
// per half window, a message larger than half could wait for ever): at
// most `window.messages` messages and `window.bytes` plus one message are
// held.
bool WindowAdmits(StreamWindow window, uint64_t messages, uint64_t bytes,
                  uint64_t size);

// The sender's view of the peer's window. Not thread-safe.
class SendWindow {
 public:
  explicit SendWindow(StreamWindow peer) : peer_(peer) {}
  bool Admits(uint64_t size) const {
    return WindowAdmits(peer_, sent_.messages - credited_.messages,
                        sent_.bytes - credited_.bytes, size);
  }
  void Sent(uint64_t size) {
    ++sent_.messages;
    sent_.bytes += size;
  }
  // A send that did not go.
  void Unsent(uint64_t size) {
    --sent_.messages;
    sent_.bytes -= size;
  }
  // The peer's cumulative credit. InvalidArgument beyond what was sent; an
  // older (smaller) one is ignored.
  absl::Status Credit(Counts consumed);
  Counts sent() const { return sent_; }
  Counts credited() const { return credited_; }

 private:
  const StreamWindow peer_;
  Counts sent_;
  Counts credited_;
};

// The receiver's view of its own window. Not thread-safe.
class RecvWindow {
 public:
  explicit RecvWindow(StreamWindow own) : own_(own) {}
  // A message of `size` arrived. ResourceExhausted when the peer sent
  // beyond the window past what we credited it (told it we read): an
  // honest sender never does, however promptly our user reads, so a flood
  // is caught even while the reader keeps up (the stream ends).
  absl::Status Arrived(uint64_t size);
  // The user read a message of `size`: true when credit is due (half a
  // window read since the last), with the cumulative counts in `*credit`.
  bool Read(uint64_t size, Counts* credit);
  uint64_t unread_messages() const {
    return received_.messages - read_.messages;
  }

 private:
  const StreamWindow own_;
  Counts received_;
  Counts read_;
  Counts credited_;
};

// StreamCore
//
// Thread-safe. One end of a stream: its frames, windows and end. The
// server's end is fed frames by the listener's message handler (OnFrame,
// which never blocks: the window bounds what it queues); the client's
// reads its socket itself, in whichever call waits (one "reader" at a
// time, the others wait on a condition variable by their own deadlines):
// no thread per stream.
class StreamCore {
 public:
  enum class Role { kClient, kServer };

  // `socket` is the stream's own; `own` the window this end advertised,
  // `peer` the one the peer did; `deadline` the stream's.
  // `service` names the errors it sends (go-micro's error id).
  StreamCore(Role role, std::shared_ptr<transport::Socket> socket,
             StreamWindow own, StreamWindow peer, absl::Time deadline,
             std::string service);
  StreamCore(const StreamCore&) = delete;
  StreamCore& operator=(const StreamCore&) = delete;
  ~StreamCore();

  // A frame from the peer (the server's listener hands them in; the
  // client's reader too).
  void OnFrame(Message frame);
  // The socket ended (the server: NotifyOnEnd; the client: its Recv).
  void OnSocketEnd(const absl::Status& why);

  // stream.h's Recv and Send, for either end.
  absl::StatusOr<Message> Recv(absl::Time deadline);
  absl::Status Send(Message message, absl::Time deadline);
  // The client's half-close. Idempotent.
  absl::Status CloseSend();

  // Ends the stream now with `why` unless it ended (the client's: also
  // once the server's end was read): tells the peer (the client a cancel,
  // the server an end with `why`) when `tell_peer`, and closes the socket.
  // True when this call ended it.
  bool Abort(const absl::Status& why, bool tell_peer);
  // The server's handler returned `status`: sends the end (with
  // `trailer` headers) unless the stream ended already, and closes.
  void Finish(const absl::Status& status, const Metadata& trailer);
  // The client's keepalive: a ping, unless something was sent within
  // `interval` or a Send is under way (that is activity too; the process
  // timer this runs on never waits for a Send).
  void Ping(absl::Duration interval);

  // Whether the stream ended (the server's end: failed or finished; the
  // client's: the end came, or it failed).
  bool Ended() const;
  // Set once the stream failed (cancelled, the peer went away, a protocol
  // error): the server's handler Context reads it.
  std::shared_ptr<const std::atomic<bool>> failed_flag() const {
    return failed_flag_;
  }
  absl::Time deadline() const { return deadline_; }
  transport::Socket* socket() const { return socket_.get(); }

 private:
  // Waits for something to happen by `deadline` (the client reads the
  // socket if nobody does); false on timeout. `lock` holds mu_.
  bool Wait(std::unique_lock<std::mutex>& lock, absl::Time deadline);
  // The client reads one frame, mu_ released meanwhile; false when none
  // came by `deadline`.
  bool ReadOne(std::unique_lock<std::mutex>& lock, absl::Time deadline);
  // What OnFrame does with mu_ held; a frame to send after (an error's
  // word to the peer) is left in `*reply`, and `*close` says to close.
  void OnFrameLocked(Message frame, Message* reply, bool* close);
  // Ends the stream with `why`; mu_ held. What to tell the peer (when
  // `tell_peer`) is left in `*reply`. False when it had ended.
  bool FailLocked(const absl::Status& why, bool tell_peer, Message* reply);
  // Sends a frame (under send_mu_), outside mu_.
  absl::Status SendFrame(Message frame);
  // Send's frame did not go (`sent`): what Send returns, looking for the
  // server's end until `until`; mu_ held.
  absl::Status SendFailed(std::unique_lock<std::mutex>& lock,
                          const absl::Status& sent, absl::Time until);
  // Recv or Send timed out at `until`: DeadlineExceeded, ending the
  // client's stream at its own deadline; mu_ held.
  absl::Status TimedOut(std::unique_lock<std::mutex>& lock, absl::Time until,
                        absl::string_view what);
  // Something changed: waiters look again; mu_ held.
  void Changed() {
    ++generation_;
    cv_.notify_all();
  }
  // After FailLocked/Finish: sends `reply` if any, closes the socket.
  void TellAndClose(Message* reply, bool has_reply);
  absl::Time Bound(absl::Time deadline) const {
    return std::min(deadline, deadline_);
  }

  const Role role_;
  const std::shared_ptr<transport::Socket> socket_;
  const StreamWindow own_;
  const absl::Time deadline_;
  const std::string service_;
  const std::shared_ptr<std::atomic<bool>> failed_flag_ =
      std::make_shared<std::atomic<bool>>(false);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> inbound_;  // mu_: read by the user next
  RecvWindow recv_window_;       // mu_
  SendWindow send_window_;       // mu_
  // mu_: non-OK once the stream failed; Recv and Send return it at once.
  absl::Status failed_;
  // mu_: non-OK once the peer's direction ended (the server: half-close,
  // OutOfRange; the client: the end, OutOfRange or the handler's error);
  // Recv returns it once inbound_ is read.
  absl::Status recv_end_;
  bool half_closed_ = false;  // mu_: this end's CloseSend
  // mu_: the client's socket refused a Send (the server ended the
  // stream): nothing more is sent, Recv reads on to the end.
  bool send_closed_ = false;
  bool finished_ = false;    // mu_: the server sent its end
  bool reading_ = false;     // mu_: a client thread reads the socket
  uint64_t generation_ = 0;  // mu_: Changed() count
  std::mutex send_mu_;       // one sender on the socket at a time
  std::atomic<int64_t> last_sent_ns_{0};
};

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_STREAM_CORE_H_
