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
#include "concurrency/wait.h"
#include "service/errors.h"
#include "service/internal/call_path.h"
#include "service/internal/socket_pool.h"
#include "service/retry.h"
#include "srv/protocol.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

bool IsNatsMicro(const registry::Node& node) {
  auto it = node.metadata.find(srv::kProtocolMetadata);
  return it != node.metadata.end() && it->second == srv::kNatsMicroProtocol;
}

absl::Status Decorate(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    ClientOptions options, std::shared_ptr<registry::CachingRegistry> registry,
    std::shared_ptr<transport::Transport> transport,
    std::shared_ptr<broker::Broker> broker) {
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
  if (options.socket_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket_idle_timeout must be above zero, not ",
                     absl::FormatDuration(options.socket_idle_timeout)));
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(registry), std::move(transport),
                 std::move(broker)));
}

Client::Client(ClientOptions options,
               std::shared_ptr<registry::CachingRegistry> registry,
               std::shared_ptr<transport::Transport> transport,
               std::shared_ptr<broker::Broker> broker)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      transport_(std::move(transport)),
      broker_(std::move(broker)),
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

absl::StatusOr<Message> Client::Run(CallRequest& request,
                                    const CallOptions& options) {
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(request.service));
  ++calls_;
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
    absl::StatusOr<Message> result;
    // Retried: a node that failed the call (a transport failure, or its
    // own refusal), or a registry that could not be asked. Never a
    // handler's status.
    bool node_failed = false;
    bool retryable = false;
    if (!lookup.ok()) {
      if (absl::IsNotFound(lookup.status())) {
        // Gone after its nodes failed this call: say what failed.
        if (!failed.empty()) {
          return Decorate(last, absl::StrCat(what(), " failed after ", attempt,
                                             " attempts: "));
        }
        return absl::NotFoundError(
            absl::StrCat("service '", request.service, "' not found"));
      }
      result = lookup.status();
      retryable = IsRetryable(result.status());
    } else {
      // Refilled on every attempt; a nested call on this thread (a handler
      // run inline by the path) refills it only after `node` was taken.
      static thread_local std::vector<const registry::Node*> nodes;
      CandidateNodes((*lookup)->services, options.filters, failed, &nodes);
      if (nodes.empty()) {
        if (!failed.empty()) return last;
        return absl::NotFoundError(
            absl::StrCat("service '", request.service,
                         "' has no node that matches the call's filters"));
      }
      size_t index = selector.SelectIndex(request.service, nodes);
      if (index >= nodes.size()) index = 0;  // a selector's bug
      const registry::Node& node = *nodes[index];
      service_internal::CallPath& path = PathTo(node);
      result = path.Call(node, (*lookup)->services, &request, options.deadline,
                         &node_failed);
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
      return absl::DeadlineExceededError(absl::StrCat(
          what(), " timed out after ",
          absl::FormatDuration(
              absl::Trunc(absl::Now() - start, absl::Microseconds(1))),
          " (", attempt + 1, attempt == 0 ? " attempt" : " attempts", ")"));
    }
    if (!retryable || attempt >= options.retries) {
      if (retryable && attempt > 0) {
        return Decorate(last, absl::StrCat(what(), " failed after ",
                                           attempt + 1, " attempts: "));
      }
      return last;
    }
  }
}

absl::StatusOr<std::unique_ptr<ClientStream>> Client::StreamRaw(
    absl::string_view service, absl::string_view endpoint,
    StreamOptions options) {
  return absl::UnimplementedError("streams are not wired yet");
}

size_t Client::IdleSockets() const { return pool_->Idle(); }
ClientStats Client::stats() const {
  return {.calls = calls_.load(),
          .retries = retries_.load(),
          .evicted = evicted_.load()};
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
  return broker_->Publish(topic, message);
}

}  // namespace micro_nats::service
