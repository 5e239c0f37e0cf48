// Copyright 2026 The micro-nats Authors.

#include "service/server.h"

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/wait.h"
#include "service/errors.h"
#include "service/internal/call_path.h"
#include "service/internal/stream_core.h"
#include "status/error_sink.h"
#include "status/guarded.h"

namespace micro_nats::service {
namespace {

constexpr size_t kMaxEndpointName = 128;
// A Micro-Id longer than this is not echoed (ours are 16 bytes, go-micro's
// UUIDs 36).
constexpr size_t kMaxIdHeader = 256;
// What an observer is told of a call to an endpoint the server lacks: one
// label, not one per name sent.
constexpr absl::string_view kUnknownEndpoint = "unknown";

// How long a request stamped `arrived` (coarse clock, as the transport
// stamps; InfinitePast: not stamped) waited. Two coarse reads, so one
// that did not wait across a tick waited none: the stamp's coarseness
// never shortens a deadline that queueing did not.
absl::Duration QueuedSince(absl::Time arrived) {
  if (arrived == absl::InfinitePast()) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), concurrency::CoarseNow() - arrived);
}

// An endpoint's option values Handle and HandleStream check and publish.
absl::Status CheckEndpointOptions(absl::string_view endpoint,
                                  EndpointOptions& options) {
  if (options.max_concurrency < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint '", endpoint, "': max_concurrency must be >= 0",
                     ", not ", options.max_concurrency));
  }
  // What clients read to retry after delivery (client.h).
  if (options.idempotent) options.metadata["idempotent"] = "true";
  return absl::OkStatus();
}

std::string NewNodeId(absl::string_view name) {
  absl::BitGen gen;
  return absl::StrFormat("%s-%016x", name, absl::Uniform<uint64_t>(gen));
}

absl::Status ValidateEndpointName(absl::string_view endpoint) {
  if (endpoint.empty() || endpoint.size() > kMaxEndpointName) {
    return absl::InvalidArgumentError(
        absl::StrCat("an endpoint name has 1 to ", kMaxEndpointName,
                     " bytes, not ", endpoint.size()));
  }
  for (char c : endpoint) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("endpoint name '", absl::CHexEscape(endpoint),
                       "' has a space or control character"));
    }
    if (c == '*' || c == '>') {
      // Served on "<service>.<endpoint>" by the NATS Service API: a
      // wildcard there would take the requests of the other endpoints.
      return absl::InvalidArgumentError(
          absl::StrCat("endpoint name '", endpoint, "' has a wildcard ('",
                       std::string(1, c), "')"));
    }
  }
  if (endpoint.front() == '.' || endpoint.back() == '.' ||
      absl::StrContains(endpoint, "..")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "endpoint name '", endpoint, "' has an empty dot-separated part"));
  }
  return absl::OkStatus();
}

std::string NewErrorId() {
  static thread_local absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

// What the caller's Timeout header says of its deadline.
absl::StatusOr<absl::Time> DeadlineFrom(const Message& request,
                                        absl::Time arrived) {
  auto it = request.headers.find(kTimeoutHeader);
  if (it == request.headers.end() || it->second.empty()) {
    return absl::InfiniteFuture();
  }
  int64_t nanos = 0;
  if (!absl::SimpleAtoi(it->second, &nanos) || nanos < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Timeout header '", it->second.substr(0, 32),
                     "' is not a whole number of nanoseconds"));
  }
  return arrived + absl::Nanoseconds(nanos);
}

// A header's value, or "" when absent.
const std::string& HeaderOr(const Headers& headers, const char* name) {
  static const std::string* const kEmpty = new std::string;
  auto it = headers.find(name);
  return it == headers.end() ? *kEmpty : it->second;
}
const std::string& HeaderOr(const Message& message, const char* name) {
  return HeaderOr(message.headers, name);
}

// Gives an answer the request's Micro-Id, so the caller can match it.
// Few other headers: each one costs on both ends of every call. An id that
// could not go back as a header is left out.
void CopyId(const Message& request, Message* answer) {
  if (auto id = request.headers.find(kIdHeader);
      id != request.headers.end() && id->second.size() <= kMaxIdHeader &&
      ValidateHeaderValue(kIdHeader, id->second).ok()) {
    service_internal::SetHeader(&answer->headers, kIdHeader, id->second);
  }
}

// An error answer: a fresh message with the request's Micro-Id, the error
// and, for a refusal of the server's own, kRefusedHeader. Nothing of the
// handler's: its headers may be what could not be sent.
Message ErrorAnswer(const Message& request, const absl::Status& error,
                    absl::string_view refusal, absl::string_view service) {
  Message answer;
  CopyId(request, &answer);
  answer.headers[kErrorHeader] = ErrorToJson(error, service);
  if (!refusal.empty()) answer.headers[kRefusedHeader] = std::string(refusal);
  return answer;
}

std::vector<std::shared_ptr<Frontend>> TakeFrontends(ServerOptions& options) {
  std::vector<std::shared_ptr<Frontend>> frontends;
  frontends.swap(options.frontends);
  return frontends;
}

}  // namespace

struct Server::SubscriberGate {
  // False once Stop began: the message is not delivered (counted).
  bool Enter() {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) {
      ++skipped;
      return false;
    }
    ++running;
    return true;
  }

  void Leave() {
    std::unique_ptr<broker::Subscriber> ending;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--running == 0 && closed) {
        ending = std::move(orphan);
        idle.notify_all();
      }
    }
    // From the subscription's own callback: Unsubscribe does not wait for
    // this call, and the subscription's state outlives it.
    if (ending != nullptr) ending->Unsubscribe().IgnoreError();
  }

  std::mutex mu;
  std::condition_variable idle;  // running reached 0 while closed
  bool closed = false;           // guarded by mu
  int running = 0;               // guarded by mu: callbacks in progress
  int64_t skipped = 0;           // guarded by mu: messages after closing
  // The subscriber, when Stop's deadline passed with a callback running:
  // ended by that callback's Leave, so Stop does not wait for it.
  std::unique_ptr<broker::Subscriber> orphan;  // guarded by mu
};

