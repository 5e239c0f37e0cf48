// Copyright 2026 The micro-nats Authors.

#include "service/client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/scheduler.h"
#include "concurrency/wait.h"
#include "service/errors.h"
#include "service/internal/call_path.h"
#include "service/internal/socket_pool.h"
#include "service/internal/stream_core.h"
#include "service/retry.h"
#include "srv/protocol.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

// Hedged attempts beyond the first a policy may ask for.
constexpr int kMaxHedges = 4;

bool IsNatsMicro(const registry::Node& node) {
  auto it = node.metadata.find(srv::kProtocolMetadata);
  return it != node.metadata.end() && it->second == srv::kNatsMicroProtocol;
}

absl::Status Decorate(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

bool Hedges(const HedgePolicy& hedge) {
  return hedge.delay > absl::ZeroDuration() || hedge.after_p95;
}

absl::Status CheckHedge(const HedgePolicy& hedge, absl::string_view where) {
  if (hedge.delay < absl::ZeroDuration() || hedge.max_extra < 0 ||
      hedge.max_extra > kMaxHedges) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": a hedge's delay must not be negative and max_extra must be "
        "in [0, ",
        kMaxHedges, "], not ", absl::FormatDuration(hedge.delay), " and ",
        hedge.max_extra));
  }
  return absl::OkStatus();
}

// The options Create checks beyond the basics: the resilience ones.
absl::Status CheckResilience(const ClientOptions& options) {
  const RetryBudget& budget = options.retry_budget;
  if (!(budget.ratio >= 0 && budget.ratio <= 1000) ||
      budget.min_per_second < 0 || budget.window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry_budget: ratio must be in [0, 1000], min_per_second >= 0 and "
        "window above zero, not ",
        budget.ratio, ", ", budget.min_per_second, " and ",
        absl::FormatDuration(budget.window)));
  }
  const CircuitBreakerOptions& breaker = options.circuit_breaker;
  if (breaker.enabled &&
      (breaker.consecutive_failures < 1 || !(breaker.failure_ratio > 0) ||
       breaker.failure_ratio > 1 || breaker.min_calls < 1 ||
       breaker.window <= absl::ZeroDuration() ||
       breaker.cool_down <= absl::ZeroDuration() ||
       breaker.max_cool_down < breaker.cool_down ||
       breaker.half_open_calls < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "circuit_breaker: consecutive_failures, min_calls and half_open_calls "
        "must be >= 1, failure_ratio in (0, 1], window and cool_down above "
        "zero, max_cool_down >= cool_down; not ",
        breaker.consecutive_failures, ", ", breaker.min_calls, ", ",
        breaker.half_open_calls, ", ", breaker.failure_ratio, ", ",
        absl::FormatDuration(breaker.window), ", ",
        absl::FormatDuration(breaker.cool_down), ", ",
        absl::FormatDuration(breaker.max_cool_down)));
  }
  for (const auto& [name, policy] : options.policies) {
    if (name.empty()) {
      return absl::InvalidArgumentError(
          "policies: a policy needs an endpoint name (\"<service>.<endpoint>\" "
          "or \"<endpoint>\")");
    }
    const std::string where = absl::StrCat("policies[\"", name, "\"]");
    MN_RETURN_IF_ERROR(CheckHedge(policy.hedge, where));
    if (Hedges(policy.hedge) && policy.idempotent.has_value() &&
        !*policy.idempotent) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       ": hedges a non-idempotent endpoint (hedging sends the "
                       "same request twice)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    ClientOptions options, std::shared_ptr<registry::CachingRegistry> registry,
    std::shared_ptr<transport::Transport> transport,
    std::shared_ptr<broker::Broker> broker,
    std::shared_ptr<events::Events> events) {
  if (registry == nullptr || transport == nullptr) {
    return absl::InvalidArgumentError(
        "a client needs a registry and a transport");
  }
  MN_RETURN_IF_ERROR(CodecFor(options.content_type).status());
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout must be above zero, not ",
                     absl::FormatDuration(options.timeout)));
  }
  if (options.retries < 0 || options.backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retries and backoff must not be negative, not ", options.retries,
        " and ", absl::FormatDuration(options.backoff)));
  }
  if (options.async_threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "async_threads must be >= 1, not ", options.async_threads));
  }
  MN_ASSIGN_OR_RETURN(
      options.stream_window,
      service_internal::ResolveWindow(options.stream_window, StreamWindow{}));
  if (options.socket_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket_idle_timeout must be above zero, not ",
                     absl::FormatDuration(options.socket_idle_timeout)));
  }
  MN_RETURN_IF_ERROR(CheckResilience(options));
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(registry), std::move(transport),
                 std::move(broker), std::move(events)));
}

