// Copyright 2026 The micro-nats Authors.
//
// scatter.h: scatter-gather — one request to every instance of a service,
// every answer gathered, per node.
//
//   MN_ASSIGN_OR_RETURN(
//       ScatterResult<StatusReply> result,
//       service->scatter().Call<StatusRequest, StatusReply>(
//           "inventory", "Inventory.Status", request,
//           {.timeout = absl::Milliseconds(200)}));
//   for (const auto& [node_id, answer] : result.nodes) {
//     if (answer.ok()) ... else ... answer.status() ...
//   }
//
// The request goes out once (one publish, whatever the number of
// instances) and the answers come back on one reply path. The call looks
// the service up in the client's registry cache first: the nodes it finds
// (after `filters`) are the ones it expects, and it returns as soon as each
// of them has answered, or at the deadline, whichever comes first. Every
// expected node has an entry in the result: its answer, its error (what the
// handler returned, or the server's own refusal, mapped as for Call,
// errors.h), or DeadlineExceeded when it did not answer in time.
//
// Wire protocol (the same on every stack; NATS shown):
//   - request: published once on "<subject_prefix>.<service name>"
//     ("micro.scatter.greeter"), to which every instance of the service
//     subscribes without a queue group, with a reply subject of the
//     caller's (one InboxMux inbox per call) and go-micro's call headers:
//     Micro-Service, Micro-Endpoint (which endpoint), Micro-Id (this
//     call's id), Content-Type and Timeout (nanoseconds left);
//   - answer: one message per instance on the reply subject, the same
//     answer a call through the transport gets (the endpoint's handler,
//     codec, error mapping and refusals: Micro-Error and Micro-Refused on
//     errors), plus `Micro-Node: <the instance's node id>` and the
//     request's Micro-Id.
//   The subject must be a valid concrete NATS subject (subject.h): a
//   service name with an empty dot-separated part cannot be scattered to,
//   and its server does not start (as with the NATS Service API).
//
// Trust: anyone who can publish to the reply subject can answer. An
// answer counts only when its Micro-Node names a node the lookup expects
// and its Micro-Id is this call's; only the first answer per node counts.
// Others are counted (ScatterResult::unknown, duplicates, dropped), never
// returned and never complete the gather: answers in the name of nodes
// the registry does not know cannot end it before the real ones answered.
// What one call takes in is bounded: an answer over max_answer_bytes, or
// past max_bytes for the call, stands as ResourceExhausted for its node
// (it answered; nothing is hidden). A peer that sees the request can still
// answer first in a real node's name, as it can for any request on NATS:
// NATS permissions on "<subject_prefix>.>" and the inbox prefix keep
// others from seeing requests (SECURITY.md).
//
// A NATS Service API node found by registry/srv does not speak this
// protocol: it is answered Unimplemented at once and not waited for.

#ifndef MICRO_NATS_SERVICE_SCATTER_H_
#define MICRO_NATS_SERVICE_SCATTER_H_

#include <google/protobuf/message.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "registry/cache/cache.h"
#include "service/codec.h"
#include "service/context.h"
#include "service/selector.h"
#include "service/server.h"
#include "status/status_macros.h"

namespace micro_nats::service {

// The node id an answer comes from.
inline constexpr char kNodeHeader[] = "Micro-Node";
inline constexpr char kDefaultScatterPrefix[] = "micro.scatter";

// "<prefix>.<service>", or InvalidArgument when that is not a valid
// concrete subject.
absl::StatusOr<std::string> ScatterSubject(absl::string_view prefix,
                                           absl::string_view service);

// ScatterWire: how a stack carries scatter requests and their answers
// (service/nats, service/memory). Thread-safe.
class ScatterWire {
 public:
  virtual ~ScatterWire() = default;