struct Server::Core : std::enable_shared_from_this<Server::Core> {
  struct Counters {
    // Handlers running, counted only with EndpointOptions::max_concurrency.
    std::atomic<int> running{0};
    std::atomic<int64_t> requests{0};
    std::atomic<int64_t> errors{0};
    std::atomic<int64_t> processing_nanos{0};
    LatencyHistogram latency;
    mutable std::mutex mu;
    std::string last_error;  // guarded by mu
  };
  struct Endpoint {
    Handler handler;  // wrapped
    EndpointOptions options;
    std::unique_ptr<Counters> counters = std::make_unique<Counters>();
    StreamHandler stream_handler;  // set for a stream endpoint only
  };

  explicit Core(ServerOptions server_options)
      : options(std::move(server_options)) {}

  void OnRequest(const std::shared_ptr<transport::Socket>& socket,
                 Message request);
  void OnOverload(const std::shared_ptr<transport::Socket>& socket,
                  const Message& request);
  // A frame of a stream's (Micro-Stream): to its stream, or an open.
  void OnStreamFrame(const std::shared_ptr<transport::Socket>& socket,
                     Message frame);
  void OpenStream(const std::shared_ptr<transport::Socket>& socket,
                  Message open);
  // Runs a stream's handler (on the stream pool) and ends the stream;
  // `opened`: when its open was handled (its processing time's start),
  // after it waited `queued`.
  void RunStream(const std::shared_ptr<service_internal::StreamCore>& stream,
                 const std::string& endpoint_name, Message open,
                 absl::Time opened, absl::Duration queued);
  // A stream is over (or never started): forgets it.
  void StreamDone(const transport::Socket* socket);
  // The status a handler that threw becomes (and its report).
  absl::Status Threw(absl::string_view endpoint_name,
                     const absl::Status& thrown);
  // Counts one call of an endpoint's (a request or a stream).
  void Count(Counters& counters, absl::Time start, const absl::Status& status);
  // Takes one of the endpoint's max_concurrency slots (Release gives it
  // back); false, counted as overload, when none is free.
  bool Acquire(const Endpoint& endpoint);
  void Release(const Endpoint& endpoint);
  // The refusal of a call beyond `endpoint`'s max_concurrency.
  absl::Status EndpointOverloaded(absl::string_view name,
                                  const Endpoint& endpoint) const;
  // Counts a request (or stream open) whose deadline passed while it
  // waited: not run.
  void CountExpired();
  // Counts a refusal for overload (the queue, an endpoint's limit, the
  // streams).
  void CountOverload();
  // Tells the observer of a call refused before it ran (on this thread).
  void ObserveRefusal(CallKind kind, absl::string_view endpoint_name,
                      const Headers& headers, const absl::Status& status);
  // Answers `request` for `endpoint_name` into `response` (an error as
  // ErrorAnswer) and returns the handler's status.
  absl::Status Serve(absl::string_view endpoint_name, const Message& request,
                     absl::Time arrived, Message* response);
  // Sets `*refusal` when the error is the server's own refusal.
  // `arrived`: when the request arrived, on the coarse clock (InfinitePast:
  // unknown, now). Observed when there is an observer.
  absl::Status Dispatch(absl::string_view endpoint_name, const Message& request,
                        absl::Time arrived, Message* response,
                        std::string* refusal);
  // Dispatch's work; `it` is the endpoint's entry, or endpoints.end().
  absl::Status Run(std::map<std::string, Endpoint, std::less<>>::iterator it,
                   absl::string_view endpoint_name, const Message& request,
                   absl::Time arrived, Message* response, std::string* refusal);
  // An answer Serve made that could not be sent (`why`): counted as an
  // error, replacing the success Dispatch counted.
  void CountUnsent(absl::string_view endpoint_name, const absl::Status& why);
  std::vector<EndpointStats> Stats() const;
  void Report(const absl::Status& status) const;

  const ServerOptions options;
  const std::shared_ptr<std::atomic<bool>> gave_up =
      std::make_shared<std::atomic<bool>>(false);
  // Written before Start only.
  std::map<std::string, Endpoint, std::less<>> endpoints;
  absl::Time started;  // written by Start only

  // Atomics, not a lock per request: a request counts itself in flight,
  // then checks stopping; Stop sets stopping, then waits for in_flight to
  // reach 0 (both sequentially consistent, so one of them sees the other).
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};    // requests being handled
  std::mutex mu;                    // for drained only
  std::condition_variable drained;  // in_flight reached 0 while stopping

  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> overloaded{0};
  std::atomic<int64_t> expired{0};

  // Streams. has_streams and stream_window are set before Start; a server
  // without stream endpoints looks at no frame's Micro-Stream header.
  bool has_streams = false;
  StreamWindow stream_window;
  std::shared_ptr<concurrency::ThreadPool> stream_pool;  // set by Start
  // Open streams (counted as in_flight is, so Stop sees one or the other).
  std::atomic<int> open_streams{0};
  std::mutex streams_mu;
  std::map<const transport::Socket*,
           std::shared_ptr<service_internal::StreamCore>>
      streams;  // guarded by streams_mu
  std::atomic<int64_t> streams_opened{0};
  std::atomic<int64_t> streams_cancelled{0};
};

Server::Server(ServerOptions options,
               std::shared_ptr<registry::Registry> registry,
               std::shared_ptr<transport::Transport> transport,
               std::shared_ptr<broker::Broker> broker,
               std::shared_ptr<events::Events> events)
    : frontends_(TakeFrontends(options)),
      core_(std::make_shared<Core>(std::move(options))),
      options_(core_->options),
      registry_(std::move(registry)),
      transport_(std::move(transport)),
      broker_(std::move(broker)),
      events_(std::move(events)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    ServerOptions options, std::shared_ptr<registry::Registry> registry,
    std::shared_ptr<transport::Transport> transport,
    std::shared_ptr<broker::Broker> broker,
    std::shared_ptr<events::Events> events) {
  if (registry == nullptr || transport == nullptr) {
    return absl::InvalidArgumentError(
        "a server needs a registry and a transport");
  }
  if (options.identity.version.empty()) options.identity.version = "latest";
  if (options.id.empty()) options.id = NewNodeId(options.identity.name);
  // What Start registers, checked now: name, version, node id.
  MN_RETURN_IF_ERROR(
      registry::ValidateService({.name = options.identity.name,
                                 .version = options.identity.version,
                                 .nodes = {{.id = options.id}}}));
  if (options.listen.executor == nullptr &&
      options.listen.handler_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen.handler_threads must be >= 1, not ",
                     options.listen.handler_threads));
  }
  if (options.listen.on_overload || options.listen.on_error) {
    return absl::InvalidArgumentError(
        "listen.on_overload and listen.on_error are the server's own (it "
        "answers overload itself; use ServerOptions::on_error)");
  }
  if (options.max_streams < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_streams must be >= 1, not ", options.max_streams));
  }
  if (options.max_stream_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_stream_duration must be above zero, not ",
                     absl::FormatDuration(options.max_stream_duration)));
  }
  MN_ASSIGN_OR_RETURN(
      options.stream_window,
      service_internal::ResolveWindow(options.stream_window, StreamWindow{}));
  if (options.register_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("register_ttl must be above zero, not ",
                     absl::FormatDuration(options.register_ttl)));
  }
  return std::unique_ptr<Server>(
      new Server(std::move(options), std::move(registry), std::move(transport),
                 std::move(broker), std::move(events)));
}