Client::Client(ClientOptions options,
               std::shared_ptr<registry::CachingRegistry> registry,
               std::shared_ptr<transport::Transport> transport,
               std::shared_ptr<broker::Broker> broker,
               std::shared_ptr<events::Events> events)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      transport_(std::move(transport)),
      broker_(std::move(broker)),
      events_(std::move(events)),
      selector_(options_.selector != nullptr ? options_.selector
                                             : NewRoundRobinSelector()),
      pool_(std::make_shared<service_internal::SocketPool>(
          transport_,
          service_internal::SocketPoolOptions{
              .max_idle_per_address = options_.max_idle_sockets_per_node,
              .idle_timeout = options_.socket_idle_timeout,
              .probe_interval = options_.probe_interval})),
      socket_path_(
          service_internal::NewSocketCallPath(pool_, options_.content_type)),
      subject_path_(service_internal::NewSubjectCallPath(
          options_.request_reply, options_.content_type)),
      async_pool_(
          std::make_unique<concurrency::ThreadPool>(options_.async_threads)) {
  call_ = [this](const CallRequest& request, const CallOptions& options) {
    return Invoke(request, options);
  };
  for (auto it = options_.wrappers.rbegin(); it != options_.wrappers.rend();
       ++it) {
    call_ = (*it)(std::move(call_));
  }
}

Client::~Client() {
  async_pool_.reset();  // runs the calls already scheduled
}

service_internal::CallPath& Client::PathTo(const registry::Node& node) const {
  return IsNatsMicro(node) ? *subject_path_ : *socket_path_;
}

absl::StatusOr<Message> Client::CallRaw(absl::string_view service,
                                        absl::string_view endpoint,
                                        Message request, CallOptions options) {
  return CallMessage(service, endpoint, std::move(request), std::move(options),
                     /*answer_content_type=*/true);
}

absl::StatusOr<Message> Client::CallMessage(absl::string_view service,
                                            absl::string_view endpoint,
                                            Message request,
                                            CallOptions options,
                                            bool answer_content_type) {
  if (options.deadline == absl::InfiniteFuture()) {
    const absl::Duration timeout = options.timeout > absl::ZeroDuration()
                                       ? options.timeout
                                       : options_.timeout;
    options.deadline = concurrency::DeadlineIn(timeout);
  }
  if (options.retries < 0) options.retries = options_.retries;
  for (auto& [key, value] : options.metadata) {
    request.headers.emplace(key, value);
  }
  CallRequest call{std::string(service), std::string(endpoint),
                   std::move(request)};
  absl::StatusOr<Message> answer =
      options_.wrappers.empty() ? Run(call, options) : call_(call, options);
  Headers& sent = call.message.headers;
  if (answer_content_type && answer.ok()) {
    // A server leaves Content-Type out when the answer is in the request's
    // (NATS micro libraries always do): say it for raw callers.
    if (auto type = sent.find(kContentTypeHeader);
        type != sent.end() && answer->headers.count(kContentTypeHeader) == 0) {
      answer->headers.emplace(kContentTypeHeader, type->second);
    }
  }
  service_internal::ReclaimCallHeaders(&sent);
  return answer;
}

absl::StatusOr<const Codec*> Client::EncodeRequest(
    const google::protobuf::Message& request, CallOptions& options,
    Message* message) const {
  // Wrappers see the call's content type; without them, no copy of it.
  if (options.content_type.empty() && !options_.wrappers.empty()) {
    options.content_type = options_.content_type;
  }
  MN_ASSIGN_OR_RETURN(const Codec* codec,
                      CodecFor(options.content_type.empty()
                                   ? absl::string_view(options_.content_type)
                                   : absl::string_view(options.content_type)));
  MN_ASSIGN_OR_RETURN(message->body, codec->Marshal(request));
  service_internal::SetHeader(&message->headers, kContentTypeHeader,
                              codec->content_type());
  return codec;
}

absl::StatusOr<Message> Client::Invoke(const CallRequest& request,
                                       const CallOptions& options) {
  CallRequest copy = request;
  return Run(copy, options);
}

