// Copyright 2026 The micro-nats Authors.
//
// call_path.h: how the client reaches one node, chosen by the node's
// protocol (registry node metadata "protocol", srv/protocol.h):
//   - transport sockets (ours, "micro-nats", and nodes that name none):
//     the request on a warm socket from the SocketPool;
//   - the NATS Service API ("nats-micro"): a request/reply on the
//     endpoint's subject (ClientOptions::request_reply).
// Both send the headers SetCallHeaders sets and read the answer's error
// headers the same way (AnswerError); the client's retry loop (client.cc) sits
// above.

#ifndef MICRO_NATS_SERVICE_INTERNAL_CALL_PATH_H_
#define MICRO_NATS_SERVICE_INTERNAL_CALL_PATH_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "registry/registry.h"
#include "service/client.h"
#include "service/internal/socket_pool.h"

namespace micro_nats::service::service_internal {

// Lets another thread abandon an attempt in flight (a hedged call's
// loser): its socket is closed, so the attempt returns at once and the
// socket is not kept.
//
// Thread-safe.
class AttemptCancel {
 public:
  // Closes the attempt's socket, now or as soon as it has one.
  void Cancel();
  bool cancelled() const;

  // The path's side: false when cancelled already (then it does not use
  // `socket`). Unregister before the socket is released or destroyed;
  // true when it was cancelled meanwhile (then it is not kept).
  bool Register(transport::Socket* socket);
  bool Unregister();

 private:
  mutable std::mutex mu_;
  transport::Socket* socket_ = nullptr;  // guarded by mu_
  bool cancelled_ = false;               // guarded by mu_
};

// One attempt: what the client tells the path, and what the path says
// about how it failed.
struct Attempt {
  // In: whether the call may be sent again after it may have reached a
  // handler (CallOptions, ClientOptions::policies); unset: the registry's
  // word (EndpointIdempotent).
  absl::optional<bool> idempotent;
  // In: null when nobody abandons it.
  AttemptCancel* cancel = nullptr;

  // Out: the node failed the attempt (unreachable, ended the socket,
  // refused it as stopping), so the client evicts it and may try another
  // (retry.h); never for a handler's status.
  bool node_failed = false;
  // Out, with node_failed: the request may have reached a handler (the
  // socket ended, or the node was found gone, after the request left), so
  // only an idempotent call is sent again.
  bool maybe_delivered = false;
  // Out: the failure was this client's own (its NATS connection closed,
  // draining or reconnecting), nothing the node did: no breaker outcome.
  bool local_failure = false;
};

// CallPath
//
// Thread-safe.
class CallPath {
 public:
  virtual ~CallPath() = default;
  // One attempt of `request` on `node` (one of `versions`' nodes), answered
  // by `deadline`. The path sets the call's headers on `request->message`
  // (SetCallHeaders; a next attempt sets them again), and `attempt`'s
  // outputs. Cancelled when `attempt->cancel` abandoned it.
  virtual absl::StatusOr<Message> Call(
      const registry::Node& node,
      const std::vector<registry::Service>& versions, CallRequest* request,
      absl::Time deadline, Attempt* attempt) = 0;
  // `node` failed a call: drop what is kept for it.
  virtual void Forget(const registry::Node& node) {}
};

// `endpoint` as the version that has `node` lists it, or null.
const registry::Endpoint* FindEndpoint(
    const registry::Node& node, const std::vector<registry::Service>& versions,
    absl::string_view endpoint);

// The registry's word on `endpoint` in the version that has `node`: its
// metadata "idempotent" is "true" (a server publishes it from
// EndpointOptions::idempotent).
bool EndpointIdempotent(const registry::Node& node,
                        const std::vector<registry::Service>& versions,
                        absl::string_view endpoint);

// Calls nodes on transport sockets from `pool`, whose sockets probe their
// node every `probe_interval` while waiting. Whether a failed request may
// have reached a handler is the transport's word (transport::DeliveryOf);
// when it does not say, an ended socket may have, and an Unavailable
// sooner than a probe could run is the request's own refusal (NATS "no
// responders": it did not).
std::unique_ptr<CallPath> NewSocketCallPath(std::shared_ptr<SocketPool> pool,
                                            std::string content_type,
                                            absl::Duration probe_interval);
// Calls NATS Service API nodes by request/reply on their endpoint's subject
// (null `request_reply`: Unimplemented).
std::unique_ptr<CallPath> NewSubjectCallPath(
    std::shared_ptr<RequestReply> request_reply, std::string content_type);

// Sets the headers a call sends on `request->message`, beside the
// request's own (the caller's metadata among them): go-micro's
// Micro-Service, Micro-Endpoint, Micro-Id (`id`; unset when empty),
// Content-Type (when the request has none: `default_content_type`) and
// Timeout (the nanoseconds left until `deadline`, so the server knows it;
// unset for an infinite one). Both paths call it, once per attempt.
void SetCallHeaders(absl::string_view id,
                    absl::string_view default_content_type, absl::Time deadline,
                    CallRequest* request);

// Sets header `name` to `value` in `*headers`, reusing a map node this
// thread gave back (ReclaimCallHeaders) when `name` is new: the headers
// every call sends cost no allocation once a thread made a few calls.
void SetHeader(Headers* headers, absl::string_view name,
               absl::string_view value);

// Takes the headers SetCallHeaders sets (and Content-Type) out of
// `*headers` and keeps their nodes for this thread's next SetHeader. For a
// message that was sent and is not read again.
void ReclaimCallHeaders(Headers* headers);

// What a transport failure of an attempt on `node` (its socket's Send or
// Recv said `failure`) is for the caller, `*node_failed` set when the node
// failed the call (retry.h): a bad message, a deadline and a full listener
// are the caller's; a socket the node ended or lost is Unavailable.
// `before` says before what ("it answered"); `after_send`: the request
// had left, so the message says so.
absl::Status AttemptFailure(const registry::Node& node,
                            const absl::Status& failure,
                            absl::string_view before, bool* node_failed,
                            bool after_send = false);

// Whether `failure`, read from a socket after its request left at
// `sent_at` (a CoarseNow), may have come after a handler took the request:
// the transport's word (transport::DeliveryOf); when it does not say, an
// Unavailable sooner than half `probe_interval` is the request's own
// refusal (it did not), anything else may have.
bool MaybeDelivered(const absl::Status& failure, absl::Time sent_at,
                    absl::Duration probe_interval);

// A new call id (Micro-Id): 15 hex digits.
std::string NewCallId();

// The error an answer's headers say (go-micro's Micro-Error, or the NATS
// Service API's Nats-Service-Error when `service_api_errors`), or OK.
// `*node_failed` when it is the server's own retryable refusal
// (kRefusedHeader): a handler's status, Unavailable included, is the
// caller's. Its text is bounded.
absl::Status AnswerError(const Headers& headers, bool service_api_errors,
                         bool* node_failed);

}  // namespace micro_nats::service::service_internal

#endif  // MICRO_NATS_SERVICE_INTERNAL_CALL_PATH_H_