Server::~Server() { Stop(absl::Now() + absl::Seconds(10)).IgnoreError(); }

template <typename Make>
absl::Status Server::AddEndpoint(absl::string_view method,
                                 absl::string_view endpoint, Make make) {
  MN_RETURN_IF_ERROR(ValidateEndpointName(endpoint));
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) {
    return absl::FailedPreconditionError(absl::StrCat(
        method, "('", endpoint, "') after Start: register handlers first"));
  }
  if (core_->endpoints.count(endpoint) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("endpoint '", endpoint, "' has a handler already"));
  }
  core_->endpoints.emplace(std::string(endpoint), make());
  return absl::OkStatus();
}

absl::Status Server::Handle(absl::string_view endpoint, Handler handler,
                            EndpointOptions options) {
  if (!handler) return absl::InvalidArgumentError("the handler is empty");
  MN_RETURN_IF_ERROR(CheckEndpointOptions(endpoint, options));
  return AddEndpoint("Handle", endpoint, [&] {
    // The first wrapper is the outermost.
    for (auto it = options_.wrappers.rbegin(); it != options_.wrappers.rend();
         ++it) {
      handler = (*it)(std::move(handler));
    }
    return Core::Endpoint{std::move(handler), std::move(options)};
  });
}

absl::Status Server::HandleStream(absl::string_view endpoint,
                                  StreamHandler handler,
                                  EndpointOptions options) {
  if (!handler) return absl::InvalidArgumentError("the handler is empty");
  MN_RETURN_IF_ERROR(CheckEndpointOptions(endpoint, options));
  return AddEndpoint("HandleStream", endpoint, [&] {
    // go-micro's mark of a stream endpoint.
    options.metadata["stream"] = "true";
    Core::Endpoint entry{.options = std::move(options)};
    entry.stream_handler = std::move(handler);
    core_->has_streams = true;
    return entry;
  });
}

absl::Status Server::SubscribeRaw(absl::string_view topic,
                                  MessageCallback callback,
                                  SubscriberOptions options) {
  if (!callback) return absl::InvalidArgumentError("the callback is empty");
  MN_RETURN_IF_ERROR(broker::ValidateSubscribeTopic(topic));
  MN_RETURN_IF_ERROR(broker::ValidateQueueName(options.queue));
  if (broker_ == nullptr) {
    return absl::FailedPreconditionError("this server has no broker");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) {
    return absl::FailedPreconditionError(
        absl::StrCat("Subscribe('", topic, "') after Start: subscribe first"));
  }
  auto gate = std::make_shared<SubscriberGate>();
  broker::Handler handler = [core = core_, gate, topic = std::string(topic),
                             callback = std::move(callback)](
                                const broker::Event& event) {
    if (!gate->Enter()) return absl::OkStatus();
    absl::Cleanup leave = [&gate] { gate->Leave(); };
    // Observed under the subscribed topic: a wildcard's topics are the
    // network's to choose.
    ObservationScope observed;
    if (core->options.observer != nullptr) {
      observed = ObservationScope(core->options.observer->ServerCall(
          CallKind::kMessage, core->options.identity.name, topic,
          event.message.headers));
    }
    Context ctx(Context::Borrowed(), core->options.identity.name, event.topic,
                HeaderOr(event.message, kContentTypeHeader),
                absl::InfiniteFuture(), event.message.headers, core->gave_up);
    absl::Status status;
    {
      service_internal::CurrentContextScope current(&ctx);
      status = callback(ctx, event.message);
    }
    if (observed) observed.set_status(status);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("subscriber of '", event.topic,
                                       "' failed: ", status.message()));
    }
    return status;
  };
  pending_subscriptions_.push_back({std::string(topic), std::move(handler),
                                    std::move(options), std::move(gate)});
  return absl::OkStatus();
}

absl::Status Server::ConsumeRaw(absl::string_view topic, EventCallback callback,
                                ConsumerOptions options) {
  if (!callback) return absl::InvalidArgumentError("the callback is empty");
  if (events_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Consume('", topic,
        "'): this server has no events (a NATS service gets them with "
        "NatsServiceOptions::events, on a nats-server with JetStream: "
        "nats-server -js)"));
  }
  events::Handler handler = [core = core_, topic = std::string(topic),
                             callback = std::move(callback)](
                                const events::Event& event) {
    // Observed under the consumed topic, as a subscriber's deliveries.
    ObservationScope observed;
    if (core->options.observer != nullptr) {
      observed = ObservationScope(core->options.observer->ServerCall(
          CallKind::kEvent, core->options.identity.name, topic, event.headers));
    }
    Context ctx(Context::Borrowed(), core->options.identity.name, event.topic,
                HeaderOr(event.headers, kContentTypeHeader),
                absl::InfiniteFuture(), event.headers, core->gave_up);
    absl::Status status;
    {
      service_internal::CurrentContextScope current(&ctx);
      status = callback(ctx, event);
    }
    if (observed) observed.set_status(status);
    return status;
  };
  MN_RETURN_IF_ERROR(events::ValidateConsume(topic, handler, options));
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) {
    return absl::FailedPreconditionError(
        absl::StrCat("Consume('", topic, "') after Start: consume first"));
  }
  pending_consumers_.push_back(
      {std::string(topic), std::move(handler), std::move(options)});
  return absl::OkStatus();
}

