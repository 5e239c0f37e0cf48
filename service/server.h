// Copyright 2026 The micro-nats Authors.
//
// server.h: the serving half of a service — endpoints, subscribers and the
// registration that makes them findable.
//
// A Server listens on one transport address, registers a node there under
// its service name (with a TTL, re-announced on an interval, deregistered
// on Stop), and routes each request to the handler of the endpoint it
// names (the `Micro-Endpoint` header, e.g. "Greeter.Hello"):
//
//   MN_ASSIGN_OR_RETURN(
//       std::unique_ptr<Server> server,
//       Server::Create({.identity = {.name = "greeter"}}, registry,
//                      transport, broker));
//   MN_RETURN_IF_ERROR(server->Handle<HelloRequest, HelloReply>(
//       "Greeter.Hello",
//       [](Context& ctx, const HelloRequest& req, HelloReply* reply) {
//         reply->set_message("Hello " + req.name());
//         return absl::OkStatus();
//       }));
//   MN_RETURN_IF_ERROR(server->Subscribe<OrderCreated>(
//       "orders.created", OnOrder, {.queue = "billing"}));
//   MN_RETURN_IF_ERROR(server->Start());
//   ...
//   MN_RETURN_IF_ERROR(server->Stop(absl::Now() + absl::Seconds(10)));
//
// Most services get theirs from a Service (service.h), which makes it.
//
// Typed handlers decode the request with the codec its Content-Type names
// (protobuf or JSON, codec.h) and answer in the same; raw handlers get the
// bytes. A handler's error status goes back to the caller as go-micro's
// Micro-Error (errors.h); the server goes on serving. A handler that throws
// is answered Internal with an error id, and the exception's text goes to
// on_error only (expose_handler_exceptions shows it to callers). An error
// answer carries the request's Micro-Id and the error, nothing the handler
// set; a refusal of the server's own (stopping, overloaded, no such
// endpoint) is marked (kRefusedHeader), so clients retry elsewhere only on
// those.
//
// Threads: requests run on the listener's bounded pool
// (listen.handler_threads). Requests beyond wait; once
// listen.max_waiting_messages wait, new ones are answered
// ResourceExhausted at once. Never a thread per client. An endpoint may
// be bounded too (EndpointOptions::max_concurrency).
//
// Deadlines count the wait: a request's deadline is its arrival (stamped
// where the transport queues it for a handler thread) plus the caller's
// Timeout, so the handler's Context has what is left (Context::queued says
// how long it waited), and a request whose deadline passed while it waited
// is answered DeadlineExceeded without running (ServerStats::
// expired_in_queue). The stamp is the coarse clock's (a tick, 1-4 ms); on
// NATS it is taken when the listener takes the message from its
// subscription, which it does while every handler thread is busy (time in
// the server's socket buffers and nats.c's queue before that is not
// counted).
//
// Endpoints are published in the registry with their request and response
// described as go-micro Value trees (describe.h), so go-micro's tools show
// their fields.

#ifndef MICRO_NATS_SERVICE_SERVER_H_
#define MICRO_NATS_SERVICE_SERVER_H_

#include <google/protobuf/message.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/broker.h"
#include "concurrency/scheduler.h"
#include "events/events.h"
#include "registry/registry.h"
#include "service/codec.h"
#include "service/context.h"
#include "service/describe.h"
#include "service/latency_histogram.h"
#include "service/observer.h"
#include "service/stream.h"
#include "status/status_macros.h"
#include "transport/transport.h"

