// Copyright 2026 The micro-nats Authors.
//
// client.h: the calling half of a service — find a node, call an endpoint,
// publish an event.
//
//   absl::StatusOr<HelloReply> reply =
//       client.Call<HelloRequest, HelloReply>(
//           "greeter", "Greeter.Hello", request,
//           {.timeout = absl::Seconds(2), .metadata = {{"Trace", "42"}}});
//
// A call looks the service up through the registry cache, picks a node
// (selector.h), and sends the request on a socket from a pool per node:
// once warm, a call costs one NATS round trip (no dial, no handshake). The
// request carries go-micro's headers (Micro-Service, Micro-Endpoint,
// Micro-Id, Content-Type, and Timeout: the time left, so the server knows
// the deadline); the caller's metadata travels as headers too.
//
// Failures (retry.h): a node that failed the call before it reached a
// handler — unreachable, or refused it as stopping (the server marks its
// own refusals) — is evicted from the cache and the call tries another
// one, up to `retries` more times, within the deadline and the retry
// budget. One that may have failed after a handler took the request (the
// socket ended, the node vanished) is tried again only for an idempotent
// endpoint; otherwise the caller gets Unavailable "outcome unknown". A
// handler's error, even Unavailable, is not retried: the handler ran.
//
// Resilience (issue 26): a circuit breaker per node leaves out nodes that
// keep failing (CircuitBreakerOptions; node_health() shows them); hedged
// calls (HedgePolicy, idempotent endpoints only) send the request to a
// second node when the first is slow; a call made inside a handler ends by
// the handler's deadline (CallOptions::inherit_deadline); an Observer
// (observer.h) is told about every call, attempt and side count.
//
// What the caller sees:
//   NotFound          no such service, or no endpoint of that name
//   DeadlineExceeded  no answer in time (the message says how long it was)
//   InvalidArgument   the server could not read the request, or it is bad;
//                     a hedged call to an endpoint that is not idempotent
//   ResourceExhausted the server is overloaded
//   Unavailable       no node answered (after the retries), the outcome is
//                     unknown (not idempotent), or every node's breaker is
//                     open
//   anything else     what the handler returned

#ifndef MICRO_NATS_SERVICE_CLIENT_H_
#define MICRO_NATS_SERVICE_CLIENT_H_

#include <google/protobuf/message.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "broker/broker.h"
#include "concurrency/thread_pool.h"
#include "events/events.h"
#include "registry/cache/cache.h"
#include "service/codec.h"
#include "service/context.h"
#include "service/observer.h"
#include "service/selector.h"
#include "service/stream.h"
#include "status/status_macros.h"
#include "transport/transport.h"