absl::Status Server::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return absl::FailedPreconditionError("Start was called");
    started_ = true;
  }
  if (core_->has_streams) {
    core_->stream_pool =
        std::make_shared<concurrency::ThreadPool>(options_.max_streams);
  }
  transport::ListenOptions listen = options_.listen;
  listen.on_overload =
      [core = core_](const std::shared_ptr<transport::Socket>& socket,
                     Message request) { core->OnOverload(socket, request); };
  listen.on_error = [core = core_](const absl::Status& s) { core->Report(s); };
  MN_ASSIGN_OR_RETURN(listener_,
                      transport_->Listen(options_.address, std::move(listen)));
  MN_RETURN_IF_ERROR(listener_->AcceptMessages(
      [core = core_](const std::shared_ptr<transport::Socket>& socket,
                     Message request) {
        core->OnRequest(socket, std::move(request));
      }));
  for (PendingSubscription& pending : pending_subscriptions_) {
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<broker::Subscriber> subscriber,
        broker_->Subscribe(pending.topic, std::move(pending.handler),
                           {.queue = pending.options.queue}));
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_.push_back({std::move(pending.gate), std::move(subscriber)});
  }
  pending_subscriptions_.clear();
  for (PendingConsumer& pending : pending_consumers_) {
    absl::StatusOr<std::unique_ptr<events::Consumer>> consumer =
        events_->Consume(pending.topic, std::move(pending.handler),
                         std::move(pending.options));
    if (!consumer.ok()) {
      return absl::Status(
          consumer.status().code(),
          absl::StrCat("consuming '", pending.topic,
                       "' failed: ", consumer.status().message()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    consumers_.push_back(std::move(consumer).value());
  }
  pending_consumers_.clear();
  core_->started = absl::Now();
  for (const std::shared_ptr<Frontend>& frontend : frontends_) {
    if (frontend == nullptr) continue;
    MN_RETURN_IF_ERROR(frontend->Start(Served()));
    std::lock_guard<std::mutex> lock(mu_);
    started_frontends_.push_back(frontend);
  }
  MN_RETURN_IF_ERROR(
      registry_->Register(registration(), {.ttl = options_.register_ttl}));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) ready_.store(true, std::memory_order_release);
  }
  if (options_.register_interval > absl::ZeroDuration() &&
      options_.register_interval != absl::InfiniteDuration()) {
    reregister_ = concurrency::Scheduler::Default().Every(
        options_.register_interval, [this] { Reregister(); });
  }
  return absl::OkStatus();
}

void Server::Reregister() {
  absl::Status status =
      registry_->Register(registration(), {.ttl = options_.register_ttl});
  {
    // Ready while the last renewal held (callers find the node); never
    // again once Stop began (it set stopping_ and ready_ under mu_).
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) ready_.store(status.ok(), std::memory_order_release);
  }
  if (!status.ok()) {
    core_->Report(absl::Status(
        status.code(), absl::StrCat("re-registering '", options_.identity.name,
                                    "' failed: ", status.message())));
  }
}

absl::Status Server::Stop(absl::Time deadline) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!started_) return absl::OkStatus();
    if (stopping_) {
      // Another Stop runs (or ran): its result, once it has one.
      if (!concurrency::WaitUntil(cv_, lock, deadline,
                                  [this] { return stopped_; })) {
        return absl::DeadlineExceededError(absl::StrCat(
            "service '", options_.identity.name,
            "' is being stopped by another Stop that had not finished by "
            "this one's deadline"));
      }
      return stop_result_;
    }
    stopping_ = true;
    // Not ready before anything goes: a readiness probe turns callers
    // away while the node still serves.
    ready_.store(false, std::memory_order_release);
    cv_.notify_all();
  }
  core_->stopping = true;
  reregister_.Cancel();  // waits out a renewal in progress
  // Callers stop picking this node; requests still coming get Unavailable.
  absl::Status status = registry_->Deregister(registration());
  // Frontends take no more and finish theirs while the server still serves.
  std::vector<std::shared_ptr<Frontend>> frontends;
  {
    std::lock_guard<std::mutex> lock(mu_);
    frontends.swap(started_frontends_);
  }
  for (const std::shared_ptr<Frontend>& frontend : frontends) {
    absl::Status stopped = frontend->Stop(deadline);
    if (status.ok()) status = stopped;
  }
  // Subscriptions: no callback starts from here on. One with none running
  // ends now; one whose callback runs is waited for by the deadline, and
  // past it is left to end when that callback returns (Unsubscribe would
  // wait for it without limit).
  std::vector<Subscription> subscriptions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subscriptions.swap(subscribers_);
  }
  for (Subscription& sub : subscriptions) {
    {
      std::lock_guard<std::mutex> lock(sub.gate->mu);
      sub.gate->closed = true;
      if (sub.gate->running > 0) continue;
    }
    sub.subscriber->Unsubscribe().IgnoreError();
    sub.subscriber.reset();
  }
  int callbacks_running = 0;
  int64_t skipped = 0;
  for (Subscription& sub : subscriptions) {
    std::unique_ptr<broker::Subscriber> done;
    {
      std::unique_lock<std::mutex> lock(sub.gate->mu);
      if (sub.subscriber != nullptr) {
        if (concurrency::WaitUntil(sub.gate->idle, lock, deadline,
                                   [&] { return sub.gate->running == 0; })) {
          done = std::move(sub.subscriber);
        } else {
          callbacks_running += sub.gate->running;
          sub.gate->orphan = std::move(sub.subscriber);
        }
      }
    }
    if (done != nullptr) done->Unsubscribe().IgnoreError();
  }
  // Consumers: each takes no more events and waits for its callbacks by
  // the deadline; those still running finish on their own, and their
  // events come again (never acknowledged for them).
  std::vector<std::unique_ptr<events::Consumer>> consumers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    consumers.swap(consumers_);
  }
  int consumers_late = 0;
  for (std::unique_ptr<events::Consumer>& consumer : consumers) {
    if (consumer->Stop(deadline).ok()) {
      consumer.reset();
      continue;
    }
    // Its destructor would wait for the callback again: kept until the
    // server goes, so this Stop returns by its deadline.
    ++consumers_late;
    std::lock_guard<std::mutex> lock(mu_);
    late_consumers_.push_back(std::move(consumer));
  }
  int still_running = 0;
  {
    std::unique_lock<std::mutex> lock(core_->mu);
    if (!concurrency::WaitUntil(core_->drained, lock, deadline, [&] {
          return core_->in_flight == 0 && core_->open_streams == 0;
        })) {
      still_running = core_->in_flight;
    }
    // Requests still queued for a handler thread are refused "stopping"
    // (retryable) as threads take them; ended with their sockets by the
    // Shutdown below, their callers could not know they never ran
    // ("outcome unknown"). Bounded: a queue that does not drain costs
    // Stop at most half a second more.
    if (still_running == 0 && listener_ != nullptr &&
        listener_->WaitingMessages() > 0) {
      concurrency::WaitUntil(
          core_->drained, lock,
          std::min(deadline, absl::Now() + absl::Milliseconds(500)), [&] {
            return core_->in_flight == 0 && listener_->WaitingMessages() == 0;
          });
    }
  }
  if (still_running > 0 || callbacks_running > 0 || consumers_late > 0) {
    core_->gave_up->store(true);
  }
  // Streams still open at the deadline are cancelled: their handlers'
  // Contexts say so, their callers hear it.
  int64_t streams_cancelled = 0;
  {
    std::vector<std::shared_ptr<service_internal::StreamCore>> open;
    {
      std::lock_guard<std::mutex> lock(core_->streams_mu);
      for (const auto& [socket, stream] : core_->streams) {
        open.push_back(stream);
      }
    }
    const absl::Status why = absl::CancelledError(
        absl::StrCat("service '", options_.identity.name,
                     "' stopped: the stream was open at its Stop deadline"));
    for (const auto& stream : open) {
      if (stream->Abort(why, /*tell_peer=*/true)) ++streams_cancelled;
    }
    core_->streams_cancelled += streams_cancelled;
  }
  for (Subscription& sub : subscriptions) {
    std::lock_guard<std::mutex> lock(sub.gate->mu);
    skipped += sub.gate->skipped;
  }
  if (skipped > 0) {
    core_->Report(absl::UnavailableError(
        absl::StrCat("service '", options_.identity.name, "' did not deliver ",
                     skipped, " broker messages that came while it stopped")));
  }
  absl::Status shutdown =
      listener_ == nullptr ? absl::OkStatus() : listener_->Shutdown(deadline);
  absl::Status result;
  if (still_running > 0 || callbacks_running > 0 || streams_cancelled > 0 ||
      consumers_late > 0) {
    result = absl::DeadlineExceededError(absl::StrCat(
        "service '", options_.identity.name, "' stopped with ", still_running,
        " requests and ", callbacks_running,
        " subscriber callbacks still running",
        consumers_late > 0
            ? absl::StrCat(", ", consumers_late,
                           " event consumers with callbacks still running")
            : "",
        streams_cancelled > 0 ? absl::StrCat(", and cancelled ",
                                             streams_cancelled, " open streams")
                              : ""));
  } else if (!shutdown.ok()) {
    result = shutdown;
  } else {
    result = status;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  stop_result_ = result;
  cv_.notify_all();
  return result;
}

