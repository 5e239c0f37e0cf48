// Copyright 2026 The micro-nats Authors.

#include "service/client.h"

#include <algorithm>
#include <optional>
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
#include "service/internal/circuit_breaker.h"
#include "service/internal/hedge.h"
#include "service/internal/retry_budget.h"
#include "service/internal/socket_pool.h"
#include "service/internal/stream_core.h"
#include "service/retry.h"
#include "srv/protocol.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

// Hedged attempts beyond the first a policy may ask for.
constexpr int kMaxHedges = 4;
// The shortest hedge delay: below, a timer would tick as a busy loop on the
// process scheduler. A policy's is refused; an observed p95 is raised to it.
constexpr absl::Duration kMinHedgeDelay = absl::Microseconds(100);

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
  if (hedge.delay > absl::ZeroDuration() && hedge.delay < kMinHedgeDelay) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a hedge's delay must be zero or at least ",
                     absl::FormatDuration(kMinHedgeDelay), ", not ",
                     absl::FormatDuration(hedge.delay)));
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
       breaker.half_open_calls < 1 ||
       breaker.min_deadline < absl::ZeroDuration())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "circuit_breaker: consecutive_failures, min_calls and half_open_calls "
        "must be >= 1, failure_ratio in (0, 1], window and cool_down above "
        "zero, max_cool_down >= cool_down, min_deadline not negative; not ",
        breaker.consecutive_failures, ", ", breaker.min_calls, ", ",
        breaker.half_open_calls, ", ", breaker.failure_ratio, ", ",
        absl::FormatDuration(breaker.window), ", ",
        absl::FormatDuration(breaker.cool_down), ", ",
        absl::FormatDuration(breaker.max_cool_down), ", ",
        absl::FormatDuration(breaker.min_deadline)));
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
      // Latency-aware by default: it measured at least as good as round
      // robin with healthy nodes, and far better with a slow one (R2's
      // resilience_bench).
      selector_(options_.selector != nullptr ? options_.selector
                                             : NewLatencyAwareSelector()),
      selector_hooks_(true),
      pool_(std::make_shared<service_internal::SocketPool>(
          transport_,
          service_internal::SocketPoolOptions{
              .max_idle_per_address = options_.max_idle_sockets_per_node,
              .idle_timeout = options_.socket_idle_timeout,
              .probe_interval = options_.probe_interval})),
      socket_path_(service_internal::NewSocketCallPath(
          pool_, options_.content_type, options_.probe_interval)),
      subject_path_(service_internal::NewSubjectCallPath(
          options_.request_reply, options_.content_type)),
      budget_(std::make_unique<service_internal::RetryBudgetCore>(
          options_.retry_budget.ratio, options_.retry_budget.min_per_second,
          options_.retry_budget.window)),
      breakers_(options_.circuit_breaker.enabled
                    ? std::make_unique<service_internal::CircuitBreakers>(
                          options_.circuit_breaker)
                    : nullptr),
      latencies_(std::make_unique<service_internal::EndpointLatencies>()),
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
  hedge_pool_.reset();  // abandoned hedges end (their sockets are closed)
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
  if (options.inherit_deadline) {
    // Inside a handler: no later than its caller waits.
    if (const Context* handler = Context::Current(); handler != nullptr) {
      options.deadline = std::min(options.deadline, handler->deadline());
    }
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

const EndpointPolicy* Client::PolicyFor(absl::string_view service,
                                        absl::string_view endpoint) const {
  if (options_.policies.empty()) return nullptr;
  auto it = options_.policies.find(absl::StrCat(service, ".", endpoint));
  if (it == options_.policies.end()) {
    it = options_.policies.find(std::string(endpoint));
  }
  return it == options_.policies.end() ? nullptr : &it->second;
}

const HedgePolicy* Client::HedgeFor(const CallRequest& request,
                                    const CallOptions& options) const {
  if (options.hedge.has_value()) {
    return Hedges(*options.hedge) ? &*options.hedge : nullptr;
  }
  const EndpointPolicy* policy = PolicyFor(request.service, request.endpoint);
  return policy != nullptr && Hedges(policy->hedge) ? &policy->hedge : nullptr;
}

bool Client::Idempotent(const CallRequest& request, const CallOptions& options,
                        const registry::Node& node,
                        const std::vector<registry::Service>& versions) const {
  if (options.idempotent.has_value()) return *options.idempotent;
  if (const EndpointPolicy* policy =
          PolicyFor(request.service, request.endpoint);
      policy != nullptr && policy->idempotent.has_value()) {
    return *policy->idempotent;
  }
  return service_internal::EndpointIdempotent(node, versions, request.endpoint);
}

void Client::Count(Counter counter, absl::string_view service, int64_t n) {
  if (options_.observer != nullptr) {
    options_.observer->Count(counter, service, n);
  }
}

concurrency::ThreadPool& Client::HedgePool() {
  std::call_once(hedge_pool_once_, [this] {
    // Its own, so hedged calls made from CallAsync tasks never wait for a
    // thread of the pool they hold.
    hedge_pool_ =
        std::make_unique<concurrency::ThreadPool>(options_.async_threads * 2);
  });
  return *hedge_pool_;
}

absl::StatusOr<const registry::Node*> Client::Pick(
    const CallRequest& request, const CallOptions& options,
    const std::vector<registry::Service>& versions, Selector& selector,
    const std::set<std::string>& failed, const absl::Status& last) {
  // Refilled on every pick; a nested call on this thread (a handler run
  // inline by the path) refills it only after the node was taken.
  static thread_local std::vector<const registry::Node*> nodes;
  CandidateNodes(versions, options.filters, failed, &nodes);
  if (nodes.empty()) {
    if (!failed.empty()) return last;
    return absl::NotFoundError(
        absl::StrCat("service '", request.service,
                     "' has no node that matches the call's filters"));
  }
  if (breakers_ == nullptr || !breakers_->Tracking()) {
    // Every breaker closed: no lock, no copy.
    size_t index = selector.SelectIndex(request.service, nodes);
    if (index >= nodes.size()) index = 0;  // a selector's bug
    return nodes[index];
  }
  const size_t candidates = nodes.size();
  // One lock, no allocation: forgets nodes the registry no longer lists and
  // leaves out the open ones.
  breakers_->Filter(request.service, versions, &nodes);
  for (;;) {
    if (nodes.empty()) {
      if (!failed.empty()) return last;
      return absl::UnavailableError(
          absl::StrCat("circuit breakers open on all ", candidates,
                       " nodes of '", request.service, "'"));
    }
    size_t index = selector.SelectIndex(request.service, nodes);
    if (index >= nodes.size()) index = 0;
    const registry::Node* node = nodes[index];
    if (breakers_->Admit(request.service, node->id)) return node;
    // Opened, or its trials taken, meanwhile.
    nodes.erase(nodes.begin() + static_cast<ptrdiff_t>(index));
  }
}

void Client::AttemptEnded(const CallRequest& request,
                          const registry::Node& node, Selector& selector,
                          bool hooks, absl::Time started, absl::Time deadline,
                          const absl::Status& status,
                          const service_internal::Attempt& attempt,
                          bool abandoned) {
  if (hooks) {
    selector.Finished(request.service, node,
                      {.latency = absl::Now() - started,
                       .status = status,
                       .node_failed = attempt.node_failed && !abandoned,
                       .cancelled = abandoned});
  }
  if (breakers_ != nullptr) {
    const service_internal::BreakerOutcome outcome =
        abandoned || attempt.local_failure
            ? service_internal::BreakerOutcome::kNeutral
        : service_internal::IsBreakerFailure(
              status, attempt.node_failed, deadline - started,
              options_.circuit_breaker.min_deadline)
            ? service_internal::BreakerOutcome::kFailure
            : service_internal::BreakerOutcome::kSuccess;
    if (breakers_->Record(request.service, node.id, outcome)) {
      ++breaker_opened_;
      Count(Counter::kBreakerOpened, request.service);
    }
  }
  if (attempt.node_failed && !abandoned) {
    ++evicted_;
    Count(Counter::kEvicted, request.service);
    registry_->Evict(request.service, node.id);
    PathTo(node).Forget(node);
  }
}

template <typename AttemptFn>
auto Client::Attempts(const CallRequest& request, const CallOptions& options,
                      ObservationScope* scope, AttemptFn&& try_node) {
  using Result =
      decltype(try_node(std::declval<const registry::Node&>(),
                        std::declval<const std::vector<registry::Service>&>(),
                        std::declval<service_internal::CallPath&>(),
                        std::declval<service_internal::Attempt*>()));
  if (absl::Status valid = registry::ValidateServiceName(request.service);
      !valid.ok()) {
    return Result(valid);
  }
  budget_->Deposit();
  // Only a timeout's text reads it: a tick's precision is enough, and a
  // precise read costs ~85 ns here (coarse_clock.h).
  const absl::Time start = concurrency::CoarseNow();
  // Only failures say it: built then, not on every call.
  auto what = [&] {
    return absl::StrCat("call to ", request.service, ".", request.endpoint);
  };
  Selector& selector =
      options.selector != nullptr ? *options.selector : *selector_;
  const bool hooks = Hooks(options);
  std::set<std::string> failed;  // node ids, this call
  absl::Status last;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (!budget_->TryWithdraw()) {
        // Retrying now would add load to a service that may be drowning.
        ++budget_exhausted_;
        Count(Counter::kBudgetExhausted, request.service);
        return Result(
            Decorate(last, absl::StrCat(what(),
                                        " failed (not retried: the client's "
                                        "retry budget is spent): ")));
      }
      ++retries_;
      Count(Counter::kRetry, request.service);
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
    // Retried: a node that failed the call before it reached a handler (a
    // transport failure, or its own refusal), after only when idempotent,
    // or a registry that could not be asked. Never a handler's status.
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
      const std::vector<registry::Service>& versions = (*lookup)->services;
      absl::StatusOr<const registry::Node*> picked =
          Pick(request, options, versions, selector, failed, last);
      if (!picked.ok()) return Result(picked.status());
      const registry::Node& node = **picked;
      service_internal::CallPath& path = PathTo(node);
      service_internal::Attempt state;
      state.idempotent = options.idempotent;
      if (!state.idempotent.has_value()) {
        if (const EndpointPolicy* policy =
                PolicyFor(request.service, request.endpoint)) {
          state.idempotent = policy->idempotent;
        }
      }
      // Read with hooks off too: the breaker judges a deadline by it.
      if (hooks) selector.Started(request.service, node);
      const absl::Time started = absl::Now();
      result = try_node(node, versions, path, &state);
      AttemptEnded(request, node, selector, hooks, started, options.deadline,
                   result.status(), state, /*abandoned=*/false);
      if (scope != nullptr) scope->Attempt(node.id, result.status());
      if (state.node_failed) {
        failed.insert(node.id);
        if (state.maybe_delivered &&
            !Idempotent(request, options, node, versions)) {
          // It may have run: running it again could do it twice.
          ++outcome_unknown_;
          Count(Counter::kOutcomeUnknown, request.service);
          return Result(absl::UnavailableError(absl::StrCat(
              what(), ": ", result.status().message(),
              "; outcome unknown (not retried: the endpoint is not "
              "idempotent)")));
        }
      }
      retryable = state.node_failed;
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
  // Built only with an observer: a scope's default status allocates.
  std::optional<ObservationScope> scope;
  if (options_.observer != nullptr) {
    scope.emplace(options_.observer->ClientCall(
        CallKind::kUnary, request.service, request.endpoint,
        &request.message.headers));
  }
  ObservationScope* const observed = scope.has_value() ? &*scope : nullptr;
  absl::StatusOr<Message> answer;
  if (const HedgePolicy* hedge = HedgeFor(request, options); hedge != nullptr) {
    // A policy's was checked by Create; the call's is checked here.
    if (absl::Status valid = CheckHedge(*hedge, "CallOptions::hedge");
        !valid.ok()) {
      answer = std::move(valid);
    } else {
      answer = RunHedged(request, options, *hedge, observed);
    }
  } else {
    answer = Attempts(request, options, observed,
                      [&](const registry::Node& node,
                          const std::vector<registry::Service>& versions,
                          service_internal::CallPath& path,
                          service_internal::Attempt* attempt) {
                        return path.Call(node, versions, &request,
                                         options.deadline, attempt);
                      });
  }
  if (observed != nullptr) observed->set_status(answer.status());
  return answer;
}

absl::StatusOr<Message> Client::RunHedged(CallRequest& request,
                                          const CallOptions& options,
                                          const HedgePolicy& hedge,
                                          ObservationScope* scope) {
  if (absl::Status valid = registry::ValidateServiceName(request.service);
      !valid.ok()) {
    return valid;
  }
  budget_->Deposit();
  const absl::Time start = concurrency::CoarseNow();
  auto what = [&] {
    return absl::StrCat("call to ", request.service, ".", request.endpoint);
  };
  absl::StatusOr<std::shared_ptr<const registry::CachedLookup>> lookup =
      registry_->LookupShared(request.service, options.deadline);
  if (!lookup.ok()) {
    if (absl::IsNotFound(lookup.status())) {
      return absl::NotFoundError(
          absl::StrCat("service '", request.service, "' not found"));
    }
    return lookup.status();
  }
  const std::shared_ptr<const registry::CachedLookup> versions = *lookup;
  // The tasks may outlive this call (an abandoned hedge ends later).
  const std::shared_ptr<Selector> selector =
      options.selector != nullptr ? options.selector : selector_;
  const bool hooks = Hooks(options);
  const std::string latency_key =
      hedge.after_p95 ? absl::StrCat(request.service, ".", request.endpoint)
                      : std::string();
  auto race = std::make_shared<service_internal::HedgeRace>();
  race->set_observation(scope);
  // What the hedges send: the first attempt, on this thread, changes
  // `request` (its call headers) while they copy this.
  const CallRequest pristine = request;

  // Shared by this thread and the hedge timer's.
  std::mutex mu;
  std::set<std::string> used;  // nodes this call went to; guarded by mu
  absl::Status last = absl::UnavailableError("no attempt ended");  // mu
  int extra = 0;                                                   // mu
  enum class Launched { kStarted, kNoNode, kNoBudget, kQueueFull };
  // Picks a node not used yet (the first: checks the endpoint is
  // idempotent) and takes its attempt's slot in the race; `token`: a retry
  // or hedge, which the budget must allow. With mu held.
  auto pick = [&](bool token, const registry::Node** node, int* index,
                  service_internal::AttemptCancel** cancel, absl::Status* why) {
    absl::StatusOr<const registry::Node*> picked =
        Pick(request, options, versions->services, *selector, used, last);
    if (!picked.ok()) {
      *why = picked.status();
      return Launched::kNoNode;
    }
    *node = *picked;
    auto release = [&] {  // a breaker trial Pick took, unused
      if (breakers_ != nullptr) {
        breakers_->Record(request.service, (*node)->id,
                          service_internal::BreakerOutcome::kNeutral);
      }
    };
    if (used.empty() &&
        !Idempotent(request, options, **node, versions->services)) {
      release();
      *why = absl::InvalidArgumentError(absl::StrCat(
          what(), ": hedging sends the request twice, and endpoint '",
          request.service, ".", request.endpoint,
          "' is not idempotent (EndpointOptions::idempotent on its server, or "
          "CallOptions or EndpointPolicy::idempotent)"));
      return Launched::kNoNode;
    }
    if (token && !budget_->TryWithdraw()) {
      release();
      ++budget_exhausted_;
      Count(Counter::kBudgetExhausted, request.service);
      return Launched::kNoBudget;
    }
    *cancel = race->Start(index);
    if (*cancel == nullptr) {
      release();
      return Launched::kNoNode;
    }
    used.insert((*node)->id);
    return Launched::kStarted;
  };
  // One attempt's end, on whichever thread ran it.
  auto ended = [this, race, selector, hooks, latency_key,
                deadline = options.deadline](
                   const CallRequest& sent, const registry::Node& node,
                   int index, service_internal::AttemptCancel* cancel,
                   absl::Time started, absl::StatusOr<Message> result,
                   const service_internal::Attempt& state) {
    const bool abandoned = !result.ok() && cancel->cancelled();
    AttemptEnded(sent, node, *selector, hooks, started, deadline,
                 result.status(), state, abandoned);
    if (result.ok() && !latency_key.empty()) {
      latencies_->Record(latency_key, absl::Now() - started);
    }
    if (!abandoned) race->ReportAttempt(node.id, result.status());
    race->Finish(index, std::move(result), state.node_failed);
  };
  // Starts a retry or hedge on the hedge pool. With mu held.
  auto launch = [&](absl::Status* why) {
    concurrency::ThreadPool& hedge_pool = HedgePool();
    if (hedges_queued_.load(std::memory_order_relaxed) >=
        hedge_pool.max_threads()) {
      // Every thread busy and as many waiting: a hedge that starts late
      // helps nobody. Skipped before it takes a token or a trial.
      ++hedges_skipped_;
      return Launched::kQueueFull;
    }
    const registry::Node* node = nullptr;
    int index = 0;
    service_internal::AttemptCancel* cancel = nullptr;
    const Launched launched = pick(/*token=*/true, &node, &index, &cancel, why);
    if (launched != Launched::kStarted) return launched;
    auto task = [this, versions, selector, hooks, ended, cancel, index,
                 node = *node, copy = pristine,
                 deadline = options.deadline]() mutable {
      hedges_queued_.fetch_sub(1, std::memory_order_relaxed);
      service_internal::Attempt state;
      state.idempotent = true;
      state.cancel = cancel;
      if (hooks) selector->Started(copy.service, node);
      const absl::Time started = absl::Now();
      // Abandoned while queued (the race ended): no dial.
      absl::StatusOr<Message> result =
          cancel->cancelled()
              ? absl::StatusOr<Message>(absl::CancelledError(
                    "the attempt was abandoned before it started"))
              : PathTo(node).Call(node, versions->services, &copy, deadline,
                                  &state);
      ended(copy, node, index, cancel, started, std::move(result), state);
    };
    hedges_queued_.fetch_add(1, std::memory_order_relaxed);
    if (absl::Status scheduled = hedge_pool.Schedule(std::move(task));
        !scheduled.ok()) {
      hedges_queued_.fetch_sub(1, std::memory_order_relaxed);
      if (breakers_ != nullptr) {
        breakers_->Record(request.service, node->id,
                          service_internal::BreakerOutcome::kNeutral);
      }
      race->Finish(index, scheduled, /*node_failed=*/false);
    }
    return Launched::kStarted;
  };

  // The first attempt runs here, on the caller's thread (no hop when the
  // answer comes before the hedge's delay, as most do).
  const registry::Node* first = nullptr;
  int first_index = 0;
  service_internal::AttemptCancel* first_cancel = nullptr;
  absl::Status why;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (pick(/*token=*/false, &first, &first_index, &first_cancel, &why) !=
        Launched::kStarted) {
      race->Close().IgnoreError();
      return why;
    }
  }
  absl::Duration delay = hedge.delay;
  if (hedge.after_p95) {
    // Before the endpoint has a p95: `delay`, or none when zero.
    delay = latencies_->P95(latency_key, hedge.delay);
  }
  concurrency::ScheduledTask timer;  // guarded by mu until assigned
  if (delay > absl::ZeroDuration() && hedge.max_extra > 0) {
    // An observed p95 may be tiny (the memory stack's): no busy ticking.
    delay = std::max(delay, kMinHedgeDelay);
    // Each tick hedges once more while no answer came, up to max_extra;
    // then it cancels itself (from its own callback Cancel returns at once),
    // so no tick runs for the rest of the call.
    std::lock_guard<std::mutex> lock(mu);
    timer = concurrency::Scheduler::Default().Every(delay, [&] {
      std::lock_guard<std::mutex> lock(mu);
      if (extra < hedge.max_extra && !race->view().won) {
        absl::Status no_hedge;
        if (launch(&no_hedge) == Launched::kStarted) {
          ++extra;
          ++hedges_;
          Count(Counter::kHedge, request.service);
        } else {
          extra = hedge.max_extra;  // no node, budget or pool thread
        }
      }
      if (extra >= hedge.max_extra || race->view().won) timer.Cancel();
    });
  }
  {
    service_internal::Attempt state;
    state.idempotent = true;
    state.cancel = first_cancel;
    if (hooks) selector->Started(request.service, *first);
    const absl::Time started = absl::Now();
    absl::StatusOr<Message> result = PathTo(*first).Call(
        *first, versions->services, &request, options.deadline, &state);
    ended(request, *first, first_index, first_cancel, started,
          std::move(result), state);
  }

  int retries_left = options.retries;
  absl::Status refused;  // why the call was not retried, when it was not
  for (;;) {
    race->Wait(options.deadline);
    const service_internal::HedgeRace::View view = race->view();
    if (view.won || absl::Now() >= options.deadline) break;
    if (view.running > 0) continue;
    // Every attempt failed: retry a node's failure (the endpoint is
    // idempotent), never a handler's answer.
    std::lock_guard<std::mutex> lock(mu);
    last = view.last_error;
    if (!view.last_node_failed || retries_left <= 0) break;
    --retries_left;
    const Launched launched = launch(&why);
    if (launched == Launched::kNoBudget) {
      refused = absl::UnavailableError("the client's retry budget is spent");
      break;
    }
    if (launched == Launched::kQueueFull) {
      refused = absl::UnavailableError("the hedge pool is full");
      break;
    }
    if (launched != Launched::kStarted) break;
    ++retries_;
    Count(Counter::kRetry, request.service);
  }
  timer.Cancel();  // waits for a tick in progress
  absl::StatusOr<Message> answer = race->Close();
  const service_internal::HedgeRace::View view = race->view();
  if (answer.ok()) {
    if (view.winner > 0 && extra > 0) ++hedge_wins_;
    return answer;
  }
  if (absl::Now() >= options.deadline ||
      absl::IsDeadlineExceeded(answer.status())) {
    return absl::DeadlineExceededError(absl::StrCat(
        what(), " timed out after ",
        absl::FormatDuration(
            absl::Trunc(absl::Now() - start, absl::Microseconds(1))),
        " (", view.started, view.started == 1 ? " attempt" : " attempts", ")"));
  }
  if (!refused.ok()) {
    return Decorate(answer.status(),
                    absl::StrCat(what(), " failed (not retried: ",
                                 refused.message(), "): "));
  }
  return answer.status();
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
    if (observation_.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ended_) {
        observation_->set_status(
            absl::CancelledError("the stream was destroyed before its end"));
      }
    }
  }

  // The stream's observation, ended with the stream (kStream: from the
  // open to the end).
  void Observe(ObservationScope scope) {
    observation_.emplace(std::move(scope));
  }

  absl::Status Send(Message message, absl::Time deadline) override {
    return core_->Send(std::move(message), deadline);
  }
  absl::Status CloseSend() override { return core_->CloseSend(); }
  absl::StatusOr<Message> Recv(absl::Time deadline) override {
    absl::StatusOr<Message> received = core_->Recv(deadline);
    if (!received.ok() && observation_.has_value() &&
        !absl::IsDeadlineExceeded(received.status())) {
      // OutOfRange: the server ended it cleanly.
      Ended(absl::IsOutOfRange(received.status()) ? absl::OkStatus()
                                                  : received.status());
    }
    return received;
  }
  void Cancel() override {
    core_->Abort(absl::CancelledError("the stream was cancelled"),
                 /*tell_peer=*/true);
    if (observation_.has_value()) {
      Ended(absl::CancelledError("the stream was cancelled"));
    }
  }
  absl::Time deadline() const override { return core_->deadline(); }

 private:
  void Ended(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    observation_->set_status(std::move(status));
  }

  const std::shared_ptr<service_internal::StreamCore> core_;
  concurrency::ScheduledTask keepalive_;
  std::optional<ObservationScope> observation_;  // set before use
  std::mutex mu_;
  bool ended_ = false;  // guarded by mu_
};