namespace micro_nats::service {

namespace service_internal {
struct Attempt;
class CallPath;
class CircuitBreakers;
class EndpointLatencies;
class RetryBudgetCore;
class SocketPool;
}  // namespace service_internal

// Hedged calls (opt-in; idempotent endpoints only): when no answer came
// after a delay, the same request goes to another node as well; the first
// OK answer wins and the others are abandoned. Each hedge takes a retry
// budget token (RetryBudget). Hedges run on a pool of 2 x async_threads
// threads with as many waiting at most: beyond, a hedge is skipped
// (ClientStats::hedges_skipped). An abandoned hedge still waiting for a
// thread ends without dialling; ~Client waits for the hedges in flight,
// which end at once (their sockets closed) except one still dialling its
// node, bounded by its call's deadline.
struct HedgePolicy {
  // Zero (and !after_p95): no hedging; else at least 100 us
  // (InvalidArgument below; an observed p95 below it is raised to it). The
  // timer stops once max_extra hedges went.
  absl::Duration delay = absl::ZeroDuration();
  // The delay is the endpoint's observed p95 (`delay` until the client saw
  // enough answers of it).
  bool after_p95 = false;
  // Hedged attempts beyond the first.
  int max_extra = 1;
};

// What the client knows of an endpoint (ClientOptions::policies).
struct EndpointPolicy {
  // Whether a call that may have reached a handler is retried (retry.h).
  // Unset: the registry's word (endpoint metadata "idempotent": "true").
  absl::optional<bool> idempotent;
  // Idempotent endpoints only: else the call is InvalidArgument.
  HedgePolicy hedge;
};

struct CallOptions {
  // When the caller stops waiting. InfiniteFuture: `timeout` from now.
  absl::Time deadline = absl::InfiniteFuture();
  // Zero: the client's (ClientOptions::timeout).
  absl::Duration timeout = absl::ZeroDuration();
  // More attempts after the first on a retryable failure; -1: the client's.
  int retries = -1;
  // Null: the client's.
  std::shared_ptr<Selector> selector;
  std::vector<NodeFilter> filters;
  // Sent as headers; a handler reads them from its Context.
  Metadata metadata;
  // The request's encoding for typed calls; empty: the client's.
  std::string content_type;
  // Whether the call may be retried after it may have reached a handler
  // (retry.h); wins over the policy and the registry.
  absl::optional<bool> idempotent;
  // Wins over the endpoint's policy.
  absl::optional<HedgePolicy> hedge;
  // A call made inside a handler ends by the handler's deadline at the
  // latest (min of its own and Context::Current()'s).
  bool inherit_deadline = true;
};

// A stream's options (stream.h).
struct StreamOptions {
  // The stream's deadline or timeout (for the whole stream; zero timeout:
  // the client's), retries before the server accepted it, selector,
  // filters, metadata (on the opening frame; the handler's Context has
  // them) and content type (typed streams).
  CallOptions call;
  // What this end holds received and unread; zero fields: the client's
  // (ClientOptions::stream_window).
  StreamWindow window = {.messages = 0, .bytes = 0};
};

// An event's options (Client::Emit).
struct EmitOptions {
  // Sent as the event's headers (besides Content-Type and Micro-Topic).
  Metadata metadata;
  // The encoding of typed events; empty: the client's.
  std::string content_type;
  // When to stop waiting for the stream to store it; InfiniteFuture: the
  // events' publish_timeout from now.
  absl::Time deadline = absl::InfiniteFuture();
  // Non-empty: an Emit with the same id within the stream's duplicate
  // window is stored once (its sequence comes back again).
  std::string dedup_id;
};

// A call as client wrappers see it: where it goes and the message, whose
// headers hold the metadata and Content-Type.
struct CallRequest {
  std::string service;
  std::string endpoint;
  Message message;
};

// Sends `request` by `options.deadline` (resolved: never InfiniteFuture
// unless the caller asked for an infinite timeout) and returns the answer.
using CallFunc = std::function<absl::StatusOr<Message>(
    const CallRequest& request, const CallOptions& options)>;

// Middleware: wraps the call (logging, metrics, auth headers). The first
// wrapper given is the outermost.
using CallWrapper = std::function<CallFunc(CallFunc next)>;

// A plain request/reply on a subject: how the client calls nodes of the
// NATS Service API (ClientOptions::request_reply).
class RequestReply {
 public:
  virtual ~RequestReply() = default;
  // The answer to `request` on `subject`, by `deadline`. Unavailable when
  // nobody answers at once (its message says "no responders", as NATS's, or
  // it is marked transport::Delivery::kNotDelivered: the node is gone, the
  // client tries another) or NATS is unreachable (any other Unavailable:
  // the connection's, not the node's; not retried); DeadlineExceeded when
  // no answer came in time.
  virtual absl::StatusOr<Message> Request(const std::string& subject,
                                          const Message& request,
                                          absl::Time deadline) = 0;
};

// Bounds retries and hedges per client to a share of its calls: a token
// bucket that each call fills by `ratio` and each retry or hedge empties by
// one, holding at most ratio x the calls of a `window` plus the floor
// (min_per_second x window). None left: the call returns its last error
// (counted). A service sees at most about (1 + ratio) x calls +
// min_per_second attempts a second from each client: ~1.1x holds for a
// client making well over min_per_second / ratio calls a second (100/s at
// the defaults); a quieter one may retry each call up to its retry limit.
// Set min_per_second low (or 0) where many quiet clients share a service.
struct RetryBudget {
  double ratio = 0.1;
  // Tokens a second whatever the calls, so a quiet client can still retry.
  int min_per_second = 10;
  absl::Duration window = absl::Seconds(10);
};

// A breaker per node: failures (a node that failed the attempt, a handler's
// Internal, Unavailable or Unknown, a deadline the node had at least
// `min_deadline` to meet) in a row, or as a share of the calls of a window,
// open it; while open, calls leave the node out; after a cool-down
// (jittered, doubling up to max_cool_down while it keeps failing)
// `half_open_calls` trial calls go there; success closes it, a failure
// opens it again. Not failures: a ResourceExhausted refusal (the server or
// an endpoint at its max_concurrency sheds that load itself; breakers would
// turn a service at its healthy limit into failed calls for everyone), a
// deadline the caller left too short (under `min_deadline` when the attempt
// started: an inherited nested deadline, a tight timeout), an abandoned
// hedge.
struct CircuitBreakerOptions {
  bool enabled = true;
  int consecutive_failures = 5;
  double failure_ratio = 0.5;
  int min_calls = 20;  // in the window, before the ratio counts
  absl::Duration window = absl::Seconds(10);
  absl::Duration cool_down = absl::Milliseconds(500);
  absl::Duration max_cool_down = absl::Seconds(30);
  int half_open_calls = 1;
  absl::Duration min_deadline = absl::Milliseconds(100);
};

struct ClientOptions {
  absl::Duration timeout = absl::Seconds(5);
  int retries = 2;
  // The wait before the first retry; doubled for each next (retry.h).
  absl::Duration backoff = absl::Milliseconds(5);
  // Null: latency-aware (NewLatencyAwareSelector).
  std::shared_ptr<Selector> selector;
  std::string content_type = kProtobufContentType;
  std::vector<CallWrapper> wrappers;