std::string Server::address() const {
  return listener_ == nullptr ? std::string() : listener_->Address();
}

ServedService Server::Served() const {
  ServedService served{.name = options_.identity.name,
                       .id = options_.id,
                       .version = options_.identity.version,
                       .description = options_.description,
                       .metadata = options_.identity.metadata,
                       .started = core_->started};
  for (const auto& [name, endpoint] : core_->endpoints) {
    served.endpoints.push_back(
        {name, endpoint.options, static_cast<bool>(endpoint.stream_handler)});
  }
  served.serve = [core = core_](absl::string_view endpoint,
                                const Message& request, Message* response) {
    return core->Serve(endpoint, request, absl::InfinitePast(), response);
  };
  served.serve_since = [core = core_](absl::string_view endpoint,
                                      const Message& request,
                                      absl::Time arrived, Message* response) {
    return core->Serve(endpoint, request, arrived, response);
  };
  served.stats = [core = core_] { return core->Stats(); };
  served.count_overload = [core = core_] {
    core->CountOverload();
    ++core->requests;
    ++core->errors;
  };
  served.count_unsent = [core = core_](absl::string_view endpoint,
                                       const absl::Status& why) {
    core->CountUnsent(endpoint, why);
  };
  return served;
}

absl::Status AnswerNotSent(const absl::Status& sent) {
  return absl::InternalError(
      absl::StrCat("the answer could not be sent: ", sent.message()));
}

registry::Service Server::registration() const {
  registry::Service service{.name = options_.identity.name,
                            .version = options_.identity.version,
                            .metadata = options_.identity.metadata};
  for (const auto& [name, endpoint] : core_->endpoints) {
    service.endpoints.push_back({.name = name,
                                 .request = endpoint.options.request,
                                 .response = endpoint.options.response,
                                 .metadata = endpoint.options.metadata});
  }
  service.nodes.push_back(
      {.id = options_.id,
       .address = address(),
       .metadata = {{"server", "micro-nats"}, {"protocol", "micro-nats"}}});
  return service;
}

std::vector<EndpointStats> Server::endpoint_stats() const {
  return core_->Stats();
}

ServerStats Server::stats() const {
  return {.requests = core_->requests.load(),
          .errors = core_->errors.load(),
          .overloaded = core_->overloaded.load(),
          .streams = core_->streams_opened.load(),
          .streams_cancelled_at_stop = core_->streams_cancelled.load(),
          .expired_in_queue = core_->expired.load()};
}