namespace micro_nats::service {

// Answers one request: reads `request` (body and headers), fills
// `response` (body; headers are added to the answer's). A non-OK status is
// the caller's error and `response` is not sent.
using Handler = std::function<absl::Status(Context& ctx, const Message& request,
                                           Message* response)>;

// Middleware: wraps a handler (logging, metrics, auth). The first wrapper
// given is the outermost.
using HandlerWrapper = std::function<Handler(Handler next)>;

// Called with each broker message of a subscription.
using MessageCallback =
    std::function<absl::Status(Context& ctx, const Message& message)>;

struct EndpointOptions {
  Metadata metadata;  // published with the endpoint
  // Where the NATS Service API (service/nats) serves the endpoint: its
  // subject (empty: "<service name>.<endpoint name>", after the service's
  // group) and queue group (unset: the service's, "q" by default; empty: a
  // plain subscription, every instance answers).
  std::string subject;
  absl::optional<std::string> queue_group;
  // How the registry describes the request and response (typed handlers
  // fill these from the protobuf types).
  absl::optional<registry::Value> request;
  absl::optional<registry::Value> response;
  // Handlers of this endpoint running at once (calls and streams, however
  // they come: transport, frontends); 0: no limit but the server's. A call
  // beyond is refused ResourceExhausted (kRefusedHeader "overloaded"), as
  // the server-wide limit refuses: the caller's error, not retried
  // elsewhere (retry.h); counted as ServerStats::overloaded.
  int max_concurrency = 0;
  // Running it twice has the effect of running it once: clients may retry
  // it after it may have reached a handler, and hedge it (client.h).
  // Published as endpoint metadata "idempotent": "true".
  bool idempotent = false;
};

struct SubscriberOptions {
  // Non-empty: one subscriber of the queue group gets each message.
  std::string queue;
};

// Called with each durable event of a consumer (Server::ConsumeRaw); its
// context's endpoint is the event's topic, its metadata the event's
// headers. OK acknowledges the event (after the call); an error or an
// exception has it delivered again after the backoff, and dead-lettered
// with the reason at max_deliveries (events.h).
using EventCallback =
    std::function<absl::Status(Context& ctx, const events::Event& event)>;

// A consumer's group, start, max_deliveries, backoff, ack_wait,
// max_in_flight and dead-letter topic (events.h ConsumeOptions). A new
// group needs a start: none is picked silently.
using ConsumerOptions = events::ConsumeOptions;

class Frontend;

// Who a service is: what the registry, the NATS Service API and callers
// see. ServerOptions, ServiceOptions and the stacks' options
// (NatsServiceOptions, MemoryServiceOptions) each hold one; a value set at
// two levels must agree (MergeIdentity, service.h), never silently wins.
struct ServiceIdentity {
  std::string name;     // required
  std::string version;  // empty: "latest"
  Metadata metadata;    // the service's, in the registry

  friend bool operator==(const ServiceIdentity&,
                         const ServiceIdentity&) = default;
};

// The server's defaults for its listener (ServerOptions::listen): more
// threads and sockets than a bare transport listener, and a bounded queue.
inline transport::ListenOptions DefaultServerListenOptions() {
  return {
      .max_sockets = 4096, .handler_threads = 32, .max_waiting_messages = 1024};
}

struct ServerOptions {
  ServiceIdentity identity;
  // What the service does, for people (the NATS Service API's INFO).
  std::string description;
  // This instance's node id; empty: the name and a random suffix.
  std::string id;
  // The transport address; empty: a new unique one.
  std::string address;

  // The listener the requests come in on (transport.h ListenOptions):
  //   handler_threads       requests handled at once (default 32);
  //   max_waiting_messages  requests waiting for a thread before new ones
  //                         are refused with ResourceExhausted (1024);
  //   max_sockets           client sockets open at once (4096);
  //   close_timeout         how long destroying the server waits for
  //                         handlers an overdue Stop left running (10 s);
  //                         those still running after it finish on their
  //                         own and hold what they use;
  //   inline_handlers       memory backend: the caller's thread runs the
  //                         handler while there is room (the memory stack
  //                         sets it); NATS ignores it.
  // Set fields one by one (`options.listen.handler_threads = 8`) to keep
  // the server's defaults for the rest: `.listen = {...}` starts from the
  // transport's. on_overload and on_error are the server's own (it answers
  // overload, and reports to `on_error` below): InvalidArgument if set.
  transport::ListenOptions listen = DefaultServerListenOptions();

  // A registration expires unless renewed within register_ttl; it is
  // renewed every register_interval (go-micro: 90 s and 30 s).
  absl::Duration register_ttl = absl::Seconds(90);
  absl::Duration register_interval = absl::Seconds(30);

  // Wraps the unary handlers (Handle), not stream handlers.
  std::vector<HandlerWrapper> wrappers;

  // Streams (HandleStream, stream.h): what the handler's end holds
  // received and unread; and how many streams are open at once, each
  // holding a thread of the server's stream pool for its handler's life
  // (started as needed). An open beyond is refused ResourceExhausted (a
  // refusal, kRefusedHeader "overloaded"). Never on the listener's
  // handler threads: those only route a stream's frames.
  // max_streams is also the budget any client can exhaust (by opening
  // streams and keeping them alive: it pings as asked), so each stream's
  // life is bounded too: max_stream_duration, or the client's Timeout when
  // sooner (a stream opened without one gets this). At its end the
  // handler's Context, Recv and Send say DeadlineExceeded, and the client
  // reads that as the stream's end. InfiniteDuration: the client's alone.
  StreamWindow stream_window;
  int max_streams = 64;
  absl::Duration max_stream_duration = absl::Hours(1);

