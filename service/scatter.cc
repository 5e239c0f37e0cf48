// Copyright 2026 The micro-nats Authors.

#include "service/scatter.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "service/errors.h"
#include "service/internal/admission.h"
#include "srv/protocol.h"
#include "status/error_sink.h"
#include "subject/subject.h"

namespace micro_nats::service {
namespace {

std::string NewCallId() {
  static thread_local absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

const std::string* FindHeader(const Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

bool IsNatsMicro(const registry::Node& node) {
  auto it = node.metadata.find(srv::kProtocolMetadata);
  return it != node.metadata.end() && it->second == srv::kNatsMicroProtocol;
}

// One call's answers as they arrive. Filled on the wire's thread, which
// only checks, copies (within the caps) and wakes the caller once: when
// the last expected node has answered.
struct Gathering {
  Gathering(std::string call_id, size_t max_answer_bytes, size_t max_bytes)
      : call_id(std::move(call_id)),
        max_answer_bytes(max_answer_bytes),
        max_bytes(max_bytes) {}

  // False for a node already expected. Before the request goes out; under
  // the lock all the same, as the wire's thread reads these under it and
  // the path between (nats.c) is not visible to ThreadSanitizer.
  bool Expect(const std::string& node) {
    std::lock_guard<std::mutex> lock(mu);
    if (!index.try_emplace(node, slots.size()).second) return false;
    slots.emplace_back();
    ++remaining;
    return true;
  }

  void OnAnswer(Headers headers, absl::string_view body) {
    const std::string* node = FindHeader(headers, kNodeHeader);
    const std::string* id = FindHeader(headers, kIdHeader);
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    if (node == nullptr || id == nullptr || *id != call_id) {
      ++dropped;
      return;
    }
    auto it = index.find(*node);
    if (it == index.end()) {
      ++unknown;
      return;
    }
    std::optional<absl::StatusOr<Message>>& slot = slots[it->second];
    if (slot.has_value()) {
      ++duplicates;
      return;
    }
    size_t size = body.size();
    for (const auto& [key, value] : headers) size += key.size() + value.size();
    if (body.size() > max_answer_bytes || bytes + size > max_bytes) {
      // It answered: say so, without taking the bytes in.
      slot = absl::ResourceExhaustedError(
          absl::StrCat("node ", *node, " answered with ", size,
                       " bytes, over the scatter's limit (", max_answer_bytes,
                       " per answer, ", max_bytes, " per call)"));
    } else {
      bytes += size;
      slot = Message{.headers = std::move(headers), .body = std::string(body)};
    }
    if (--remaining == 0) done.notify_all();
  }

  void OnLost(const absl::Status&) {
    std::lock_guard<std::mutex> lock(mu);
    if (!closed) ++lost;
  }

  const std::string call_id;
  const size_t max_answer_bytes;
  const size_t max_bytes;
  std::mutex mu;
  std::condition_variable done;
  absl::flat_hash_map<std::string, size_t> index;             // guarded by mu
  std::vector<std::optional<absl::StatusOr<Message>>> slots;  // guarded by mu
  size_t remaining = 0;                                       // guarded by mu
  size_t bytes = 0;                                           // guarded by mu
  int64_t unknown = 0;                                        // guarded by mu
  int64_t duplicates = 0;                                     // guarded by mu
  int64_t dropped = 0;                                        // guarded by mu
  int64_t lost = 0;                                           // guarded by mu
  bool closed = false;  // guarded by mu: the call returned
};

// The error an answer's Micro-Error says, else the answer.
absl::StatusOr<Message> ReadAnswer(Message answer) {
  if (const std::string* error = FindHeader(answer.headers, kErrorHeader)) {
    return ErrorFromJson(*error);
  }
  return answer;
}

// --- The server side ---

// What the wire's request sink and the pool's tasks share; the last of
// them frees it (and the pool).
struct Answering : std::enable_shared_from_this<Answering> {
  explicit Answering(ScatterConfig scatter_config)
      : config(std::move(scatter_config)),
        pool(std::max(1, config.max_concurrent_requests)) {}

  void OnRequest(Message request, ScatterWire::Reply reply);
  void Handle(const Message& request, const ScatterWire::Reply& reply);
  // Answers with `error` (not OK): a fresh message with the request's
  // Micro-Id, the error, and `refusal` when it is the server's own.
  void Refuse(const Message& request, const ScatterWire::Reply& reply,
              const absl::Status& error, absl::string_view refusal);
  void Send(const Message& request, const ScatterWire::Reply& reply,
            Message answer, bool ok);
  void Report(const absl::Status& status) const;

  const ScatterConfig config;
  bool run_inline = false;  // set before listening: config and the wire's
  ServedService served;     // set before listening
  concurrency::ThreadPool pool;

  service_internal::Admission admission;
};

void Answering::OnRequest(Message request, ScatterWire::Reply reply) {
  const char* refusal = "";
  if (absl::Status refused =
          admission.Admit(served.name, config.max_queued_requests, &refusal);
      !refused.ok()) {
    if (absl::IsResourceExhausted(refused)) served.count_overload();
    Refuse(request, reply, refused, refusal);
    return;
  }
  if (run_inline) {
    admission.Started();
    Handle(request, reply);
    admission.Finished();
    return;
  }
  auto shared_reply = std::make_shared<ScatterWire::Reply>(std::move(reply));
  Message refused_request;  // enough of it to refuse it, if it cannot run
  if (const std::string* id = FindHeader(request.headers, kIdHeader)) {
    refused_request.headers[kIdHeader] = *id;
  }
  // A task keeps the state (and its pool) alive.
  absl::Status scheduled =
      pool.Schedule([self = shared_from_this(), shared_reply,
                     request = std::move(request)]() mutable {
        self->admission.Started();
        self->Handle(request, *shared_reply);
        self->admission.Finished();
      });
  if (!scheduled.ok()) {
    admission.Abandoned();
    Refuse(refused_request, *shared_reply, scheduled, "overloaded");
  }
}

void Answering::Handle(const Message& request,
                       const ScatterWire::Reply& reply) {
  const std::string* endpoint = FindHeader(request.headers, kEndpointHeader);
  Message response;
  absl::Status status =
      served.serve(endpoint == nullptr ? "" : *endpoint, request, &response);
  // serve leaves out a Content-Type that is the request's; a scatter's
  // answers each say theirs.
  if (const std::string* type = FindHeader(request.headers, kContentTypeHeader);
      status.ok() && type != nullptr) {
    response.headers.emplace(kContentTypeHeader, *type);
  }
  Send(request, reply, std::move(response), status.ok());
}

void Answering::Refuse(const Message& request, const ScatterWire::Reply& reply,
                       const absl::Status& error, absl::string_view refusal) {
  Message answer;
  if (const std::string* id = FindHeader(request.headers, kIdHeader)) {
    answer.headers[kIdHeader] = *id;
  }
  answer.headers[kErrorHeader] = ErrorToJson(error, served.name);
  if (!refusal.empty()) answer.headers[kRefusedHeader] = std::string(refusal);
  Send(request, reply, std::move(answer), false);
}

void Answering::Send(const Message& request, const ScatterWire::Reply& reply,
                     Message answer, bool ok) {
  answer.headers[kNodeHeader] = served.id;
  absl::Status sent = reply(answer);
  if (!sent.ok() && ok && !absl::IsUnavailable(sent)) {
    // The answer itself cannot go (too large): say so instead, or the
    // caller waits out its deadline for this node.
    Report(absl::Status(sent.code(),
                        absl::StrCat("a scatter answer of '", served.name,
                                     "' could not be sent: ", sent.message())));
    const absl::Status unsent = AnswerNotSent(sent);
    // An error of the endpoint's, not the success serve counted; counted
    // before the caller can hear it.
    if (served.count_unsent) {
      const std::string* endpoint =
          FindHeader(request.headers, kEndpointHeader);
      served.count_unsent(endpoint == nullptr ? "" : *endpoint, unsent);
    }
    Refuse(request, reply, unsent, "");
    return;
  }
  if (!sent.ok() && !absl::IsUnavailable(sent)) {
    Report(absl::Status(sent.code(),
                        absl::StrCat("answering a scatter to '", served.name,
                                     "' failed: ", sent.message())));
  }
}

void Answering::Report(const absl::Status& status) const {
  ReportError(config.on_error, {"service/scatter", served.name}, status);
}

class ScatterFrontend : public Frontend {
 public:
  ScatterFrontend(std::shared_ptr<ScatterWire> wire, ScatterConfig config)
      : wire_(std::move(wire)),
        state_(std::make_shared<Answering>(std::move(config))) {}

  ~ScatterFrontend() override { Stop(absl::Now()).IgnoreError(); }

  absl::Status Start(ServedService served) override {
    state_->served = std::move(served);
    state_->run_inline =
        state_->config.inline_handlers && wire_->SinksMayRunHandlers();
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<ScatterWire::Listening> listening,
        wire_->Listen(
            state_->served.name,
            [state = state_](Message request, ScatterWire::Reply reply) {
              state->OnRequest(std::move(request), std::move(reply));
            }));
    std::lock_guard<std::mutex> lock(mu_);
    listening_ = std::move(listening);
    return absl::OkStatus();
  }

  absl::Status Stop(absl::Time deadline) override {
    std::unique_ptr<ScatterWire::Listening> listening;
    {
      std::lock_guard<std::mutex> lock(mu_);
      listening.swap(listening_);
    }
    listening.reset();  // no new requests from here on
    Answering& st = *state_;
    if (const int running = st.admission.StopAndWait(deadline); running > 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("the scatter frontend of '", st.served.name,
                       "' stopped with ", running, " requests running"));
    }
    return absl::OkStatus();
  }

 private:
  const std::shared_ptr<ScatterWire> wire_;
  const std::shared_ptr<Answering> state_;
  std::mutex mu_;
  std::unique_ptr<ScatterWire::Listening> listening_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::string> ScatterSubject(absl::string_view prefix,
                                           absl::string_view service) {
  std::string subject = absl::StrCat(prefix, ".", service);
  if (absl::Status valid =
          ValidateSubject(subject, SubjectKind::kConcrete, "scatter subject");
      !valid.ok()) {
    return valid;
  }
  return subject;
}

Scatter::Scatter(ScatterConfig config,
                 std::shared_ptr<registry::CachingRegistry> registry,
                 std::shared_ptr<ScatterWire> wire)
    : config_(std::move(config)),
      registry_(std::move(registry)),
      wire_(std::move(wire)) {}

std::shared_ptr<Frontend> Scatter::NewFrontend(
    std::shared_ptr<ScatterWire> wire, ScatterConfig config) {
  return std::make_shared<ScatterFrontend>(std::move(wire), std::move(config));
}

absl::Status Scatter::Encode(const google::protobuf::Message& request,
                             ScatterCallOptions& options,
                             Message* message) const {
  if (options.content_type.empty()) options.content_type = config_.content_type;
  MN_ASSIGN_OR_RETURN(const Codec* codec, CodecFor(options.content_type));
  MN_ASSIGN_OR_RETURN(message->body, codec->Marshal(request));
  message->headers[kContentTypeHeader] = std::string(codec->content_type());
  return absl::OkStatus();
}

absl::Status Scatter::Decode(const Message& answer,
                             google::protobuf::Message* response) {
  const std::string* type = FindHeader(answer.headers, kContentTypeHeader);
  MN_ASSIGN_OR_RETURN(const Codec* codec,
                      CodecFor(type == nullptr ? "" : *type));
  return codec->Unmarshal(answer.body, response);
}

absl::StatusOr<ScatterResult<Message>> Scatter::CallRaw(
    absl::string_view service, absl::string_view endpoint, Message request,
    ScatterCallOptions options) {
  if (wire_ == nullptr) {
    return absl::FailedPreconditionError(
        "this service has no scatter wire (service/nats and service/memory "
        "set one)");
  }
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(service));
  if (endpoint.empty()) {
    return absl::InvalidArgumentError("a scatter needs an endpoint");
  }
  absl::Time deadline = options.deadline;
  if (deadline == absl::InfiniteFuture()) {
    deadline = concurrency::DeadlineIn(options.timeout > absl::ZeroDuration()
                                           ? options.timeout
                                           : config_.timeout);
  }
  const absl::Time start = absl::Now();
  MN_ASSIGN_OR_RETURN(registry::CachedLookup lookup,
                      registry_->Lookup(service, deadline));
  ScatterResult<Message> result;
  result.partial = lookup.partial || lookup.stale;
  const std::vector<registry::Node> nodes =
      Candidates(lookup.services, options.filters, {});
  if (nodes.empty()) {
    return absl::NotFoundError(
        absl::StrCat("service '", service,
                     "' has no node that matches the scatter's filters"));
  }
  const std::string call_id = NewCallId();
  auto gathering = std::make_shared<Gathering>(
      call_id, config_.max_answer_bytes, config_.max_bytes);
  std::vector<const registry::Node*> expected;
  for (const registry::Node& node : nodes) {
    if (IsNatsMicro(node)) {
      result.nodes.emplace(
          node.id, absl::UnimplementedError(absl::StrCat(
                       "node ", node.id,
                       " is a NATS Service API instance: it does not answer "
                       "scatters")));
    } else if (gathering->Expect(node.id)) {
      expected.push_back(&node);
    }
  }
  if (expected.empty()) return result;

  for (auto& [key, value] : options.metadata) {
    request.headers.emplace(key, value);
  }
  request.headers[kServiceHeader] = std::string(service);
  request.headers[kEndpointHeader] = std::string(endpoint);
  request.headers[kIdHeader] = call_id;
  request.headers.emplace(kContentTypeHeader, config_.content_type);
  request.headers[kTimeoutHeader] = absl::StrCat(
      std::max<int64_t>(0, absl::ToInt64Nanoseconds(deadline - absl::Now())));
  MN_ASSIGN_OR_RETURN(
      std::unique_ptr<ScatterWire::Pending> pending,
      wire_->Send(
          service, request,
          [gathering](Headers headers, absl::string_view body) {
            gathering->OnAnswer(std::move(headers), body);
          },
          [gathering](const absl::Status& why) { gathering->OnLost(why); }));
  std::vector<std::optional<absl::StatusOr<Message>>> slots;
  {
    std::unique_lock<std::mutex> lock(gathering->mu);
    concurrency::WaitUntil(gathering->done, lock, deadline,
                           [&] { return gathering->remaining == 0; });
    gathering->closed = true;
    slots.swap(gathering->slots);
    result.unknown = gathering->unknown;
    result.duplicates = gathering->duplicates;
    result.dropped = gathering->dropped;
    result.lost = gathering->lost;
  }
  pending.reset();
  for (size_t i = 0; i < expected.size(); ++i) {
    std::optional<absl::StatusOr<Message>>& slot = slots[i];
    if (!slot.has_value()) {
      result.nodes.emplace(
          expected[i]->id,
          absl::DeadlineExceededError(absl::StrCat(
              "node ", expected[i]->id, " did not answer the scatter to ",
              service, ".", endpoint, " within ",
              absl::FormatDuration(
                  absl::Trunc(absl::Now() - start, absl::Microseconds(1))))));
      continue;
    }
    ++result.answered;
    result.nodes.emplace(
        expected[i]->id,
        slot->ok() ? ReadAnswer(std::move(*slot).value()) : slot->status());
  }
  return result;
}

}  // namespace micro_nats::service