void Server::Core::OnRequest(const std::shared_ptr<transport::Socket>& socket,
                             Message request) {
  if (has_streams) {
    static const std::string* const kStream =
        new std::string(service_internal::kStreamHeader);
    if (request.headers.count(*kStream) != 0) {
      OnStreamFrame(socket, std::move(request));
      return;
    }
  }
  ++in_flight;
  Message response;
  absl::Status status = Serve(HeaderOr(request, kEndpointHeader), request,
                              transport::MessageArrived(), &response);
  // Moved: the memory transport hands this very message to the caller (no
  // copy); NATS sends it from here. Refused, it is rebuilt below.
  absl::Status sent = socket->Send(std::move(response));
  if (!sent.ok() && status.ok() && !absl::IsOutOfRange(sent) &&
      !absl::IsUnavailable(sent) && !absl::IsFailedPrecondition(sent)) {
    // The answer itself is what cannot go (too large): say so instead, in
    // a fresh message, or the caller waits out its deadline.
    Report(absl::Status(
        sent.code(), absl::StrCat("the answer of '", options.identity.name, ".",
                                  HeaderOr(request, kEndpointHeader),
                                  "' could not be sent: ", sent.message())));
    const absl::Status unsent = AnswerNotSent(sent);
    CountUnsent(HeaderOr(request, kEndpointHeader), unsent);
    response = ErrorAnswer(request, unsent, "", options.identity.name);
    sent = socket->Send(std::move(response));
  }
  // What a copying Send (NATS) left here, and the request's call headers,
  // are this thread's for the next call it makes or answers (a caller run
  // inline on this thread, as the memory transport does, sets its call
  // headers in them).
  service_internal::ReclaimCallHeaders(&response.headers);
  service_internal::ReclaimCallHeaders(&request.headers);
  if (!sent.ok() && !absl::IsOutOfRange(sent) && !absl::IsUnavailable(sent)) {
    Report(absl::Status(
        sent.code(),
        absl::StrCat("answering a call to '", options.identity.name,
                     "' failed: ", sent.message())));
  }
  // Only Stop waits for this (a wake-up per request would cost more than
  // the request). Notified under the lock: Stop checks in_flight under it.
  if (--in_flight == 0 && stopping) {
    std::lock_guard<std::mutex> lock(mu);
    drained.notify_all();
  }
}

absl::Status Server::Core::Serve(absl::string_view endpoint_name,
                                 const Message& request, absl::Time arrived,
                                 Message* response) {
  std::string refusal;
  absl::Status status =
      Dispatch(endpoint_name, request, arrived, response, &refusal);
  ++requests;
  if (!status.ok()) {
    ++errors;
    *response = ErrorAnswer(request, status, refusal, options.identity.name);
    return status;
  }
  CopyId(request, response);
  // No Content-Type when the answer is in the request's: callers read it so
  // (Client::Call; NATS micro libraries send none either). Except for a
  // type other than protobuf: clients from before that change read an
  // answer without one as protobuf.
  if (response->headers.count(kContentTypeHeader) == 0) {
    absl::string_view type = HeaderOr(request, kContentTypeHeader);
    if (!type.empty() && type != kProtobufContentType) {
      response->headers.emplace(kContentTypeHeader, std::string(type));
    }
  }
  return status;
}

absl::Status Server::Core::Dispatch(absl::string_view endpoint_name,
                                    const Message& request, absl::Time arrived,
                                    Message* response, std::string* refusal) {
  auto it = endpoints.find(endpoint_name);
  if (options.observer == nullptr) {
    return Run(it, endpoint_name, request, arrived, response, refusal);
  }
  // On this thread, around the handler: a tracer's span is current while
  // it runs. Refusals end with theirs.
  ObservationScope observed(options.observer->ServerCall(
      CallKind::kUnary, options.identity.name,
      it == endpoints.end() ? kUnknownEndpoint : absl::string_view(it->first),
      request.headers));
  absl::Status status =
      Run(it, endpoint_name, request, arrived, response, refusal);
  observed.set_status(status);
  return status;
}

absl::Status Server::Core::Run(
    std::map<std::string, Endpoint, std::less<>>::iterator it,
    absl::string_view endpoint_name, const Message& request, absl::Time arrived,
    Message* response, std::string* refusal) {
  if (stopping) {
    *refusal = "stopping";
    return absl::UnavailableError(
        absl::StrCat("service '", options.identity.name, "' is stopping"));
  }
  if (it == endpoints.end()) {
    *refusal = "no-endpoint";
    return absl::NotFoundError(absl::StrCat(
        "service '", options.identity.name, "' has no endpoint '",
        absl::string_view(endpoint_name).substr(0, kMaxEndpointName), "'"));
  }
  Endpoint& endpoint = it->second;
  if (endpoint.stream_handler) {
    return absl::InvalidArgumentError(absl::StrCat(
        "endpoint '", it->first, "' of service '", options.identity.name,
        "' is a stream endpoint: open it with Client::Stream, not Call"));
  }
  // One precise read serves the deadline check and the processing time;
  // the wait is the coarse clock's.
  const absl::Time now = absl::Now();
  const absl::Duration queued = QueuedSince(arrived);
  MN_ASSIGN_OR_RETURN(absl::Time deadline, DeadlineFrom(request, now - queued));
  if (now >= deadline) {
    CountExpired();
    return absl::DeadlineExceededError(absl::StrCat(
        "the caller's deadline passed before the request was handled (it "
        "waited ",
        absl::FormatDuration(queued), ")"));
  }
  if (!Acquire(endpoint)) {
    *refusal = "overloaded";
    return EndpointOverloaded(it->first, endpoint);
  }
  Context ctx(Context::Borrowed(), options.identity.name, it->first,
              HeaderOr(request, kContentTypeHeader), deadline, request.headers,
              gave_up, queued);
  absl::Status status;
  {
    service_internal::CurrentContextScope current(&ctx);
    if (absl::Status thrown =
            Guarded([&] { status = endpoint.handler(ctx, request, response); });
        !thrown.ok()) {
      status = Threw(endpoint_name, thrown);
    }
  }
  Release(endpoint);
  if (status.ok()) {
    for (auto& [key, value] : ctx.response_metadata()) {
      response->headers.emplace(key, value);
    }
    // Headers are checked once, where the answer is sent (the transport's
    // Send, a frontend's publish): an answer that cannot go is replaced by
    // an error saying so (OnRequest, the frontends), so the caller does not
    // wait out its deadline.
  }
  Count(*endpoint.counters, now, status);
  return status;
}

bool Server::Core::Acquire(const Endpoint& endpoint) {
  const int limit = endpoint.options.max_concurrency;
  if (limit == 0) return true;
  // No lock: one over the limit for a moment is given back at once.
  if (endpoint.counters->running.fetch_add(1, std::memory_order_acq_rel) <
      limit) {
    return true;
  }
  endpoint.counters->running.fetch_sub(1, std::memory_order_acq_rel);
  CountOverload();
  return false;
}

void Server::Core::Release(const Endpoint& endpoint) {
  if (endpoint.options.max_concurrency == 0) return;
  endpoint.counters->running.fetch_sub(1, std::memory_order_acq_rel);
}

absl::Status Server::Core::EndpointOverloaded(absl::string_view name,
                                              const Endpoint& endpoint) const {
  return absl::ResourceExhaustedError(
      absl::StrCat("endpoint '", name, "' of service '", options.identity.name,
                   "' is overloaded: ", endpoint.options.max_concurrency,
                   " calls run already (max_concurrency)"));
}

