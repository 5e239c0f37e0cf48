// Copyright 2026 The micro-nats Authors.

#include "service/internal/call_path.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "concurrency/coarse_clock.h"
#include "service/errors.h"
#include "service/retry.h"
#include "srv/protocol.h"

namespace micro_nats::service::service_internal {
namespace {

// A request/reply failure that says no node took the request: NATS "no
// responders" (nats.c: "No responders available for request"), or a
// failure marked not delivered.
bool NobodyListens(const absl::Status& status) {
  if (!absl::IsUnavailable(status)) return false;
  if (transport::DeliveryOf(status) == transport::Delivery::kNotDelivered) {
    return true;
  }
  return absl::StrContains(absl::AsciiStrToLower(status.message()),
                           "no responders");
}

const std::string* FindHeader(const Headers& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

// Map nodes given back by ReclaimCallHeaders, for this thread's next
// SetHeader: a call's headers are five nodes (and a Content-Type value
// longer than std::string's inline buffer), made and freed on every call
// otherwise. A few per thread; the rest are freed.
constexpr size_t kMaxSpareNodes = 8;
thread_local std::vector<Headers::node_type> spare_nodes;

// The headers a call sets: the nodes worth keeping.
constexpr const char* kCallHeaders[] = {kServiceHeader, kEndpointHeader,
                                        kIdHeader, kTimeoutHeader,
                                        kContentTypeHeader};

// Sends `*message` and leaves it as it was, for a retry. To a socket that
// takes messages (memory: the server gets this very message, no copy of
// its header map) it goes by move, and what a retry needs is kept aside
// first: the body, and the headers SetCallHeaders does not set again (in
// this thread's spare nodes). Others copy it themselves (NATS).
absl::Status SendKeeping(transport::Socket& socket, Message* message) {
  if (!socket.TakesMessages()) return socket.Send(*message);
  Message kept;
  kept.body = message->body;
  for (const auto& [name, value] : message->headers) {
    if (name != kServiceHeader && name != kEndpointHeader &&
        name != kIdHeader && name != kTimeoutHeader) {
      SetHeader(&kept.headers, name, value);
    }
  }
  absl::Status sent = socket.Send(std::move(*message));
  // Taken or not (refused first), the message is what was kept; the
  // per-attempt headers are set again by the next try.
  ReclaimCallHeaders(&message->headers);
  *message = std::move(kept);
  return sent;
}

// What the coarse clock may lag (coarse_clock.h).
constexpr absl::Duration kCoarseTick = absl::Milliseconds(4);

class SocketCallPath : public CallPath {
 public:
  SocketCallPath(std::shared_ptr<SocketPool> pool, std::string content_type,
                 absl::Duration probe_interval)
      : pool_(std::move(pool)),
        content_type_(std::move(content_type)),
        probe_interval_(probe_interval) {}

  absl::StatusOr<Message> Call(const registry::Node& node,
                               const std::vector<registry::Service>& versions,
                               CallRequest* request, absl::Time deadline,
                               Attempt* attempt) override {
    attempt->node_failed = false;
    attempt->maybe_delivered = false;
    const std::string id = NewCallId();
    Message& message = request->message;
    AttemptCancel* const cancel = attempt->cancel;
    // A socket kept idle may have ended meanwhile (its server closed it):
    // that costs a fresh socket, not an attempt.
    for (int tries = 0;; ++tries) {
      SetCallHeaders(id, content_type_, deadline, request);
      bool reused = false;
      absl::StatusOr<std::unique_ptr<transport::Socket>> socket =
          pool_->Acquire(node.address, deadline, &reused);
      if (!socket.ok()) {
        // Nobody listens there: the request never left.
        attempt->node_failed = IsRetryable(socket.status());
        return socket.status();
      }
      if (cancel != nullptr && !cancel->Register(socket->get())) {
        (*socket)->Close().IgnoreError();
        return absl::CancelledError("the attempt was abandoned");
      }
      absl::Status sent = SendKeeping(**socket, &message);
      // Only a failure's classification reads it: a tick is enough.
      const absl::Time sent_at =
          sent.ok() ? concurrency::CoarseNow() : absl::InfinitePast();
      absl::StatusOr<Message> answer{Message()};
      if (!sent.ok()) {
        answer = std::move(sent);
      } else {
        static const std::string* const kId = new std::string(kIdHeader);
        const std::string* answered_id = nullptr;
        do {
          answer = (*socket)->Recv(deadline);
          // An answer to an earlier call on this socket is skipped (a peer
          // that does not echo Micro-Id is taken at its word).
        } while (answer.ok() &&
                 (answered_id = FindHeader(answer->headers, *kId)) != nullptr &&
                 *answered_id != id);
      }
      if (cancel != nullptr && cancel->Unregister()) {
        (*socket)->Close().IgnoreError();
        return absl::CancelledError("the attempt was abandoned");
      }
      if (answer.ok()) {
        pool_->Release(node.address, std::move(socket).value());
        if (absl::Now() > deadline) {
          // Too late, even if here (a handler that ran on this very thread).
          return absl::DeadlineExceededError(
              "the answer came after the deadline");
        }
        absl::Status error =
            AnswerError(answer->headers, false, &attempt->node_failed);
        if (!error.ok()) return error;
        return answer;
      }
      (*socket)->Close().IgnoreError();
      const absl::Status& failure = answer.status();
      const bool ended =
          absl::IsOutOfRange(failure) || absl::IsFailedPrecondition(failure);
      // After the request left, a failure may have come after a handler
      // took it, unless the transport says it reached no listener (NATS
      // "no responders" to the request itself): an ended socket or a
      // probe that found the node gone is "maybe delivered".
      const bool after_send = sent_at != absl::InfinitePast() &&
                              MaybeDelivered(failure, sent_at, probe_interval_);
      if (ended && reused && tries == 0 &&
          (!after_send || Idempotent(*attempt, node, versions, *request))) {
        continue;
      }
      absl::Status status = AttemptFailure(node, failure, "it answered",
                                           &attempt->node_failed, after_send);
      attempt->maybe_delivered = attempt->node_failed && after_send;
      return status;
    }
  }

  void Forget(const registry::Node& node) override {
    pool_->Drop(node.address);
  }

 private:
  static bool Idempotent(const Attempt& attempt, const registry::Node& node,
                         const std::vector<registry::Service>& versions,
                         const CallRequest& request) {
    if (attempt.idempotent.has_value()) return *attempt.idempotent;
    return EndpointIdempotent(node, versions, request.endpoint);
  }

  const std::shared_ptr<SocketPool> pool_;
  const std::string content_type_;
  const absl::Duration probe_interval_;
};

class SubjectCallPath : public CallPath {
 public:
  SubjectCallPath(std::shared_ptr<RequestReply> request_reply,
                  std::string content_type)
      : request_reply_(std::move(request_reply)),
        content_type_(std::move(content_type)) {}

  absl::StatusOr<Message> Call(const registry::Node& node,
                               const std::vector<registry::Service>& versions,
                               CallRequest* request, absl::Time deadline,
                               Attempt* attempt) override {
    // A request/reply is never sent again after delivery: NATS says "no
    // responders" when nobody took it (retried elsewhere), and a lost
    // answer is a deadline; any other failure (the connection's) is the
    // caller's, not retried.
    attempt->node_failed = false;
    attempt->maybe_delivered = false;
    attempt->local_failure = false;
    bool* const node_failed = &attempt->node_failed;
    const std::string subject = SubjectOf(node, versions, request->endpoint);
    if (subject.empty()) {
      return absl::NotFoundError(absl::StrCat("service '", request->service,
                                              "' has no endpoint '",
                                              request->endpoint, "'"));
    }
    if (request_reply_ == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("node ", node.id,
                       " is a NATS Service API instance and this client has no "
                       "request_reply (service/nats sets it)"));
    }
    // No Micro-Id: one request, one inbox.
    SetCallHeaders("", content_type_, deadline, request);
    Message& message = request->message;
    absl::StatusOr<Message> replied =
        request_reply_->Request(subject, message, deadline);
    if (!replied.ok()) {
      // Only "no responders" is the node's (gone: nobody took the request);
      // our own connection closed, draining or reconnecting is not, and
      // evicting a healthy node for it would be wrong.
      *node_failed = NobodyListens(replied.status());
      attempt->local_failure =
          !*node_failed && absl::IsUnavailable(replied.status());
      return replied.status();
    }
    // NATS micro libraries send no Content-Type: the client reads such an
    // answer as the request was sent, as it does any answer without one.
    absl::Status error = AnswerError(replied->headers, true, node_failed);
    if (!error.ok()) return error;
    return replied;
  }

 private:
  // The subject of `endpoint` (by its name or its ADR-32 form) in the
  // version that has `node`; empty when none.
  static std::string SubjectOf(const registry::Node& node,
                               const std::vector<registry::Service>& versions,
                               const std::string& endpoint) {
    std::string subject;
    for (const registry::Service& version : versions) {
      const bool has_node =
          std::any_of(version.nodes.begin(), version.nodes.end(),
                      [&](const registry::Node& n) { return n.id == node.id; });
      if (!has_node) continue;
      for (const registry::Endpoint& e : version.endpoints) {
        if (e.name != endpoint && e.name != srv::ToName(endpoint)) continue;
        if (auto it = e.metadata.find(srv::kSubjectMetadata);
            it != e.metadata.end()) {
          subject = it->second;
        }
      }
    }
    return subject;
  }

  const std::shared_ptr<RequestReply> request_reply_;
  const std::string content_type_;
};

}  // namespace

// 15 hex digits (60 random bits): short enough to stay in std::string's
// inline buffer, and only answers on one socket are told apart by it.
std::string NewCallId() {
  static thread_local absl::BitGen gen;
  uint64_t bits = absl::Uniform<uint64_t>(gen);
  std::string id(15, '0');
  for (int i = 14; i >= 0; --i, bits >>= 4)
    id[i] = "0123456789abcdef"[bits & 15];
  return id;
}

bool MaybeDelivered(const absl::Status& failure, absl::Time sent_at,
                    absl::Duration probe_interval) {
  switch (transport::DeliveryOf(failure)) {
    case transport::Delivery::kNotDelivered:
      return false;
    case transport::Delivery::kMaybeDelivered:
      return true;
    case transport::Delivery::kUnknown:
      break;
  }
  // A transport that does not say: an Unavailable sooner than a probe could
  // run is the request's own refusal; anything else may have reached a
  // handler.
  return !absl::IsUnavailable(failure) ||
         (probe_interval > absl::ZeroDuration() &&
          concurrency::CoarseNow() - sent_at + kCoarseTick >=
              probe_interval / 2);
}

absl::Status AttemptFailure(const registry::Node& node,
                            const absl::Status& failure,
                            absl::string_view before, bool* node_failed,
                            bool after_send) {
  if (absl::IsInvalidArgument(failure)) return failure;  // too large
  if (absl::IsDeadlineExceeded(failure)) return failure;
  if (absl::IsResourceExhausted(failure)) return failure;  // full listener
  *node_failed = true;
  if (absl::IsOutOfRange(failure) || absl::IsFailedPrecondition(failure)) {
    if (after_send) {
      return absl::UnavailableError(
          absl::StrCat("node ", node.id,
                       " ended the connection after the request was sent"));
    }
    return absl::UnavailableError(absl::StrCat(
        "node ", node.id, " ended the connection before ", before));
  }
  return absl::UnavailableError(
      absl::StrCat("node ", node.id, ": ", failure.message()));
}

void SetHeader(Headers* headers, absl::string_view name,
               absl::string_view value) {
  // Headers has no transparent comparator: a name within std::string's
  // inline buffer (every call header's) costs no allocation to look up.
  const std::string key(name);
  if (auto it = headers->find(key); it != headers->end()) {
    it->second.assign(value.data(), value.size());
    return;
  }
  std::vector<Headers::node_type>& spare = spare_nodes;
  if (spare.empty()) {
    headers->emplace(std::move(key), std::string(value));
    return;
  }
  Headers::node_type node = std::move(spare.back());
  spare.pop_back();
  node.key().assign(key);
  node.mapped().assign(value.data(), value.size());
  headers->insert(std::move(node));
}

void ReclaimCallHeaders(Headers* headers) {
  std::vector<Headers::node_type>& spare = spare_nodes;
  for (const char* name : kCallHeaders) {
    if (spare.size() >= kMaxSpareNodes) return;
    Headers::node_type node = headers->extract(name);
    if (!node.empty()) spare.push_back(std::move(node));
  }
}

void SetCallHeaders(absl::string_view id,
                    absl::string_view default_content_type, absl::Time deadline,
                    CallRequest* request) {
  Headers* headers = &request->message.headers;
  // Over a header already there (the next attempt's), or in a node this
  // thread kept: no allocation.
  SetHeader(headers, kServiceHeader, request->service);
  SetHeader(headers, kEndpointHeader, request->endpoint);
  if (!id.empty()) SetHeader(headers, kIdHeader, id);
  if (headers->count(kContentTypeHeader) == 0) {
    SetHeader(headers, kContentTypeHeader, default_content_type);
  }
  if (deadline != absl::InfiniteFuture()) {
    const absl::AlphaNum nanos(
        std::max<int64_t>(0, absl::ToInt64Nanoseconds(deadline - absl::Now())));
    SetHeader(headers, kTimeoutHeader, nanos.Piece());
  }
}

absl::Status AnswerError(const Headers& headers, bool service_api_errors,
                         bool* node_failed) {
  static const std::string* const kError = new std::string(kErrorHeader);
  if (const std::string* json = FindHeader(headers, *kError)) {
    absl::Status error = ErrorFromJson(*json);
    *node_failed = IsRetryable(error) && headers.count(kRefusedHeader) != 0;
    return error;
  }
  if (!service_api_errors) return absl::OkStatus();
  static const std::string* const kText = new std::string(srv::kErrorHeader);
  static const std::string* const kCode =
      new std::string(srv::kErrorCodeHeader);
  const std::string* text = FindHeader(headers, *kText);
  if (text == nullptr) return absl::OkStatus();
  int code = 500;
  const std::string* code_header = FindHeader(headers, *kCode);
  if (code_header != nullptr && !absl::SimpleAtoi(*code_header, &code)) {
    code = 500;
  }
  return absl::Status(StatusCodeForHttp(code),
                      text->substr(0, kMaxErrorDetail));
}

std::unique_ptr<CallPath> NewSocketCallPath(std::shared_ptr<SocketPool> pool,
                                            std::string content_type,
                                            absl::Duration probe_interval) {
  return std::make_unique<SocketCallPath>(
      std::move(pool), std::move(content_type), probe_interval);
}

void AttemptCancel::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (socket_ != nullptr) socket_->Close().IgnoreError();
}

