// Copyright 2026 The micro-nats Authors.
//
// context.h: what a request handler knows about its call, and the headers
// a call carries on the wire (go-micro's).
//
// A handler gets a Context with the caller's deadline (sent as the
// `Timeout` header, in nanoseconds, as go-micro does), the request's
// metadata (its headers) and a way to see that the caller gave up:
//
//   absl::Status Hello(Context& ctx, const HelloRequest& req, HelloReply* r) {
//     for (const Item& item : Work(req)) {
//       if (ctx.Cancelled()) return absl::CancelledError("caller gave up");
//       ...
//     }
//     ctx.response_metadata()["Served-By"] = "eu-1";
//   }

#ifndef MICRO_NATS_SERVICE_CONTEXT_H_
#define MICRO_NATS_SERVICE_CONTEXT_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "message/message.h"

namespace micro_nats::service {

using Metadata = std::map<std::string, std::string>;
using ::micro_nats::Message;

// Request and response headers, as go-micro names them.
inline constexpr char kServiceHeader[] = "Micro-Service";
inline constexpr char kEndpointHeader[] = "Micro-Endpoint";
inline constexpr char kIdHeader[] = "Micro-Id";
inline constexpr char kErrorHeader[] = "Micro-Error";
inline constexpr char kTopicHeader[] = "Micro-Topic";
inline constexpr char kContentTypeHeader[] = "Content-Type";
inline constexpr char kTimeoutHeader[] = "Timeout";  // nanoseconds
// Set on an error answer that is the server's own refusal, not a handler's
// status: "stopping", "overloaded" or "no-endpoint". Clients retry another
// node only on a refusal or a transport failure (retry.h); go-micro peers
// ignore the header.
inline constexpr char kRefusedHeader[] = "Micro-Refused";

// Context
//
// One per call, used by one handler thread at a time.
class Context;

namespace service_internal {
// The Context of the handler running on this thread (Context::Current).
inline thread_local const Context* current_context = nullptr;
}  // namespace service_internal

class Context {
 public:
  Context(std::string service, std::string endpoint, std::string content_type,
          absl::Time deadline, Metadata metadata,
          std::shared_ptr<const std::atomic<bool>> server_gave_up = nullptr,
          absl::Duration queued = absl::ZeroDuration())
      : owned_(std::make_unique<Owned>(
            Owned{std::move(service), std::move(endpoint),
                  std::move(content_type), std::move(metadata)})),
        service_(&owned_->service),
        endpoint_(&owned_->endpoint),
        content_type_(&owned_->content_type),
        metadata_(&owned_->metadata),
        deadline_(deadline),
        queued_(queued),
        server_gave_up_(std::move(server_gave_up)) {}

  // What the server makes for each request: it refers to the server's
  // strings and the request's headers, which outlive the handler's call,
  // instead of copying them. A copy of it owns its own.
  struct Borrowed {};
  Context(Borrowed, const std::string& service, const std::string& endpoint,
          const std::string& content_type, absl::Time deadline,
          const Metadata& metadata,
          std::shared_ptr<const std::atomic<bool>> server_gave_up,
          absl::Duration queued = absl::ZeroDuration())
      : service_(&service),
        endpoint_(&endpoint),
        content_type_(&content_type),
        metadata_(&metadata),
        deadline_(deadline),
        queued_(queued),
        server_gave_up_(std::move(server_gave_up)) {}

  Context(const Context& other)
      : Context(other.service(), other.endpoint(), other.content_type(),
                other.deadline(), other.metadata(), other.server_gave_up_) {
    queued_ = other.queued_;
    response_metadata_ = other.response_metadata_;
  }
  Context& operator=(const Context& other) {
    if (this != &other) {
      Context copy(other);
      owned_ = std::move(copy.owned_);
      service_ = &owned_->service;
      endpoint_ = &owned_->endpoint;
      content_type_ = &owned_->content_type;
      metadata_ = &owned_->metadata;
      deadline_ = copy.deadline_;
      queued_ = copy.queued_;
      server_gave_up_ = std::move(copy.server_gave_up_);
      response_metadata_ = std::move(copy.response_metadata_);
    }
    return *this;
  }

  const std::string& service() const { return *service_; }
  // The endpoint called ("Greeter.Hello"), or the topic of a message.
  const std::string& endpoint() const { return *endpoint_; }
  const std::string& content_type() const { return *content_type_; }

  // When the caller stops waiting (InfiniteFuture when it did not say):
  // its Timeout counted from when the request arrived, so the time it
  // waited for a handler thread is spent already.
  absl::Time deadline() const { return deadline_; }

  // How long the request waited between arriving (taken off the wire, or
  // queued for a handler thread) and its handler starting. Measured on the
  // coarse clock: a tick (1-4 ms) either way.
  absl::Duration queued() const { return queued_; }

  // The Context of the handler running on this thread (a unary handler,
  // a stream handler, a subscriber or consumer callback), else null. A call
  // a handler makes on its thread takes its deadline from it (client.h
  // CallOptions::inherit_deadline). A handler that runs inside another's
  // call (the memory transport runs a nested call inline) is Current for
  // its call; the outer one is again once it returns.
  static const Context* Current() { return service_internal::current_context; }

  // The request's headers: the caller's metadata and go-micro's Micro-*.
  const Metadata& metadata() const { return *metadata_; }
  // One header's value, or "" when absent.
  absl::string_view Get(absl::string_view key) const {
    auto it = metadata_->find(std::string(key));
    return it == metadata_->end() ? absl::string_view() : it->second;
  }

  // True once nobody waits for the answer any more: the caller's deadline
  // passed, or the server is stopping and its Stop deadline passed. A long
  // handler checks it to stop early.
  bool Cancelled() const {
    return absl::Now() >= deadline_ ||
           (server_gave_up_ != nullptr &&
            server_gave_up_->load(std::memory_order_relaxed));
  }

  // Headers to send back with the answer.
  Metadata& response_metadata() { return response_metadata_; }

 private:
  struct Owned {
    std::string service;
    std::string endpoint;
    std::string content_type;
    Metadata metadata;
  };
  // Null when borrowed: then the pointers below refer to the server's.
  std::unique_ptr<Owned> owned_;
  const std::string* service_;
  const std::string* endpoint_;
  const std::string* content_type_;
  const Metadata* metadata_;
  absl::Time deadline_;
  absl::Duration queued_ = absl::ZeroDuration();
  Metadata response_metadata_;
  std::shared_ptr<const std::atomic<bool>> server_gave_up_;
};

namespace service_internal {
// Makes `ctx` Context::Current() on this thread for the scope's life, and
// the one before it Current again after.
class CurrentContextScope {
 public:
  explicit CurrentContextScope(const Context* ctx) : outer_(current_context) {
    current_context = ctx;
  }
  CurrentContextScope(const CurrentContextScope&) = delete;
  CurrentContextScope& operator=(const CurrentContextScope&) = delete;
  ~CurrentContextScope() { current_context = outer_; }

 private:
  const Context* const outer_;
};
}  // namespace service_internal

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_CONTEXT_H_