  // Other ways in to the endpoints, started and stopped with the server
  // (service/nats adds the NATS Service API). Each serves one server.
  std::vector<std::shared_ptr<Frontend>> frontends;

  // Development only: the text of a handler's exception goes to the
  // caller and to EndpointStats::last_error (which `$SRV.STATS` shows to
  // anyone on the NATS account). Off: they get an error id, and the text
  // goes to on_error with that id.
  bool expose_handler_exceptions = false;

  // Failures nobody else hears of: a handler that threw, an answer that
  // could not be sent, a failed re-registration, a subscriber's error.
  // Unset: the process error sink (status/error_sink.h) as "service", with
  // the service's name.
  std::function<void(const absl::Status&)> on_error;

  // Told of every call handled (observer.h): unary calls, streams,
  // subscriber deliveries and consumer deliveries, on the thread that runs
  // the handler, refusals included; and of requests refused overloaded or
  // dropped expired (Count). Null: none (one null check per call).
  std::shared_ptr<Observer> observer;
};

struct ServerStats {
  int64_t requests = 0;    // answered, errors included
  int64_t errors = 0;      // answered with an error
  int64_t overloaded = 0;  // refused with ResourceExhausted, queue full
  int64_t streams = 0;     // streams accepted
  // Streams Stop cancelled at its deadline (their handlers' Contexts are
  // Cancelled, their callers' Recv returns Cancelled).
  int64_t streams_cancelled_at_stop = 0;
  // Requests (and stream opens) whose caller's deadline passed while they
  // waited for a handler thread: answered DeadlineExceeded, not run.
  int64_t expired_in_queue = 0;
};

// The requests one endpoint's handler ran for, however they came.
struct EndpointStats {
  std::string name;
  int64_t requests = 0;
  int64_t errors = 0;              // the handler (or decoding) failed
  std::string last_error;          // empty when none
  absl::Duration processing_time;  // in the handler, all requests
  // Each handler call's duration (a stream's: open to end), for
  // percentiles ($SRV.STATS, metrics). Not refusals nor expired requests.
  LatencyHistogram::Snapshot latency;
};

// A server as a Frontend sees it.
struct ServedService {
  std::string name;
  std::string id;  // the node id it registers
  std::string version;
  std::string description;
  Metadata metadata;
  absl::Time started;
  struct Endpoint {
    std::string name;
    EndpointOptions options;
    // A stream endpoint (HandleStream): served on the transport only
    // (`serve` refuses it).
    bool stream = false;
  };
  std::vector<Endpoint> endpoints;
  // Handles `request` for `endpoint` as a call through the transport is
  // handled (wrappers, codecs, counts) and returns the handler's status.
  // An error leaves `response` a fresh error answer: Micro-Error, and
  // kRefusedHeader for the server's own refusals. Thread-safe; after the
  // server stopped it returns Unavailable (a refusal).
  std::function<absl::Status(absl::string_view endpoint, const Message& request,
                             Message* response)>
      serve;
  // As serve, for a request that arrived at `arrived` (a frontend that
  // queues requests for a pool of its own stamps them as it takes them, so
  // the caller's deadline counts the wait: one that passed meanwhile is
  // answered DeadlineExceeded without running the handler). The coarse
  // clock will do (concurrency::CoarseNow).
  std::function<absl::Status(absl::string_view endpoint, const Message& request,
                             absl::Time arrived, Message* response)>
      serve_since;
  // The endpoints' counters now.
  std::function<std::vector<EndpointStats>()> stats;
  // Counts a request the frontend refused because too many waited, as the
  // server counts its own (ServerStats::overloaded, requests, errors).
  std::function<void()> count_overload;
  // Counts a call to `endpoint` that serve answered but whose answer could
  // not be sent (`why`, AnswerNotSent's): an error of the endpoint's and the
  // server's, not the success serve counted.
  std::function<void(absl::string_view endpoint, const absl::Status& why)>
      count_unsent;
};

// The error a caller is answered with, and its endpoint counts, when the
// answer itself could not be sent (`sent`: too large, a bad header).
absl::Status AnswerNotSent(const absl::Status& sent);

// Frontend: another way in to a server's endpoints, beside its transport
// listener (service/nats's NATS Service API).
class Frontend {
 public:
  virtual ~Frontend() = default;
  // Called by Server::Start once the server listens.
  virtual absl::Status Start(ServedService service) = 0;
  // Called first by Server::Stop: take no new requests, and wait for
  // those passed to `serve` until `deadline` (DeadlineExceeded saying how
  // many still run).
  virtual absl::Status Stop(absl::Time deadline) = 0;
};

// Server
//
// Thread-safe. Register handlers and subscribers before Start.
class Server {
 public:
  // Checks the options once; Start does not again. InvalidArgument for an
  // invalid name, version or id, a missing registry or transport (the
  // broker is optional: no subscribers without; so are events: no
  // consumers without), listen.handler_threads
  // below 1 without an executor, listen.on_overload or listen.on_error set,
  // max_streams below 1, max_stream_duration not above zero, a
  // stream_window beyond its bounds (stream.h; a
  // zero field takes StreamWindow's default), or a register_ttl that is not
  // above zero.
  static absl::StatusOr<std::unique_ptr<Server>> Create(
      ServerOptions options, std::shared_ptr<registry::Registry> registry,
      std::shared_ptr<transport::Transport> transport,
      std::shared_ptr<broker::Broker> broker,
      std::shared_ptr<events::Events> events = nullptr);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Stops with a 10 s deadline when still running.
  ~Server();