template <typename Attempt>
auto Client::Attempts(const CallRequest& request, const CallOptions& options,
                      Attempt&& try_node) {
  using Result = decltype(try_node(
      std::declval<const registry::Node&>(),
      std::declval<const std::vector<registry::Service>&>(),
      std::declval<service_internal::CallPath&>(), std::declval<bool*>()));
  if (absl::Status valid = registry::ValidateServiceName(request.service);
      !valid.ok()) {
    return Result(valid);
  }
  // Only a timeout's text reads it: a tick's precision is enough, and a
  // precise read costs ~85 ns here (coarse_clock.h).
  const absl::Time start = concurrency::CoarseNow();
  // Only failures say it: built then, not on every call.
  auto what = [&] {
    return absl::StrCat("call to ", request.service, ".", request.endpoint);
  };
  Selector& selector =
      options.selector != nullptr ? *options.selector : *selector_;
  std::set<std::string> failed;  // node ids, this call
  absl::Status last;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      ++retries_;
      absl::BitGen gen;  // only when retrying: seeding one costs
      const absl::Duration wait =
          std::min(Backoff(attempt, options_.backoff, gen),
                   concurrency::Remaining(options.deadline));
      absl::SleepFor(wait);
    }
    // Shared with the cache (no copy): Evict below changes the cache's
    // entry, not this answer, which stays valid for this attempt.
    absl::StatusOr<std::shared_ptr<const registry::CachedLookup>> lookup =
        registry_->LookupShared(request.service, options.deadline);
    Result result;  // default: no allocation (a call's hot path)
    // Retried: a node that failed the call (a transport failure, or its
    // own refusal), or a registry that could not be asked. Never a
    // handler's status.
    bool node_failed = false;
    bool retryable = false;
    if (!lookup.ok()) {
      if (absl::IsNotFound(lookup.status())) {
        // Gone after its nodes failed this call: say what failed.
        if (!failed.empty()) {
          return Result(Decorate(last, absl::StrCat(what(), " failed after ",
                                                    attempt, " attempts: ")));
        }
        return Result(absl::NotFoundError(
            absl::StrCat("service '", request.service, "' not found")));
      }
      result = lookup.status();
      retryable = IsRetryable(result.status());
    } else {
      // Refilled on every attempt; a nested call on this thread (a handler
      // run inline by the path) refills it only after `node` was taken.
      static thread_local std::vector<const registry::Node*> nodes;
      CandidateNodes((*lookup)->services, options.filters, failed, &nodes);
      if (nodes.empty()) {
        if (!failed.empty()) return Result(last);
        return Result(absl::NotFoundError(
            absl::StrCat("service '", request.service,
                         "' has no node that matches the call's filters")));
      }
      size_t index = selector.SelectIndex(request.service, nodes);
      if (index >= nodes.size()) index = 0;  // a selector's bug
      const registry::Node& node = *nodes[index];
      service_internal::CallPath& path = PathTo(node);
      result = try_node(node, (*lookup)->services, path, &node_failed);
      if (node_failed) {
        failed.insert(node.id);
        ++evicted_;
        registry_->Evict(request.service, node.id);
        path.Forget(node);
      }
      retryable = node_failed;
    }
    if (result.ok()) return result;
    last = result.status();
    if (absl::IsDeadlineExceeded(last) || absl::Now() >= options.deadline) {
      return Result(absl::DeadlineExceededError(absl::StrCat(
          what(), " timed out after ",
          absl::FormatDuration(
              absl::Trunc(absl::Now() - start, absl::Microseconds(1))),
          " (", attempt + 1, attempt == 0 ? " attempt" : " attempts", ")")));
    }
    if (!retryable || attempt >= options.retries) {
      if (retryable && attempt > 0) {
        return Result(Decorate(last, absl::StrCat(what(), " failed after ",
                                                  attempt + 1, " attempts: ")));
      }
      return Result(last);
    }
  }
}

absl::StatusOr<Message> Client::Run(CallRequest& request,
                                    const CallOptions& options) {
  ++calls_;
  return Attempts(request, options,
                  [&](const registry::Node& node,
                      const std::vector<registry::Service>& versions,
                      service_internal::CallPath& path, bool* node_failed) {
                    return path.Call(node, versions, &request, options.deadline,
                                     node_failed);
                  });
}

namespace {

// The client's end of a stream: its StreamCore, and the keepalive.
class ClientStreamImpl : public ClientStream {
 public:
  ClientStreamImpl(std::shared_ptr<service_internal::StreamCore> core,
                   absl::Duration keepalive)
      : core_(std::move(core)) {
    if (keepalive > absl::ZeroDuration()) {
      // On the process timer, not a thread of the stream's: pings while
      // nothing else is sent, so the server's idle reaping spares the
      // stream while this end lives; and ends it at its deadline.
      keepalive_ = concurrency::Scheduler::Default().Every(
          keepalive, [weak = std::weak_ptr<service_internal::StreamCore>(core_),
                      keepalive] {
            if (auto core = weak.lock()) core->Ping(keepalive);
          });
    }
  }
  ~ClientStreamImpl() override {
    keepalive_.Cancel();
    core_->Abort(absl::CancelledError("the stream was destroyed"),
                 /*tell_peer=*/true);
  }