void Server::Core::CountExpired() {
  ++expired;
  if (options.observer != nullptr) {
    options.observer->Count(Counter::kExpiredInQueue, options.identity.name);
  }
}

void Server::Core::CountOverload() {
  ++overloaded;
  if (options.observer != nullptr) {
    options.observer->Count(Counter::kRefusedOverload, options.identity.name);
  }
}

void Server::Core::ObserveRefusal(CallKind kind,
                                  absl::string_view endpoint_name,
                                  const Headers& headers,
                                  const absl::Status& status) {
  if (options.observer == nullptr) return;
  auto it = endpoints.find(endpoint_name);
  std::unique_ptr<Observation> observation = options.observer->ServerCall(
      kind, options.identity.name,
      it == endpoints.end() ? kUnknownEndpoint : absl::string_view(it->first),
      headers);
  if (observation != nullptr) observation->End(status);
}

absl::Status Server::Core::Threw(absl::string_view endpoint_name,
                                 const absl::Status& thrown) {
  // The text may hold what the caller must not see (paths, data, other
  // callers'): it stays in the log, under an id the caller gets.
  const std::string error_id = NewErrorId();
  Report(absl::InternalError(absl::StrCat("the handler of '", endpoint_name,
                                          "' threw (error id ", error_id,
                                          "): ", thrown.message())));
  return options.expose_handler_exceptions
             ? absl::InternalError(absl::StrCat("the handler of '",
                                                endpoint_name,
                                                "' threw: ", thrown.message()))
             : absl::InternalError(absl::StrCat(
                   "the handler of '", endpoint_name, "' failed; error id ",
                   error_id, " (the service's log has its text)"));
}

void Server::Core::Count(Counters& counters, absl::Time start,
                         const absl::Status& status) {
  const absl::Duration took = absl::Now() - start;
  counters.processing_nanos += absl::ToInt64Nanoseconds(took);
  counters.latency.Record(took);
  ++counters.requests;
  if (!status.ok()) {
    ++counters.errors;
    std::lock_guard<std::mutex> lock(counters.mu);
    counters.last_error = status.ToString();
  }
}

namespace {

// The handler's end of a stream.
class ServerStreamImpl : public ServerStream {
 public:
  explicit ServerStreamImpl(service_internal::StreamCore& core) : core_(core) {}
  absl::StatusOr<Message> Recv(absl::Time deadline) override {
    return core_.Recv(deadline);
  }
  absl::Status Send(Message message, absl::Time deadline) override {
    return core_.Send(std::move(message), deadline);
  }

 private:
  service_internal::StreamCore& core_;
};

}  // namespace

void Server::Core::OnStreamFrame(
    const std::shared_ptr<transport::Socket>& socket, Message frame) {
  std::shared_ptr<service_internal::StreamCore> stream;
  {
    std::lock_guard<std::mutex> lock(streams_mu);
    if (auto it = streams.find(socket.get()); it != streams.end()) {
      stream = it->second;
    }
  }
  if (stream != nullptr) {
    stream->OnFrame(std::move(frame));
    return;
  }
  absl::StatusOr<service_internal::FrameKind> kind =
      service_internal::KindOf(frame.headers);
  if (kind.ok() && *kind == service_internal::FrameKind::kOpen) {
    OpenStream(socket, std::move(frame));
    return;
  }
  // A frame for no stream of ours: its stream ended (and the frame was on
  // its way), or the peer is confused. Either way the socket is done.
  if (kind.ok() && *kind != service_internal::FrameKind::kCancel) {
    Message end = service_internal::Frame(service_internal::FrameKind::kEnd);
    end.headers[kErrorHeader] = ErrorToJson(
        absl::InvalidArgumentError(absl::StrCat(
            "a stream frame ('", service_internal::FrameKindName(*kind),
            "') on a socket with no open stream")),
        options.identity.name);
    socket->Send(std::move(end)).IgnoreError();
  } else if (!kind.ok()) {
    socket->Send(ErrorAnswer(frame, kind.status(), "", options.identity.name))
        .IgnoreError();
  }
  socket->Close().IgnoreError();
}

