// Copyright 2026 The micro-nats Authors.

#include "service/client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "concurrency/wait.h"
#include "service/errors.h"
#include "service/retry.h"
#include "srv/protocol.h"
#include "status/status_macros.h"

namespace micro_nats::service {
namespace {

bool IsNatsMicro(const registry::Node& node) {
  auto it = node.metadata.find(srv::kProtocolMetadata);
  return it != node.metadata.end() && it->second == srv::kNatsMicroProtocol;
}

std::string NewCallId() {
  static thread_local absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

absl::Status Decorate(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// The error an answer's Micro-Error says. `*node_failed` is set when it is
// the server's own refusal that another node may not give (stopping): a
// handler's status, Unavailable included, is the caller's (retry.h).
absl::Status AnswerError(const Headers& headers, const std::string& json,
                         bool* node_failed) {
  absl::Status error = ErrorFromJson(json);
  *node_failed = IsRetryable(error) && headers.count(kRefusedHeader) != 0;
  return error;
}

}  // namespace

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
      async_pool_(std::make_unique<concurrency::ThreadPool>(
          std::max(1, options_.async_threads))) {
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
  std::map<std::string, std::deque<Idle>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle.swap(idle_);
  }
}

absl::StatusOr<Message> Client::CallRaw(absl::string_view service,
                                        absl::string_view endpoint,
                                        Message request, CallOptions options) {
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
  return call_(
      {std::string(service), std::string(endpoint), std::move(request)},
      options);
}

absl::Status Client::EncodeRequest(const google::protobuf::Message& request,
                                   CallOptions& options,
                                   Message* message) const {
  if (options.content_type.empty()) {
    options.content_type = options_.content_type;
  }
  MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor(options.content_type));
  MN_ASSIGN_OR_RETURN(message->body, codec->Marshal(request));
  message->headers[kContentTypeHeader] = std::string(codec->content_type());
  return absl::OkStatus();
}

absl::StatusOr<Message> Client::Invoke(const CallRequest& request,
                                       const CallOptions& options) {
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(request.service));
  ++calls_;
  const absl::Time start = absl::Now();
  const std::string what =
      absl::StrCat("call to ", request.service, ".", request.endpoint);
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
    absl::StatusOr<registry::CachedLookup> lookup =
        registry_->Lookup(request.service, options.deadline);
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
          return Decorate(last, absl::StrCat(what, " failed after ", attempt,
                                             " attempts: "));
        }
        return absl::NotFoundError(
            absl::StrCat("service '", request.service, "' not found"));
      }
      result = lookup.status();
      retryable = IsRetryable(result.status());
    } else {
      std::vector<registry::Node> nodes =
          Candidates(lookup->services, options.filters, failed);
      if (nodes.empty()) {
        if (!failed.empty()) return last;
        return absl::NotFoundError(
            absl::StrCat("service '", request.service,
                         "' has no node that matches the call's filters"));
      }
      const registry::Node node = selector.Select(request.service, nodes);
      result = IsNatsMicro(node)
                   ? CallSubject(node, lookup->services, request,
                                 options.deadline, &node_failed)
                   : CallNode(node, request, options.deadline, &node_failed);
      if (node_failed) {
        failed.insert(node.id);
        ++evicted_;
        registry_->Evict(request.service, node.id);
        DropIdle(node.address);
      }
      retryable = node_failed;
    }
    if (result.ok()) return result;
    last = result.status();
    if (absl::IsDeadlineExceeded(last) || absl::Now() >= options.deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, " timed out after ",
          absl::FormatDuration(
              absl::Trunc(absl::Now() - start, absl::Microseconds(1))),
          " (", attempt + 1, attempt == 0 ? " attempt" : " attempts", ")"));
    }
    if (!retryable || attempt >= options.retries) {
      if (retryable && attempt > 0) {
        return Decorate(last, absl::StrCat(what, " failed after ", attempt + 1,
                                           " attempts: "));
      }
      return last;
    }
  }
}