  absl::Status Send(Message message, absl::Time deadline) override {
    return core_->Send(std::move(message), deadline);
  }
  absl::Status CloseSend() override { return core_->CloseSend(); }
  absl::StatusOr<Message> Recv(absl::Time deadline) override {
    return core_->Recv(deadline);
  }
  void Cancel() override {
    core_->Abort(absl::CancelledError("the stream was cancelled"),
                 /*tell_peer=*/true);
  }
  absl::Time deadline() const override { return core_->deadline(); }

 private:
  const std::shared_ptr<service_internal::StreamCore> core_;
  concurrency::ScheduledTask keepalive_;
};

// The registry's word on `endpoint` of the version that has `node`: an
// error when it lists the endpoint, not as a stream.
absl::Status CheckStreamEndpoint(const registry::Node& node,
                                 const std::vector<registry::Service>& versions,
                                 const std::string& service,
                                 const std::string& endpoint) {
  for (const registry::Service& version : versions) {
    if (std::none_of(
            version.nodes.begin(), version.nodes.end(),
            [&](const registry::Node& n) { return n.id == node.id; })) {
      continue;
    }
    for (const registry::Endpoint& e : version.endpoints) {
      if (e.name != endpoint) continue;
      auto it = e.metadata.find("stream");
      if (it == e.metadata.end() || it->second != "true") {
        return absl::UnimplementedError(absl::StrCat(
            "endpoint '", endpoint, "' of service '", service,
            "' is not a stream endpoint: call it with Call, not Stream"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientStream>> Client::StreamRaw(
    absl::string_view service, absl::string_view endpoint,
    StreamOptions options) {
  CallOptions& call = options.call;
  if (call.deadline == absl::InfiniteFuture()) {
    call.deadline = concurrency::DeadlineIn(
        call.timeout > absl::ZeroDuration() ? call.timeout : options_.timeout);
  }
  if (call.retries < 0) call.retries = options_.retries;
  MN_ASSIGN_OR_RETURN(
      const StreamWindow window,
      service_internal::ResolveWindow(options.window, options_.stream_window));
  CallRequest request{std::string(service), std::string(endpoint), Message()};
  request.message.headers = std::move(call.metadata);
  if (!call.content_type.empty()) {
    MN_RETURN_IF_ERROR(CodecFor(call.content_type).status());
    request.message.headers[kContentTypeHeader] = call.content_type;
  }
  MN_RETURN_IF_ERROR(
      service_internal::CheckUserHeaders(request.message.headers));
  absl::StatusOr<std::unique_ptr<ClientStream>> stream =
      Attempts(request, call,
               [&](const registry::Node& node,
                   const std::vector<registry::Service>& versions,
                   service_internal::CallPath&, bool* node_failed) {
                 return OpenStream(node, versions, request, call.deadline,
                                   window, node_failed);
               });
  if (stream.ok()) ++streams_;
  return stream;
}

absl::StatusOr<std::unique_ptr<ClientStream>> Client::OpenStream(
    const registry::Node& node, const std::vector<registry::Service>& versions,
    const CallRequest& request, absl::Time deadline, StreamWindow window,
    bool* node_failed) {
  *node_failed = false;
  if (IsNatsMicro(node)) {
    return absl::UnimplementedError(
        absl::StrCat("node ", node.id,
                     " is a NATS Service API instance: ADR-32 has no streams"));
  }
  MN_RETURN_IF_ERROR(
      CheckStreamEndpoint(node, versions, request.service, request.endpoint));
  absl::StatusOr<std::unique_ptr<transport::Socket>> socket =
      pool_->Dial(node.address, deadline,
                  // The window bounds what the server may leave unread:
                  // beyond, the transport ends the stream undecoded.
                  service_internal::StreamPendingLimits(window));
  if (!socket.ok()) {
    *node_failed = IsRetryable(socket.status());  // nobody listens there
    return socket.status();
  }
  CallRequest open = request;  // the next attempt's stays as it was
  service_internal::SetCallHeaders(service_internal::NewCallId(),
                                   options_.content_type, deadline, &open);
  service_internal::SetKind(&open.message.headers,
                            service_internal::FrameKind::kOpen);
  service_internal::SetWindow(&open.message.headers, window);
  absl::Status sent = (*socket)->Send(std::move(open.message));
  absl::StatusOr<Message> answer =
      sent.ok() ? (*socket)->Recv(deadline) : absl::StatusOr<Message>(sent);
  if (!answer.ok()) {
    (*socket)->Close().IgnoreError();
    return service_internal::AttemptFailure(
        node, answer.status(), "it accepted the stream", node_failed);
  }
  auto fail = [&](absl::Status why) {
    (*socket)->Close().IgnoreError();
    return why;
  };
  if (absl::Status error =
          service_internal::AnswerError(answer->headers, false, node_failed);
      !error.ok()) {
    return fail(error);
  }
  absl::StatusOr<service_internal::FrameKind> kind =
      service_internal::KindOf(answer->headers);
  if (!kind.ok() || *kind != service_internal::FrameKind::kAccept) {
    return fail(absl::UnimplementedError(absl::StrCat(
        "node ", node.id, " did not accept a stream on '", request.endpoint,
        "' (", kind.ok() ? FrameKindName(*kind) : kind.status().message(),
        "): not a stream endpoint, or a server without streams")));
  }
  absl::StatusOr<StreamWindow> peer =
      service_internal::ParseWindow(answer->headers);
  absl::StatusOr<absl::Duration> keepalive =
      service_internal::ParseKeepalive(answer->headers);
  if (!peer.ok() || !keepalive.ok()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "node ", node.id, " accepted a stream with a bad header: ",
        (!peer.ok() ? peer.status() : keepalive.status()).message())));
  }
  auto core = std::make_shared<service_internal::StreamCore>(
      service_internal::StreamCore::Role::kClient,
      std::shared_ptr<transport::Socket>(std::move(socket).value()), window,
      *peer, deadline, request.service);
  return std::unique_ptr<ClientStream>(
      std::make_unique<ClientStreamImpl>(std::move(core), *keepalive));
}

size_t Client::IdleSockets() const { return pool_->Idle(); }
ClientStats Client::stats() const {
  return {.calls = calls_.load(),
          .retries = retries_.load(),
          .evicted = evicted_.load(),
          .streams = streams_.load()};
}

std::vector<NodeHealth> Client::node_health() const { return {}; }

absl::Status Client::RunAsync(concurrency::Task task) {
  return async_pool_->Schedule(std::move(task));
}

absl::Status Client::Publish(absl::string_view topic,
                             const google::protobuf::Message& message,
                             Metadata metadata,
                             absl::string_view content_type) {
  MN_ASSIGN_OR_RETURN(
      const Codec* codec,
      CodecFor(content_type.empty() ? options_.content_type : content_type));
  Message out;
  MN_ASSIGN_OR_RETURN(out.body, codec->Marshal(message));
  out.headers = std::move(metadata);
  out.headers[kContentTypeHeader] = std::string(codec->content_type());
  return PublishRaw(topic, std::move(out));
}

absl::Status Client::PublishRaw(absl::string_view topic, Message message) {
  if (broker_ == nullptr) {
    return absl::FailedPreconditionError("this client has no broker");
  }
  message.headers[kTopicHeader] = std::string(topic);
  return broker_->Publish(topic, message);
}

absl::StatusOr<uint64_t> Client::EmitMessage(
    absl::string_view topic, const google::protobuf::Message& message,
    EmitOptions options) {
  MN_ASSIGN_OR_RETURN(const Codec* codec,
                      CodecFor(options.content_type.empty()
                                   ? absl::string_view(options_.content_type)
                                   : absl::string_view(options.content_type)));
  Message out;
  MN_ASSIGN_OR_RETURN(out.body, codec->Marshal(message));
  out.headers = std::move(options.metadata);
  out.headers[kContentTypeHeader] = std::string(codec->content_type());
  return EmitRaw(topic, std::move(out), options);
}

absl::StatusOr<uint64_t> Client::EmitRaw(absl::string_view topic,
                                         Message message,
                                         const EmitOptions& options) {
  if (events_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Emit('", topic,
        "'): this client has no events (a NATS service gets them with "
        "NatsServiceOptions::events, on a nats-server with JetStream: "
        "nats-server -js)"));
  }
  message.headers[kTopicHeader] = std::string(topic);
  return events_->Publish(
      topic, message,
      {.deadline = options.deadline, .dedup_id = options.dedup_id});
}

}  // namespace micro_nats::service