// The registry's word on `endpoint` of the version that has `node`: an
// error when it lists the endpoint, not as a stream.
absl::Status CheckStreamEndpoint(const registry::Node& node,
                                 const std::vector<registry::Service>& versions,
                                 const std::string& service,
                                 const std::string& endpoint) {
  const registry::Endpoint* e =
      service_internal::FindEndpoint(node, versions, endpoint);
  if (e == nullptr) return absl::OkStatus();
  auto it = e->metadata.find("stream");
  if (it == e->metadata.end() || it->second != "true") {
    return absl::UnimplementedError(absl::StrCat(
        "endpoint '", endpoint, "' of service '", service,
        "' is not a stream endpoint: call it with Call, not Stream"));
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
  if (call.inherit_deadline) {
    if (const Context* handler = Context::Current(); handler != nullptr) {
      call.deadline = std::min(call.deadline, handler->deadline());
    }
  }
  std::optional<ObservationScope> scope;
  if (options_.observer != nullptr) {
    // The opening frame's headers: what it adds travels with the open.
    scope.emplace(options_.observer->ClientCall(
        CallKind::kStream, request.service, request.endpoint,
        &request.message.headers));
  }
  // The server starts the handler as it accepts: an open that failed after
  // it left may have started one, so it is opened again only on an
  // idempotent endpoint (as a call; Attempts reads maybe_delivered).
  absl::StatusOr<std::unique_ptr<ClientStream>> stream = Attempts(
      request, call, scope.has_value() ? &*scope : nullptr,
      [&](const registry::Node& node,
          const std::vector<registry::Service>& versions,
          service_internal::CallPath&, service_internal::Attempt* attempt) {
        return OpenStream(node, versions, request, call.deadline, window,
                          attempt);
      });
  if (stream.ok()) {
    ++streams_;
    if (scope.has_value()) {
      static_cast<ClientStreamImpl&>(**stream).Observe(std::move(*scope));
    }
  } else if (scope.has_value()) {
    scope->set_status(stream.status());
  }
  return stream;
}

absl::StatusOr<std::unique_ptr<ClientStream>> Client::OpenStream(
    const registry::Node& node, const std::vector<registry::Service>& versions,
    const CallRequest& request, absl::Time deadline, StreamWindow window,
    service_internal::Attempt* attempt) {
  bool* const node_failed = &attempt->node_failed;
  *node_failed = false;
  attempt->maybe_delivered = false;
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
  const absl::Time sent_at = concurrency::CoarseNow();
  absl::StatusOr<Message> answer =
      sent.ok() ? (*socket)->Recv(deadline) : absl::StatusOr<Message>(sent);
  if (!answer.ok()) {
    (*socket)->Close().IgnoreError();
    const bool after_send =
        sent.ok() && service_internal::MaybeDelivered(answer.status(), sent_at,
                                                      options_.probe_interval);
    absl::Status failure = service_internal::AttemptFailure(
        node, answer.status(), "it accepted the stream", node_failed,
        after_send);
    attempt->maybe_delivered = *node_failed && after_send;
    return failure;
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
          .streams = streams_.load(),
          .budget_exhausted = budget_exhausted_.load(),
          .outcome_unknown = outcome_unknown_.load(),
          .hedges = hedges_.load(),
          .hedge_wins = hedge_wins_.load(),
          .breaker_opened = breaker_opened_.load(),
          .hedges_skipped = hedges_skipped_.load()};
}

std::vector<NodeHealth> Client::node_health() const {
  if (breakers_ == nullptr) return {};
  return breakers_->Health();
}

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
  if (options_.observer == nullptr) return broker_->Publish(topic, message);
  ObservationScope scope(options_.observer->ClientCall(
      CallKind::kMessage, "", topic, &message.headers));
  absl::Status published = broker_->Publish(topic, message);
  scope.set_status(published);
  return published;
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
  std::optional<ObservationScope> scope;
  if (options_.observer != nullptr) {
    scope.emplace(options_.observer->ClientCall(CallKind::kEvent, "", topic,
                                                &message.headers));
  }
  absl::StatusOr<uint64_t> stored = events_->Publish(
      topic, message,
      {.deadline = options.deadline, .dedup_id = options.dedup_id});
  if (scope.has_value()) scope->set_status(stored.status());
  return stored;
}

}  // namespace micro_nats::service