absl::StatusOr<Message> Client::CallSubject(
    const registry::Node& node, const std::vector<registry::Service>& versions,
    const CallRequest& request, absl::Time deadline, bool* node_failed) {
  *node_failed = false;
  std::string subject;
  for (const registry::Service& version : versions) {
    const bool has_node =
        std::any_of(version.nodes.begin(), version.nodes.end(),
                    [&](const registry::Node& n) { return n.id == node.id; });
    if (!has_node) continue;
    for (const registry::Endpoint& e : version.endpoints) {
      if (e.name != request.endpoint &&
          e.name != srv::ToName(request.endpoint)) {
        continue;
      }
      if (auto it = e.metadata.find(srv::kSubjectMetadata);
          it != e.metadata.end()) {
        subject = it->second;
      }
    }
  }
  if (subject.empty()) {
    return absl::NotFoundError(absl::StrCat("service '", request.service,
                                            "' has no endpoint '",
                                            request.endpoint, "'"));
  }
  if (!options_.request_reply) {
    return absl::UnimplementedError(
        absl::StrCat("node ", node.id,
                     " is a NATS Service API instance and this client has no "
                     "request_reply (service/nats sets it)"));
  }
  Message message = request.message;
  message.headers[kServiceHeader] = request.service;
  message.headers[kEndpointHeader] = request.endpoint;
  if (message.headers.count(kContentTypeHeader) == 0) {
    message.headers[kContentTypeHeader] = options_.content_type;
  }
  if (deadline != absl::InfiniteFuture()) {
    message.headers[kTimeoutHeader] = absl::StrCat(
        std::max<int64_t>(0, absl::ToInt64Nanoseconds(deadline - absl::Now())));
  }
  absl::StatusOr<Message> replied =
      options_.request_reply(subject, message, deadline);
  if (!replied.ok()) {
    // No responders, or NATS not reachable.
    *node_failed = IsRetryable(replied.status());
    return replied.status();
  }
  Message& answer = *replied;
  if (auto error = answer.headers.find(kErrorHeader);
      error != answer.headers.end()) {
    return AnswerError(answer.headers, error->second, node_failed);
  }
  if (auto error = answer.headers.find(std::string(srv::kErrorHeader));
      error != answer.headers.end()) {
    int code = 500;
    auto code_header = answer.headers.find(std::string(srv::kErrorCodeHeader));
    if (code_header != answer.headers.end() &&
        !absl::SimpleAtoi(code_header->second, &code)) {
      code = 500;
    }
    return absl::Status(StatusCodeForHttp(code),
                        error->second.substr(0, kMaxErrorDetail));
  }
  // NATS micro libraries send no Content-Type: the answer is read as the
  // request was sent.
  answer.headers.emplace(kContentTypeHeader,
                         message.headers[kContentTypeHeader]);
  return answer;
}