  // Routes requests for `endpoint` to `handler`. InvalidArgument for an
  // empty or overlong name, or one that is not usable as part of a
  // concrete NATS subject (a space, a control character, `*`, `>`, an
  // empty dot-separated part): the NATS Service API serves it on
  // "<service>.<endpoint>", and `Cart.*` would take its siblings' requests;
  // AlreadyExists for a name taken; FailedPrecondition after Start.
  absl::Status Handle(absl::string_view endpoint, Handler handler,
                      EndpointOptions options = {});

  // A typed handler: Req and Resp are protobuf messages.
  template <typename Req, typename Resp>
  absl::Status Handle(
      absl::string_view endpoint,
      std::function<absl::Status(Context&, const Req&, Resp*)> handler,
      EndpointOptions options = {});

  // Serves streams opened on `endpoint` (Client::StreamRaw): `handler`
  // runs once per stream, on the server's stream pool (max_streams).
  // Registered with endpoint metadata "stream": "true" (go-micro's); not
  // offered on the NATS Service API, which has no streams. A plain Call to
  // it is InvalidArgument. As Handle otherwise.
  absl::Status HandleStream(absl::string_view endpoint, StreamHandler handler,
                            EndpointOptions options = {});

  // A typed stream handler: Req and Resp are protobuf messages, decoded
  // and encoded with the stream's Content-Type.
  template <typename Req, typename Resp>
  absl::Status HandleStream(
      absl::string_view endpoint,
      std::function<absl::Status(Context&, ServerStreamOf<Req, Resp>&)> handler,
      EndpointOptions options = {});

  // Delivers broker messages on `topic` (wildcards allowed) to `callback`;
  // its context's endpoint is the message's topic. An error it returns is
  // reported to on_error. FailedPrecondition after Start.
  absl::Status SubscribeRaw(absl::string_view topic, MessageCallback callback,
                            SubscriberOptions options = {});

  // A typed subscriber, decoding with the message's Content-Type (absent:
  // protobuf). A message that does not decode is reported, not delivered.
  template <typename M>
  absl::Status Subscribe(
      absl::string_view topic,
      std::function<absl::Status(Context&, const M&)> callback,
      SubscriberOptions options = {});

  // Consumes the durable events of `topic` (wildcards allowed) with
  // `callback` from Start to Stop (events.h: at-least-once, acknowledged
  // after the callback returned OK). FailedPrecondition without events
  // (ServiceOptions::events; NewNatsService's NatsServiceOptions::events)
  // or after Start; InvalidArgument for bad options (events::
  // ValidateConsume). Start fails with what the events say of the group
  // (a new group without a start, one that exists with other settings).
  absl::Status ConsumeRaw(absl::string_view topic, EventCallback callback,
                          ConsumerOptions options);