  // Idle sockets kept per node, and how long one may stay idle (below the
  // server's idle timeout, one minute by default, so a kept socket is
  // still open at the server).
  size_t max_idle_sockets_per_node = 64;
  absl::Duration socket_idle_timeout = absl::Seconds(30);
  // While an answer takes longer than this, the client checks that the
  // node still exists (transport DialOptions::probe_interval).
  absl::Duration probe_interval = absl::Seconds(1);

  // What a stream's client end holds received and unread, unless the
  // stream says (StreamOptions::window).
  StreamWindow stream_window;

  // Threads that run asynchronous calls (CallAsync); more wait.
  int async_threads = 4;

  // How nodes of NATS Service API services (registry/srv; node metadata
  // protocol "nats-micro") are called: by request/reply on their
  // endpoint's subject, not dialled. service/nats sets it; null, calling
  // such a node is Unimplemented.
  std::shared_ptr<RequestReply> request_reply;

  // By "<service>.<endpoint>", else by "<endpoint>".
  std::map<std::string, EndpointPolicy> policies;
  RetryBudget retry_budget;
  CircuitBreakerOptions circuit_breaker;
  // Told about every call, stream, publish and emit (observer.h); null:
  // none.
  std::shared_ptr<Observer> observer;
};

struct ClientStats {
  int64_t calls = 0;             // CallRaw and typed calls made
  int64_t retries = 0;           // attempts after a call's first
  int64_t evicted = 0;           // nodes dropped from the cache after failing
  int64_t streams = 0;           // streams opened (accepted by a server)
  int64_t budget_exhausted = 0;  // retries and hedges the budget refused
  int64_t outcome_unknown = 0;   // non-idempotent calls failed after delivery
  int64_t hedges = 0;            // hedged attempts sent
  int64_t hedge_wins = 0;        // calls a hedged attempt answered
  int64_t breaker_opened = 0;    // times a node's breaker opened
  // Hedges (and a hedged call's retries) skipped: the hedge pool's threads
  // all busy and as many waiting.
  int64_t hedges_skipped = 0;
};

// A node's circuit breaker as the client sees it (Client::node_health).
struct NodeHealth {
  std::string service;
  std::string node_id;
  enum class Breaker { kClosed, kOpen, kHalfOpen } breaker = Breaker::kClosed;
  int64_t failures = 0;  // in a row
};

// Client
//
// Thread-safe.
class Client {
 public:
  // Checks the options once. InvalidArgument for a missing registry or
  // transport (the broker is optional: no Publish without; so are events:
  // no Emit without), a content_type
  // with no codec, a timeout that is not above zero, negative retries or
  // backoff, async_threads below 1, a socket_idle_timeout that is not
  // above zero, or a stream_window beyond its bounds (stream.h; a zero
  // field takes StreamWindow's default).
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      ClientOptions options,
      std::shared_ptr<registry::CachingRegistry> registry,
      std::shared_ptr<transport::Transport> transport,
      std::shared_ptr<broker::Broker> broker,
      std::shared_ptr<events::Events> events = nullptr);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Waits for asynchronous calls already started.
  ~Client();