absl::StatusOr<Message> Client::CallNode(const registry::Node& node,
                                         const CallRequest& request,
                                         absl::Time deadline,
                                         bool* node_failed) {
  *node_failed = false;
  Message message = request.message;
  const std::string id = NewCallId();
  message.headers[kServiceHeader] = request.service;
  message.headers[kEndpointHeader] = request.endpoint;
  message.headers[kIdHeader] = id;
  if (message.headers.count(kContentTypeHeader) == 0) {
    message.headers[kContentTypeHeader] = options_.content_type;
  }
  // A socket kept idle may have ended meanwhile (its server closed it):
  // that costs a fresh socket, not an attempt.
  for (int tries = 0;; ++tries) {
    if (deadline != absl::InfiniteFuture()) {
      message.headers[kTimeoutHeader] = absl::StrCat(std::max<int64_t>(
          0, absl::ToInt64Nanoseconds(deadline - absl::Now())));
    }
    bool reused = false;
    absl::StatusOr<std::unique_ptr<transport::Socket>> socket =
        Acquire(node.address, deadline, &reused);
    if (!socket.ok()) {
      *node_failed = IsRetryable(socket.status());  // nobody listens there
      return socket.status();
    }
    absl::Status sent = (*socket)->Send(message);
    absl::StatusOr<Message> answer =
        sent.ok() ? absl::StatusOr<Message>(absl::UnknownError("unanswered"))
                  : absl::StatusOr<Message>(sent);
    if (sent.ok()) {
      do {
        answer = (*socket)->Recv(deadline);
        // An answer to an earlier call on this socket is skipped (a peer
        // that does not echo Micro-Id is taken at its word).
      } while (answer.ok() && answer->headers.count(kIdHeader) != 0 &&
               answer->headers.at(kIdHeader) != id);
    }
    if (answer.ok() && absl::Now() > deadline) {
      // Too late, even if here (a handler that ran on this very thread).
      Release(node.address, std::move(socket).value());
      return absl::DeadlineExceededError("the answer came after the deadline");
    }
    if (answer.ok()) {
      Release(node.address, std::move(socket).value());
      auto error = answer->headers.find(kErrorHeader);
      if (error != answer->headers.end()) {
        return AnswerError(answer->headers, error->second, node_failed);
      }
      return answer;
    }
    (*socket)->Close().IgnoreError();
    const absl::Status& failure = answer.status();
    if (absl::IsInvalidArgument(failure)) return failure;  // too large
    if (absl::IsDeadlineExceeded(failure)) return failure;
    if (absl::IsOutOfRange(failure) || absl::IsFailedPrecondition(failure)) {
      if (reused && tries == 0) continue;
      *node_failed = true;
      return absl::UnavailableError(absl::StrCat(
          "node ", node.id, " ended the connection before it answered"));
    }
    if (absl::IsResourceExhausted(failure)) return failure;  // full listener
    *node_failed = true;
    return absl::UnavailableError(
        absl::StrCat("node ", node.id, ": ", failure.message()));
  }
}

absl::StatusOr<std::unique_ptr<transport::Socket>> Client::Acquire(
    const std::string& address, absl::Time deadline, bool* reused) {
  std::vector<Idle> expired;  // closed after the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(address);
    const absl::Time cutoff = absl::Now() - options_.socket_idle_timeout;
    while (it != idle_.end() && !it->second.empty()) {
      Idle idle = std::move(it->second.back());
      it->second.pop_back();
      if (idle.since >= cutoff) {
        if (it->second.empty()) idle_.erase(it);
        *reused = true;
        return std::move(idle.socket);
      }
      expired.push_back(std::move(idle));
    }
    if (it != idle_.end()) idle_.erase(it);
  }
  *reused = false;
  // No handshake: the socket opens with the request itself, one round trip.
  return transport_->Dial(
      address, {.timeout = std::max(absl::ZeroDuration(),
                                    concurrency::Remaining(deadline)),
                .handshake = false,
                .probe_interval = options_.probe_interval});
}

void Client::Release(const std::string& address,
                     std::unique_ptr<transport::Socket> socket) {
  std::vector<Idle> expired;  // closed after the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now >= next_sweep_) {
      // Sockets of nodes no call picks any more would stay for ever.
      next_sweep_ = now + options_.socket_idle_timeout;
      const absl::Time cutoff = now - options_.socket_idle_timeout;
      for (auto it = idle_.begin(); it != idle_.end();) {
        std::deque<Idle>& sockets = it->second;
        while (!sockets.empty() && sockets.front().since < cutoff) {
          expired.push_back(std::move(sockets.front()));
          sockets.pop_front();
        }
        it = sockets.empty() ? idle_.erase(it) : std::next(it);
      }
    }
    std::deque<Idle>& idle = idle_[address];
    if (idle.size() < options_.max_idle_sockets_per_node) {
      idle.push_back({std::move(socket), now});
      return;
    }
  }
  socket->Close().IgnoreError();
}

void Client::DropIdle(const std::string& address) {
  std::deque<Idle> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = idle_.find(address);
  if (it == idle_.end()) return;
  dropped.swap(it->second);
  idle_.erase(it);
}

size_t Client::IdleSockets() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t count = 0;
  for (const auto& [address, idle] : idle_) count += idle.size();
  return count;
}

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