  // A typed consumer, decoding with the event's Content-Type (absent:
  // protobuf). An event that does not decode is the callback's error
  // (InvalidArgument): retried, then dead-lettered with the reason, never
  // dropped.
  template <typename M>
  absl::Status Consume(absl::string_view topic,
                       std::function<absl::Status(Context&, const M&)> callback,
                       ConsumerOptions options);

  // Listens, subscribes, starts the consumers, registers, and starts
  // re-registering.
  // FailedPrecondition when called again; else whatever the blocks say.
  absl::Status Start();

  // Deregisters, refuses new requests (Unavailable, marked as a refusal,
  // so callers try another node), ends the subscriptions (a message that
  // comes meanwhile is not delivered; their count is reported), lets
  // requests and subscriber callbacks running finish until `deadline`,
  // then ends the listener. Consumers take no more events and their
  // running callbacks are waited for (their events acknowledged or
  // redelivered as usual). Every wait is bounded by `deadline`: past it,
  // the contexts of what still runs are Cancelled and Stop returns
  // DeadlineExceeded saying how many requests and callbacks still ran
  // (a consumer's events whose callbacks still ran come again elsewhere);
  // those finish on their own (a subscription whose callback still runs
  // ends when it returns). Idempotent; a concurrent call waits for the
  // first (by its own deadline) and returns its result.
  absl::Status Stop(absl::Time deadline);

  const std::string& name() const { return options_.identity.name; }
  const std::string& id() const { return options_.id; }
  // The transport address; empty before Start.
  std::string address() const;
  // The registry entry this server registers (one node: this one).
  registry::Service registration() const;
  ServerStats stats() const;
  // True from Start's registration until Stop begins (before Stop
  // deregisters or stops the frontends), and while the last renewal of the
  // registration succeeded: what a readiness probe says.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Per endpoint, in name order.
  std::vector<EndpointStats> endpoint_stats() const;

 private:
  // Options as Create checked them and filled in (version, id).
  Server(ServerOptions options, std::shared_ptr<registry::Registry> registry,
         std::shared_ptr<transport::Transport> transport,
         std::shared_ptr<broker::Broker> broker,
         std::shared_ptr<events::Events> events);

  // What request and message handlers use, shared with them: a handler
  // still running after an overdue Stop and the listener's close_timeout
  // keeps it alive, not the Server.
  struct Core;
  // One subscription's callbacks: counted while they run, refused once Stop
  // began.
  struct SubscriberGate;

  // Registers `endpoint` (for `method`: Handle, HandleStream) with the
  // entry `make()` returns, once the name is valid, free and Start has
  // not run (server.cc).
  template <typename Make>
  absl::Status AddEndpoint(absl::string_view method, absl::string_view endpoint,
                           Make make);

  // Renews the registration (on the process scheduler, every
  // register_interval).
  void Reregister();
  ServedService Served() const;

  // Taken out of the options before core_ keeps them: a frontend holds the
  // core (to serve), so the core must not hold the frontend.
  const std::vector<std::shared_ptr<Frontend>> frontends_;
  const std::shared_ptr<Core> core_;
  const ServerOptions& options_;  // core_'s: checked, defaults filled in
  const std::shared_ptr<registry::Registry> registry_;
  const std::shared_ptr<transport::Transport> transport_;
  const std::shared_ptr<broker::Broker> broker_;
  const std::shared_ptr<events::Events> events_;