  // Calls `endpoint` of `service` with raw bytes: `request.body` as is,
  // its headers added to the call's (set Content-Type there).
  absl::StatusOr<Message> CallRaw(absl::string_view service,
                                  absl::string_view endpoint, Message request,
                                  CallOptions options = {});

  // A typed call: encodes with the content type of the options (default
  // protobuf), decodes the answer with the one it comes in.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(absl::string_view service,
                            absl::string_view endpoint, const Req& request,
                            CallOptions options = {});

  // The same, run on the client's async pool; `done` is called there.
  template <typename Req, typename Resp>
  void CallAsync(std::string service, std::string endpoint, Req request,
                 CallOptions options,
                 std::function<void(absl::StatusOr<Resp>)> done);
  template <typename Req, typename Resp>
  std::future<absl::StatusOr<Resp>> CallFuture(std::string service,
                                               std::string endpoint,
                                               Req request,
                                               CallOptions options = {});

  // Opens a stream to `endpoint` of `service` (stream.h), a stream
  // endpoint (Server::HandleStream): looks the service up, picks a node
  // and waits for it to accept, retrying another node as Call does until
  // one did (never after). Headers and metadata as for CallRaw; the
  // opening frame carries options.call.metadata and Content-Type.
  // Unimplemented for an endpoint registered without "stream": "true" or a
  // NATS Service API node (no streams there); else as Call.
  absl::StatusOr<std::unique_ptr<ClientStream>> StreamRaw(
      absl::string_view service, absl::string_view endpoint,
      StreamOptions options = {});

  // A typed stream: Req and Resp are protobuf messages, encoded with
  // options.call.content_type (empty: the client's).
  template <typename Req, typename Resp>
  absl::StatusOr<ClientStreamOf<Req, Resp>> Stream(absl::string_view service,
                                                   absl::string_view endpoint,
                                                   StreamOptions options = {});

  // Publishes `message` to `topic` through the broker, encoded with
  // `content_type` (empty: the client's), with headers Content-Type,
  // Micro-Topic and `metadata`.
  absl::Status Publish(absl::string_view topic,
                       const google::protobuf::Message& message,
                       Metadata metadata = {},
                       absl::string_view content_type = "");
  absl::Status PublishRaw(absl::string_view topic, Message message);

  // Stores a durable event (events.h) on `topic`, encoded with
  // options.content_type (empty: the client's), with headers Content-Type,
  // Micro-Topic and options.metadata, and returns its sequence once the
  // stream stored it. FailedPrecondition without events (a NATS service
  // gets them with NatsServiceOptions::events); else what
  // events::Events::Publish says (NotFound when no stream holds `topic`,
  // DeadlineExceeded: it may still be stored, see dedup_id).
  template <typename M>
  absl::StatusOr<uint64_t> Emit(absl::string_view topic, const M& message,
                                EmitOptions options = {}) {
    return EmitMessage(topic, message, std::move(options));
  }
  // `message` as it is: its headers and body (set Content-Type there).
  absl::StatusOr<uint64_t> EmitRaw(absl::string_view topic, Message message,
                                   const EmitOptions& options = {});

  // Sockets kept idle now, over every node.
  size_t IdleSockets() const;

  ClientStats stats() const;
  // The nodes the client's breakers track (those called lately).
  std::vector<NodeHealth> node_health() const;

 private:
  // Options as Create checked them.
  Client(ClientOptions options,
         std::shared_ptr<registry::CachingRegistry> registry,
         std::shared_ptr<transport::Transport> transport,
         std::shared_ptr<broker::Broker> broker,
         std::shared_ptr<events::Events> events);

  absl::StatusOr<uint64_t> EmitMessage(absl::string_view topic,
                                       const google::protobuf::Message& message,
                                       EmitOptions options);

  // The innermost CallFunc: copies the request for Run.
  absl::StatusOr<Message> Invoke(const CallRequest& request,
                                 const CallOptions& options);
  // Looks up, selects, calls and retries. The call's headers are set on
  // `request`'s message (CallRaw without wrappers hands its own: no copy).
  absl::StatusOr<Message> Run(CallRequest& request, const CallOptions& options);
  // Run's loop for any kind of attempt: `try_node(node, versions, path,
  // attempt)` returns a StatusOr; the loop looks up, selects, evicts,
  // counts and retries around it (client.cc). Calls and streams share it.
  // `scope`: the call's observation, or null.
  template <typename AttemptFn>
  auto Attempts(const CallRequest& request, const CallOptions& options,
                ObservationScope* scope, AttemptFn&& try_node);
  // A node for the next attempt: the candidates the filters keep, minus
  // `failed` and nodes whose breaker is open, as `selector` picks; the
  // breaker admitted it. `last`: what to return when every node failed.
  absl::StatusOr<const registry::Node*> Pick(
      const CallRequest& request, const CallOptions& options,
      const std::vector<registry::Service>& versions, Selector& selector,
      const std::set<std::string>& failed, const absl::Status& last);
  // After an attempt on `node`: the selector's Finished (when `hooks`),
  // the breaker, the observation, the eviction of a node that failed.
  // `abandoned`: a hedge's loser (counts for nothing).
  void AttemptEnded(const CallRequest& request, const registry::Node& node,
                    Selector& selector, bool hooks, absl::Time started,
                    absl::Time deadline, const absl::Status& status,
                    const service_internal::Attempt& attempt, bool abandoned);
  // A hedged call (client.cc): attempts on the hedge pool, the first OK
  // answer wins.
  absl::StatusOr<Message> RunHedged(CallRequest& request,
                                    const CallOptions& options,
                                    const HedgePolicy& hedge,
                                    ObservationScope* scope);
  // options.policies' entry for the call, or null.
  const EndpointPolicy* PolicyFor(absl::string_view service,
                                  absl::string_view endpoint) const;
  // The hedging the call asks for (options, then policy), or null.
  const HedgePolicy* HedgeFor(const CallRequest& request,
                              const CallOptions& options) const;
  // Whether the call may be sent again after it may have reached a handler
  // on `node`: options, policy, then the registry.
  bool Idempotent(const CallRequest& request, const CallOptions& options,
                  const registry::Node& node,
                  const std::vector<registry::Service>& versions) const;
  void Count(Counter counter, absl::string_view service, int64_t n = 1);
  // Whether the selector is told around attempts (and the clock read for
  // it): always now that the default selector weighs latency; kept so a
  // default that ignores them can skip the reads.
  bool Hooks(const CallOptions& options) const {
    return options.selector != nullptr || selector_hooks_;
  }
  concurrency::ThreadPool& HedgePool();
  // One attempt to open a stream on `node` (client.cc).
  absl::StatusOr<std::unique_ptr<ClientStream>> OpenStream(
      const registry::Node& node,
      const std::vector<registry::Service>& versions,
      const CallRequest& request, absl::Time deadline, StreamWindow window,
      service_internal::Attempt* attempt);
  // The way to `node`, by its protocol.
  service_internal::CallPath& PathTo(const registry::Node& node) const;
  absl::Status RunAsync(concurrency::Task task);
  // CallRaw; `answer_content_type`: an answer without Content-Type gets the
  // request's (typed calls read such an answer with the request's codec).
  absl::StatusOr<Message> CallMessage(absl::string_view service,
                                      absl::string_view endpoint,
                                      Message request, CallOptions options,
                                      bool answer_content_type);
  // Encodes `request` into `message` (body and Content-Type); the codec.
  absl::StatusOr<const Codec*> EncodeRequest(
      const google::protobuf::Message& request, CallOptions& options,
      Message* message) const;

  const ClientOptions options_;
  const std::shared_ptr<registry::CachingRegistry> registry_;
  const std::shared_ptr<transport::Transport> transport_;
  const std::shared_ptr<broker::Broker> broker_;
  const std::shared_ptr<events::Events> events_;
  const std::shared_ptr<Selector> selector_;
  const bool selector_hooks_;  // a selector of the caller's: tell it
  CallFunc call_;              // Invoke inside the wrappers

  const std::shared_ptr<service_internal::SocketPool> pool_;
  const std::unique_ptr<service_internal::CallPath> socket_path_;
  const std::unique_ptr<service_internal::CallPath> subject_path_;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> evicted_{0};
  std::atomic<int64_t> streams_{0};
  std::atomic<int64_t> budget_exhausted_{0};
  std::atomic<int64_t> outcome_unknown_{0};
  std::atomic<int64_t> hedges_{0};
  std::atomic<int64_t> hedge_wins_{0};
  std::atomic<int64_t> hedges_skipped_{0};
  std::atomic<int> hedges_queued_{0};  // on the hedge pool, not started
  std::atomic<int64_t> breaker_opened_{0};
  const std::unique_ptr<service_internal::RetryBudgetCore> budget_;
  // Null when disabled.
  const std::unique_ptr<service_internal::CircuitBreakers> breakers_;
  const std::unique_ptr<service_internal::EndpointLatencies> latencies_;
  // Made on the first hedged call; its tasks end before the rest goes.
  std::once_flag hedge_pool_once_;
  std::unique_ptr<concurrency::ThreadPool> hedge_pool_;
  // Last: destroyed (and its tasks run) first.
  std::unique_ptr<concurrency::ThreadPool> async_pool_;
};