  // Called with each answer to a request, on the wire's thread: it must
  // not block. The headers are as //nats read them (validated).
  using AnswerSink =
      std::function<void(Headers headers, absl::string_view body)>;
  // Called when the wire knows it lost answers (how many unknown).
  using LostSink = std::function<void(const absl::Status& why)>;
  // An outstanding request: answers reach its sink until it is destroyed
  // (a call may still run shortly after: the sink holds what it uses).
  class Pending {
   public:
    virtual ~Pending() = default;
  };
  // Sends `request` once to every instance serving `service`.
  // Unavailable when it cannot be sent; InvalidArgument for a service
  // name the wire cannot address.
  virtual absl::StatusOr<std::unique_ptr<Pending>> Send(
      absl::string_view service, const Message& request, AnswerSink on_answer,
      LostSink on_lost) = 0;

  // Answers one request; Unavailable when the asker is gone.
  using Reply = std::function<absl::Status(const Message& answer)>;
  // Called with each request for the service, on the wire's thread: it
  // must not block (hand the request to a pool).
  using RequestSink = std::function<void(Message request, Reply reply)>;
  class Listening {
   public:
    // When it returns, no RequestSink call runs or will start.
    virtual ~Listening() = default;
  };
  // Whether a RequestSink may run a handler itself, for as long as it
  // takes (ScatterConfig::inline_handlers): true when sinks run on threads
  // of the wire's own (NATS: its delivery or handler threads); false for a wire
  // that calls sinks on the scattering thread (memory), where a sink must not
  // block and the frontend hands every handler to its pool.
  virtual bool SinksMayRunHandlers() const { return true; }
  // Receives the requests sent to `service` (every listener gets each).
  virtual absl::StatusOr<std::unique_ptr<Listening>> Listen(
      absl::string_view service, RequestSink on_request) = 0;
};

// How a service scatters and answers scatters (ServiceOptions::scatter).
struct ScatterConfig {
  // Calling: the timeout when a call gives no deadline, the encoding of
  // typed requests, and what one call takes in (see Trust above).
  absl::Duration timeout = absl::Seconds(5);
  std::string content_type = kProtobufContentType;
  size_t max_answer_bytes = 4 << 20;
  size_t max_bytes = 64 << 20;
  // Answering: requests handled at once (threads, started as needed), and
  // waiting before new ones are refused with ResourceExhausted (counted as
  // the server counts its own, ServerStats::overloaded).
  int max_concurrent_requests = 8;
  size_t max_queued_requests = 1024;
  // Run a scatter's handler on the thread that delivered the request
  // instead of handing it to the pool above: one thread wake-up less per
  // instance, most of what a scatter cost over raw nats.c (paired, N = 64:
  // 1.7x raw with the hand-off, 1.2x without). Safe for handlers that call
  // other services: on NATS replies are routed on a thread no handler
  // shares (nats/inbox_mux.h), and the scatter subscription is adaptive
  // (nats::HandlerThread::kAdaptive): once a handler waits, it runs on the
  // handler pool. Handlers of one instance then run one at a time, in
  // order; false: up to max_concurrent_requests at once. Inline, the two
  // limits above bound nothing: what waits is the NATS subscription's
  // queue (its pending limits; a drop is reported with its count). On the
  // memory stack, whose wire runs on the scattering thread, always the
  // pool.
  bool inline_handlers = true;
  // Failures nobody else hears of (an answer that could not be sent).
  // Unset: the process error sink (status/error_sink.h) as
  // "service/scatter", with the service's name.
  std::function<void(const absl::Status&)> on_error;
};

struct ScatterCallOptions {
  // When the gather ends at the latest. InfiniteFuture: `timeout` from now.
  absl::Time deadline = absl::InfiniteFuture();
  // Zero: the config's.
  absl::Duration timeout = absl::ZeroDuration();
  // Which nodes are asked for (the others' answers are not kept).
  std::vector<NodeFilter> filters;
  // Sent as headers; a handler reads them from its Context.
  Metadata metadata;
  // The request's encoding for typed calls; empty: the config's.
  std::string content_type;
};

// What a scatter-gather got.
template <typename T>
struct ScatterResult {
  // Every node the lookup found (after the filters), by id: its answer or
  // its error; DeadlineExceeded when it did not answer in time.
  std::map<std::string, absl::StatusOr<T>> nodes;
  // Expected nodes that answered (successes and errors).
  int answered = 0;
  // The registry's list was a guess (an idle gap ended its lookup):
  // instances it missed were not waited for.
  bool partial = false;
  // Answers not kept: in the name of nodes not expected, a node's second
  // answer, and malformed ones (no Micro-Node, another call's Micro-Id);
  // answers the wire says it lost (e.g. a slow consumer).
  int64_t unknown = 0;
  int64_t duplicates = 0;
  int64_t dropped = 0;
  int64_t lost = 0;
};

// Scatter
//
// Thread-safe. Get one from Service::scatter().
class Scatter {
 public:
  Scatter(ScatterConfig config,
          std::shared_ptr<registry::CachingRegistry> registry,
          std::shared_ptr<ScatterWire> wire);