bool AttemptCancel::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool AttemptCancel::Register(transport::Socket* socket) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  socket_ = socket;
  return true;
}

bool AttemptCancel::Unregister() {
  std::lock_guard<std::mutex> lock(mu_);
  socket_ = nullptr;
  return cancelled_;
}

const registry::Endpoint* FindEndpoint(
    const registry::Node& node, const std::vector<registry::Service>& versions,
    absl::string_view endpoint) {
  for (const registry::Service& version : versions) {
    if (std::none_of(
            version.nodes.begin(), version.nodes.end(),
            [&](const registry::Node& n) { return n.id == node.id; })) {
      continue;
    }
    for (const registry::Endpoint& e : version.endpoints) {
      if (e.name == endpoint) return &e;
    }
  }
  return nullptr;
}

bool EndpointIdempotent(const registry::Node& node,
                        const std::vector<registry::Service>& versions,
                        absl::string_view endpoint) {
  const registry::Endpoint* e = FindEndpoint(node, versions, endpoint);
  if (e == nullptr) return false;
  auto it = e->metadata.find("idempotent");
  return it != e->metadata.end() && it->second == "true";
}

std::unique_ptr<CallPath> NewSubjectCallPath(
    std::shared_ptr<RequestReply> request_reply, std::string content_type) {
  return std::make_unique<SubjectCallPath>(std::move(request_reply),
                                           std::move(content_type));
}

}  // namespace micro_nats::service::service_internal