// --- Implementation details of the templates ---

template <typename Req, typename Resp>
absl::StatusOr<Resp> Client::Call(absl::string_view service,
                                  absl::string_view endpoint,
                                  const Req& request, CallOptions options) {
  Message message;
  MN_ASSIGN_OR_RETURN(const Codec* codec,
                      EncodeRequest(request, options, &message));
  MN_ASSIGN_OR_RETURN(Message answer,
                      CallMessage(service, endpoint, std::move(message),
                                  std::move(options), false));
  // Without a Content-Type the answer is in the request's.
  if (auto type = answer.headers.find(kContentTypeHeader);
      type != answer.headers.end()) {
    MN_ASSIGN_OR_RETURN(codec, CodecFor(type->second));
  }
  Resp response;
  MN_RETURN_IF_ERROR(codec->Unmarshal(answer.body, &response));
  return response;
}

template <typename Req, typename Resp>
absl::StatusOr<ClientStreamOf<Req, Resp>> Client::Stream(
    absl::string_view service, absl::string_view endpoint,
    StreamOptions options) {
  MN_ASSIGN_OR_RETURN(
      const Codec* codec,
      CodecFor(options.call.content_type.empty()
                   ? absl::string_view(options_.content_type)
                   : absl::string_view(options.call.content_type)));
  options.call.content_type = std::string(codec->content_type());
  MN_ASSIGN_OR_RETURN(std::unique_ptr<ClientStream> raw,
                      StreamRaw(service, endpoint, std::move(options)));
  return ClientStreamOf<Req, Resp>(std::move(raw), codec);
}

template <typename Req, typename Resp>
void Client::CallAsync(std::string service, std::string endpoint, Req request,
                       CallOptions options,
                       std::function<void(absl::StatusOr<Resp>)> done) {
  auto shared_done =
      std::make_shared<std::function<void(absl::StatusOr<Resp>)>>(
          std::move(done));
  absl::Status scheduled =
      RunAsync([this, service = std::move(service),
                endpoint = std::move(endpoint), request = std::move(request),
                options = std::move(options), shared_done]() mutable {
        (*shared_done)(
            Call<Req, Resp>(service, endpoint, request, std::move(options)));
      });
  if (!scheduled.ok()) (*shared_done)(scheduled);
}

template <typename Req, typename Resp>
std::future<absl::StatusOr<Resp>> Client::CallFuture(std::string service,
                                                     std::string endpoint,
                                                     Req request,
                                                     CallOptions options) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Resp>>>();
  std::future<absl::StatusOr<Resp>> future = promise->get_future();
  CallAsync<Req, Resp>(std::move(service), std::move(endpoint),
                       std::move(request), std::move(options),
                       [promise](absl::StatusOr<Resp> result) {
                         promise->set_value(std::move(result));
                       });
  return future;
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_CLIENT_H_