void Server::Core::OpenStream(const std::shared_ptr<transport::Socket>& socket,
                              Message open) {
  // The Timeout counts from the open's arrival, as a request's.
  const absl::Time now = absl::Now();
  const absl::Time arrived = now - QueuedSince(transport::MessageArrived());
  // Counted before stopping is read, as in_flight: Stop sees one or the
  // other.
  ++open_streams;
  const std::string& endpoint_name = HeaderOr(open, kEndpointHeader);
  auto refuse = [&](const absl::Status& why, absl::string_view refusal) {
    ++requests;
    ++errors;
    ObserveRefusal(CallKind::kStream, endpoint_name, open.headers, why);
    socket->Send(ErrorAnswer(open, why, refusal, options.identity.name))
        .IgnoreError();
    StreamDone(nullptr);
  };
  if (stopping) {
    refuse(absl::UnavailableError(absl::StrCat(
               "service '", options.identity.name, "' is stopping")),
           "stopping");
    return;
  }
  auto it = endpoints.find(endpoint_name);
  if (it == endpoints.end()) {
    refuse(
        absl::NotFoundError(absl::StrCat(
            "service '", options.identity.name, "' has no endpoint '",
            absl::string_view(endpoint_name).substr(0, kMaxEndpointName), "'")),
        "no-endpoint");
    return;
  }
  if (!it->second.stream_handler) {
    refuse(absl::UnimplementedError(absl::StrCat(
               "endpoint '", it->first, "' of service '", options.identity.name,
               "' is not a stream endpoint: call it with Call, not Stream")),
           "");
    return;
  }
  if (open_streams > options.max_streams) {
    CountOverload();
    refuse(absl::ResourceExhaustedError(absl::StrCat(
               "service '", options.identity.name,
               "' is overloaded: ", options.max_streams, " streams are open")),
           "overloaded");
    return;
  }
  absl::StatusOr<absl::Time> deadline = DeadlineFrom(open, arrived);
  // No Timeout (or a long one) holds a stream slot no longer than this.
  if (deadline.ok()) {
    *deadline = std::min(*deadline, arrived + options.max_stream_duration);
  }
  absl::StatusOr<StreamWindow> peer =
      deadline.ok() ? service_internal::ParseWindow(open.headers)
                    : absl::StatusOr<StreamWindow>(deadline.status());
  if (!peer.ok()) {
    refuse(peer.status(), "");
    return;
  }
  if (now >= *deadline) {
    CountExpired();
    refuse(absl::DeadlineExceededError(absl::StrCat(
               "the caller's deadline passed before the stream was opened (it "
               "waited ",
               absl::FormatDuration(now - arrived), ")")),
           "");
    return;
  }
  // Given back when its handler returned (RunStream), or below when it
  // cannot start.
  if (!Acquire(it->second)) {
    refuse(EndpointOverloaded(it->first, it->second), "overloaded");
    return;
  }
  auto stream = std::make_shared<service_internal::StreamCore>(
      service_internal::StreamCore::Role::kServer, socket, stream_window, *peer,
      *deadline, options.identity.name);
  {
    std::lock_guard<std::mutex> lock(streams_mu);
    streams[socket.get()] = stream;
  }
  Message accept =
      service_internal::Frame(service_internal::FrameKind::kAccept);
  service_internal::SetWindow(&accept.headers, stream_window);
  const absl::Duration idle = options.listen.idle_timeout;
  if (idle > absl::ZeroDuration() && idle != absl::InfiniteDuration()) {
    // The client pings a few times per idle timeout, so the listener's
    // reaper spares a stream whose client lives (and ends one whose
    // client vanished).
    accept.headers[service_internal::kStreamKeepaliveHeader] =
        absl::StrCat(absl::ToInt64Nanoseconds(idle / 4));
  }
  CopyId(open, &accept);
  // The client went away, was reaped, the listener closed: the handler's
  // Context says Cancelled. At once when it ended already. Before the
  // accept: from then on the socket is kept, so no frame the client sends
  // on hearing the accept can be load-shed (transport.h).
  absl::Status sent =
      socket->NotifyOnEnd([weak = std::weak_ptr<service_internal::StreamCore>(
                               stream)](const absl::Status& why) {
        if (auto alive = weak.lock()) alive->OnSocketEnd(why);
      });
  if (sent.ok()) sent = socket->Send(std::move(accept));
  if (sent.ok()) {
    ++streams_opened;
    sent = stream_pool->Schedule([self = shared_from_this(), stream,
                                  name = it->first, open = std::move(open), now,
                                  queued = now - arrived]() mutable {
      self->RunStream(stream, name, std::move(open), now, queued);
    });
  }
  if (!sent.ok()) {
    Release(it->second);
    stream->Abort(absl::ResourceExhaustedError(absl::StrCat(
                      "the stream could not start: ", sent.message())),
                  /*tell_peer=*/true);
    StreamDone(socket.get());
  }
}

void Server::Core::RunStream(
    const std::shared_ptr<service_internal::StreamCore>& stream,
    const std::string& endpoint_name, Message open, absl::Time opened,
    absl::Duration queued) {
  auto it = endpoints.find(endpoint_name);  // there: OpenStream found it
  service_internal::StripStreamHeaders(&open.headers);
  const std::string content_type = HeaderOr(open, kContentTypeHeader);
  Context ctx(options.identity.name, endpoint_name, content_type,
              stream->deadline(), std::move(open.headers),
              stream->failed_flag(), queued);
  // On the stream pool's thread, from the handler's start to its end.
  ObservationScope observed;
  if (options.observer != nullptr) {
    observed = ObservationScope(options.observer->ServerCall(
        CallKind::kStream, options.identity.name, it->first, ctx.metadata()));
  }
  ServerStreamImpl raw(*stream);
  absl::Status status;
  {
    service_internal::CurrentContextScope current(&ctx);
    if (absl::Status thrown =
            Guarded([&] { status = it->second.stream_handler(ctx, raw); });
        !thrown.ok()) {
      status = Threw(endpoint_name, thrown);
    }
  }
  Release(it->second);
  if (observed) observed.set_status(status);
  Count(*it->second.counters, opened, status);
  ++requests;
  if (!status.ok()) ++errors;
  stream->Finish(status, ctx.response_metadata());
  // The socket is closed: nothing more comes for it.
  StreamDone(stream->socket());
}

void Server::Core::StreamDone(const transport::Socket* socket) {
  if (socket != nullptr) {
    std::lock_guard<std::mutex> lock(streams_mu);
    streams.erase(socket);
  }
  if (--open_streams == 0 && stopping) {
    std::lock_guard<std::mutex> lock(mu);
    drained.notify_all();
  }
}

void Server::Core::CountUnsent(absl::string_view endpoint_name,
                               const absl::Status& why) {
  ++errors;
  auto it = endpoints.find(endpoint_name);
  if (it == endpoints.end()) return;
  Counters& counters = *it->second.counters;
  ++counters.errors;
  std::lock_guard<std::mutex> lock(counters.mu);
  counters.last_error = why.ToString();
}

std::vector<EndpointStats> Server::Core::Stats() const {
  std::vector<EndpointStats> stats;
  for (const auto& [name, endpoint] : endpoints) {
    const Counters& counters = *endpoint.counters;
    EndpointStats one{
        .name = name,
        .requests = counters.requests.load(),
        .errors = counters.errors.load(),
        .processing_time = absl::Nanoseconds(counters.processing_nanos.load()),
        .latency = counters.latency.snapshot()};
    {
      std::lock_guard<std::mutex> lock(counters.mu);
      one.last_error = counters.last_error;
    }
    stats.push_back(std::move(one));
  }
  return stats;
}

void Server::Core::OnOverload(const std::shared_ptr<transport::Socket>& socket,
                              const Message& request) {
  CountOverload();
  ++requests;
  ++errors;
  const absl::Status why = absl::ResourceExhaustedError(absl::StrCat(
      "service '", options.identity.name, "' is overloaded: ",
      options.listen.max_waiting_messages, " requests wait already"));
  ObserveRefusal(CallKind::kUnary, HeaderOr(request, kEndpointHeader),
                 request.headers, why);
  socket->Send(ErrorAnswer(request, why, "overloaded", options.identity.name))
      .IgnoreError();
}

void Server::Core::Report(const absl::Status& status) const {
  ReportError(options.on_error, {"service", options.identity.name}, status);
}

}  // namespace micro_nats::service