  // Asks every node of `service` with raw bytes (`request.body` as is,
  // its headers added to the call's; set Content-Type there). The call
  // fails as a whole only when there is nobody to ask or no way to ask:
  // InvalidArgument (a bad name), NotFound (no such service, or no node
  // after the filters), Unavailable (the registry or the wire failed),
  // DeadlineExceeded (the lookup did not finish in time).
  absl::StatusOr<ScatterResult<Message>> CallRaw(
      absl::string_view service, absl::string_view endpoint, Message request,
      ScatterCallOptions options = {});

  // Typed: encodes with the options' content type (default protobuf),
  // decodes each answer with the one it comes in; a node whose answer does
  // not decode has that error.
  template <typename Req, typename Resp>
  absl::StatusOr<ScatterResult<Resp>> Call(absl::string_view service,
                                           absl::string_view endpoint,
                                           const Req& request,
                                           ScatterCallOptions options = {});

  // The server side: a Frontend answering this wire's requests for the
  // server it is started with (Service::Create adds it).
  static std::shared_ptr<Frontend> NewFrontend(
      std::shared_ptr<ScatterWire> wire, ScatterConfig config);

 private:
  absl::Status Encode(const google::protobuf::Message& request,
                      ScatterCallOptions& options, Message* message) const;
  static absl::Status Decode(const Message& answer,
                             google::protobuf::Message* response);

  const ScatterConfig config_;
  const std::shared_ptr<registry::CachingRegistry> registry_;
  const std::shared_ptr<ScatterWire> wire_;
};

// --- Implementation details of the templates ---

template <typename Req, typename Resp>
absl::StatusOr<ScatterResult<Resp>> Scatter::Call(absl::string_view service,
                                                  absl::string_view endpoint,
                                                  const Req& request,
                                                  ScatterCallOptions options) {
  Message message;
  MN_RETURN_IF_ERROR(Encode(request, options, &message));
  MN_ASSIGN_OR_RETURN(
      ScatterResult<Message> raw,
      CallRaw(service, endpoint, std::move(message), std::move(options)));
  ScatterResult<Resp> result{.answered = raw.answered,
                             .partial = raw.partial,
                             .unknown = raw.unknown,
                             .duplicates = raw.duplicates,
                             .dropped = raw.dropped,
                             .lost = raw.lost};
  for (auto& [node, answer] : raw.nodes) {
    if (!answer.ok()) {
      result.nodes.emplace(node, answer.status());
      continue;
    }
    Resp response;
    absl::Status decoded = Decode(*answer, &response);
    if (decoded.ok()) {
      result.nodes.emplace(node, std::move(response));
    } else {
      result.nodes.emplace(node, decoded);
    }
  }
  return result;
}

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_SCATTER_H_