  mutable std::mutex mu_;
  // stopped_ set (ends other Stops).
  std::condition_variable cv_;
  bool started_ = false;            // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  bool stopped_ = false;            // guarded by mu_
  std::atomic<bool> ready_{false};  // ready()
  absl::Status stop_result_;        // guarded by mu_: once stopped_
  struct PendingSubscription {
    std::string topic;
    broker::Handler handler;
    SubscriberOptions options;
    std::shared_ptr<SubscriberGate> gate;
  };
  std::vector<PendingSubscription> pending_subscriptions_;  // before Start
  struct Subscription {
    std::shared_ptr<SubscriberGate> gate;
    std::unique_ptr<broker::Subscriber> subscriber;
  };
  std::vector<Subscription> subscribers_;  // guarded by mu_
  struct PendingConsumer {
    std::string topic;
    events::Handler handler;
    ConsumerOptions options;
  };
  std::vector<PendingConsumer> pending_consumers_;            // before Start
  std::vector<std::unique_ptr<events::Consumer>> consumers_;  // guarded by mu_
  // Consumers whose callbacks ran past Stop's deadline: destroyed with the
  // server (a consumer's destructor waits for them once more).
  std::vector<std::unique_ptr<events::Consumer>> late_consumers_;  // mu_
  std::unique_ptr<transport::Listener> listener_;             // set by Start
  std::vector<std::shared_ptr<Frontend>> started_frontends_;  // mu_
  // Last: cancelled first (Stop cancels it too).
  concurrency::ScheduledTask reregister_;
};

// --- Implementation details of the templates ---

namespace service_internal {
// Describes a typed endpoint's request and response for the registry,
// unless the options do.
template <typename Req, typename Resp>
void DescribeEndpoint(EndpointOptions& options) {
  if (!options.request) options.request = DescribeMessage(*Req::descriptor());
  if (!options.response) {
    options.response = DescribeMessage(*Resp::descriptor());
  }
}
}  // namespace service_internal

template <typename Req, typename Resp>
absl::Status Server::Handle(
    absl::string_view endpoint,
    std::function<absl::Status(Context&, const Req&, Resp*)> handler,
    EndpointOptions options) {
  if (!handler) return absl::InvalidArgumentError("the handler is empty");
  service_internal::DescribeEndpoint<Req, Resp>(options);
  return Handle(
      endpoint,
      [handler = std::move(handler)](Context& ctx, const Message& request,
                                     Message* response) -> absl::Status {
        MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor(ctx.content_type()));
        Req req;
        MN_RETURN_IF_ERROR(codec->Unmarshal(request.body, &req));
        Resp resp;
        MN_RETURN_IF_ERROR(handler(ctx, req, &resp));
        MN_ASSIGN_OR_RETURN(response->body, codec->Marshal(resp));
        // Left out only when the request's and protobuf: callers read an
        // answer without one in the request's, and clients before that
        // change read it as protobuf. A header less on most answers.
        if (codec->content_type() != ctx.content_type() ||
            codec->content_type() != kProtobufContentType) {
          response->headers[kContentTypeHeader] =
              std::string(codec->content_type());
        }
        return absl::OkStatus();
      },
      std::move(options));
}

template <typename Req, typename Resp>
absl::Status Server::HandleStream(
    absl::string_view endpoint,
    std::function<absl::Status(Context&, ServerStreamOf<Req, Resp>&)> handler,
    EndpointOptions options) {
  if (!handler) return absl::InvalidArgumentError("the handler is empty");
  service_internal::DescribeEndpoint<Req, Resp>(options);
  return HandleStream(
      endpoint,
      [handler = std::move(handler)](Context& ctx,
                                     ServerStream& raw) -> absl::Status {
        MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor(ctx.content_type()));
        ServerStreamOf<Req, Resp> stream(raw, codec);
        return handler(ctx, stream);
      },
      std::move(options));
}

template <typename M>
absl::Status Server::Subscribe(
    absl::string_view topic,
    std::function<absl::Status(Context&, const M&)> callback,
    SubscriberOptions options) {
  if (!callback) return absl::InvalidArgumentError("the callback is empty");
  return SubscribeRaw(
      topic,
      [callback = std::move(callback)](Context& ctx,
                                       const Message& message) -> absl::Status {
        MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor(ctx.content_type()));
        M decoded;
        MN_RETURN_IF_ERROR(codec->Unmarshal(message.body, &decoded));
        return callback(ctx, decoded);
      },
      std::move(options));
}

template <typename M>
absl::Status Server::Consume(
    absl::string_view topic,
    std::function<absl::Status(Context&, const M&)> callback,
    ConsumerOptions options) {
  if (!callback) return absl::InvalidArgumentError("the callback is empty");
  return ConsumeRaw(
      topic,
      [callback = std::move(callback)](
          Context& ctx, const events::Event& event) -> absl::Status {
        // An event that cannot be read is an error, not a drop: it is
        // retried, then dead-lettered saying why.
        absl::StatusOr<const Codec*> codec = CodecFor(ctx.content_type());
        if (!codec.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("event ", event.sequence, " of '", event.topic,
                           "': ", codec.status().message()));
        }
        M decoded;
        if (absl::Status read = (*codec)->Unmarshal(event.body, &decoded);
            !read.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("event ", event.sequence, " of '", event.topic,
                           "' does not decode as ",
                           M::descriptor()->full_name(), ": ", read.message()));
        }
        return callback(ctx, decoded);
      },
      std::move(options));
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_SERVER_H_
