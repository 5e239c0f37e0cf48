// Copyright 2026 The micro-nats Authors.

#include "service/nats/service_api.h"

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "concurrency/coarse_clock.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "nats/message.h"
#include "service/context.h"
#include "service/errors.h"
#include "service/internal/admission.h"
#include "service/latency_histogram.h"
#include "srv/protocol.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::service {
namespace {

// An error description in a header: enough to read, bounded.
constexpr size_t kMaxErrorHeader = 1024;

// `text` as a header value: bounded, control characters (CR, LF: a handler's
// message may have them) as spaces.
std::string HeaderText(absl::string_view text) {
  std::string out(text.substr(0, kMaxErrorHeader));
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// Nanoseconds from seconds, rounded (a bucket bound of 1.024 µs must not
// read as 1023 ns).
absl::Duration FromSeconds(double seconds) {
  return absl::Nanoseconds(std::llround(seconds * 1e9));
}

// An endpoint's latency histogram as STATS `data` carries it: the
// percentiles and the non-empty buckets.
srv::LatencyData LatencyDataOf(const LatencyHistogram::Snapshot& snapshot) {
  srv::LatencyData data{.count = snapshot.total,
                        .sum = FromSeconds(snapshot.sum_seconds),
                        .p50 = FromSeconds(snapshot.Percentile(0.5)),
                        .p90 = FromSeconds(snapshot.Percentile(0.9)),
                        .p99 = FromSeconds(snapshot.Percentile(0.99))};
  for (size_t i = 0; i < snapshot.counts.size(); ++i) {
    if (snapshot.counts[i] <= 0) continue;
    if (i < snapshot.bounds_seconds.size()) {
      data.buckets.push_back({.below = FromSeconds(snapshot.bounds_seconds[i]),
                              .count = snapshot.counts[i]});
    } else {
      data.over += snapshot.counts[i];
    }
  }
  return data;
}

struct ApiEndpoint {
  std::string name;  // the server's, e.g. "Greeter.Hello"
  srv::EndpointInfo info;
};

// What the subscriptions' handlers and the pool's tasks share; the last of
// them to finish frees it (and the pool).
struct ApiState : std::enable_shared_from_this<ApiState> {
  ApiState(std::shared_ptr<nats::Connection> connection,
           ServiceApiOptions api_options)
      : conn(std::move(connection)),
        options(std::move(api_options)),
        pool(options.max_concurrent_requests) {}

  void OnControl(srv::Verb verb, natsMsg* msg);
  void OnRequest(const ApiEndpoint& endpoint, natsMsg* msg);
  // `arrived`: when the request was taken off the subscription, so the
  // caller's deadline counts its wait for a pool thread.
  void Handle(const ApiEndpoint& endpoint, const std::string& reply,
              const Message& request, absl::Time arrived);
  // Answers `reply` with `response`, or with `error` when it is not OK (a
  // fresh message: the Micro-Error and refusal mark `response` has, if
  // any, else `refusal`, and the Nats-Service-Error pair). An OK
  // `response` of `endpoint` that cannot be sent itself is counted as the
  // endpoint's error before the error sent instead.
  void Answer(const std::string& reply, const absl::Status& error,
              Message response, absl::string_view refusal = "",
              absl::string_view endpoint = "");
  void Report(const absl::Status& status);

  const std::shared_ptr<nats::Connection> conn;
  const ServiceApiOptions options;
  ServedService served;  // set before the subscriptions
  srv::Identity identity;
  std::vector<ApiEndpoint> endpoints;
  std::string ping_json;
  std::string info_json;
  concurrency::ThreadPool pool;

  service_internal::Admission admission;
  std::once_flag no_reply_reported;
};

void ApiState::OnControl(srv::Verb verb, natsMsg* msg) {
  const std::string reply(nats::Reply(msg));
  if (reply.empty()) return;
  std::string answer;
  switch (verb) {
    case srv::Verb::kPing:
      answer = ping_json;
      break;
    case srv::Verb::kInfo:
      answer = info_json;
      break;
    case srv::Verb::kStats: {
      srv::StatsResponse stats{.identity = identity, .started = served.started};
      for (const EndpointStats& counted : served.stats()) {
        for (const ApiEndpoint& endpoint : endpoints) {
          if (endpoint.name != counted.name) continue;
          stats.endpoints.push_back(
              {.name = endpoint.info.name,
               .subject = endpoint.info.subject,
               .queue_group = endpoint.info.queue_group,
               .num_requests = counted.requests,
               .num_errors = counted.errors,
               .last_error = counted.last_error,
               .processing_time = counted.processing_time,
               .average_processing_time =
                   counted.requests == 0
                       ? absl::ZeroDuration()
                       : counted.processing_time / counted.requests,
               .latency = LatencyDataOf(counted.latency)});
        }
      }
      // Half what readers take (and NATS's default max_payload): past it
      // the latency buckets go, the percentiles stay.
      answer = srv::EncodeStats(std::move(stats), srv::kMaxResponseBytes / 2);
      break;
    }
  }
  absl::Status sent = conn->Publish(reply, answer);
  if (!sent.ok()) Report(sent);
}

void ApiState::OnRequest(const ApiEndpoint& endpoint, natsMsg* msg) {
  std::string reply(nats::Reply(msg));
  if (reply.empty()) {
    std::call_once(no_reply_reported, [&] {
      Report(absl::InvalidArgumentError(
          absl::StrCat("a message on endpoint subject '", nats::Subject(msg),
                       "' has no reply subject: not answered (said once)")));
    });
    return;
  }
  const absl::Time arrived = concurrency::CoarseNow();
  Message request{.headers = nats::ReadHeaders(msg),
                  .body = std::string(nats::Body(msg))};
  // NATS tooling sends bare JSON.
  request.headers.emplace(kContentTypeHeader, "application/json");
  const char* refusal = "";
  if (absl::Status refused =
          admission.Admit(served.name, options.max_queued_requests, &refusal);
      !refused.ok()) {
    if (absl::IsResourceExhausted(refused)) served.count_overload();
    Answer(reply, refused, {}, refusal);
    return;
  }
  // A task keeps the state (and its pool) alive; the last one out frees
  // them, and a thread pool freed from one of its threads lets it finish.
  absl::Status scheduled =
      pool.Schedule([self = shared_from_this(), &endpoint, reply,
                     request = std::move(request), arrived]() mutable {
        self->admission.Started();
        self->Handle(endpoint, reply, request, arrived);
        self->admission.Finished();
      });
  if (!scheduled.ok()) {
    admission.Abandoned();
    Answer(reply, scheduled, {}, "stopping");
  }
}

void ApiState::Handle(const ApiEndpoint& endpoint, const std::string& reply,
                      const Message& request, absl::Time arrived) {
  Message response;
  absl::Status status =
      served.serve_since
          ? served.serve_since(endpoint.name, request, arrived, &response)
          : served.serve(endpoint.name, request, &response);
  // serve leaves out a Content-Type that is the request's; NATS tooling
  // reads it here.
  if (auto type = request.headers.find(kContentTypeHeader);
      status.ok() && type != request.headers.end()) {
    response.headers.emplace(kContentTypeHeader, type->second);
  }
  Answer(reply, status, std::move(response), "", endpoint.name);
}

void ApiState::Answer(const std::string& reply, const absl::Status& error,
                      Message response, absl::string_view refusal,
                      absl::string_view endpoint) {
  if (!error.ok()) {
    // Fresh: none of the handler's headers, which may be what cannot go.
    Message answer;
    auto micro_error = response.headers.find(kErrorHeader);
    answer.headers[kErrorHeader] = micro_error != response.headers.end()
                                       ? std::move(micro_error->second)
                                       : ErrorToJson(error, served.name);
    if (auto marked = response.headers.find(kRefusedHeader);
        marked != response.headers.end()) {
      answer.headers[kRefusedHeader] = std::move(marked->second);
    } else if (!refusal.empty()) {
      answer.headers[kRefusedHeader] = std::string(refusal);
    }
    answer.headers[std::string(srv::kErrorHeader)] =
        HeaderText(error.message());
    answer.headers[std::string(srv::kErrorCodeHeader)] =
        absl::StrCat(HttpCodeFor(error.code()));
    response = std::move(answer);
  }
  absl::Status sent =
      conn->Publish(reply, response.body, {.headers = response.headers});
  if (!sent.ok() && error.ok() && !absl::IsUnavailable(sent)) {
    // The answer itself cannot go (too large, a bad header): say so
    // instead, or the caller waits out its deadline.
    Report(absl::Status(
        sent.code(),
        absl::StrCat("the answer on '", reply, "' for '", served.name,
                     "' could not be sent: ", sent.message())));
    const absl::Status unsent = AnswerNotSent(sent);
    // Counted before the caller can hear it.
    if (served.count_unsent) served.count_unsent(endpoint, unsent);
    Answer(reply, unsent, {});
    return;
  }
  if (!sent.ok()) {
    Report(absl::Status(
        sent.code(), absl::StrCat("answering on '", reply, "' for '",
                                  served.name, "' failed: ", sent.message())));
  }
}

void ApiState::Report(const absl::Status& status) {
  ReportError(options.on_error, {"service/nats/service_api", served.name},
              status);
}

class ServiceApi : public Frontend {
 public:
  ServiceApi(std::shared_ptr<nats::Connection> connection,
             ServiceApiOptions options)
      : state_(std::make_shared<ApiState>(std::move(connection),
                                          std::move(options))) {}

  ~ServiceApi() override { Stop(absl::Now()).IgnoreError(); }

  absl::Status Start(ServedService served) override {
    ApiState& st = *state_;
    if (!st.options.enabled) return absl::OkStatus();
    st.served = std::move(served);
    st.identity = {.name = srv::ToName(st.served.name),
                   .id = st.served.id,
                   .version = srv::ToSemver(st.served.version),
                   .metadata = st.served.metadata};
    srv::InfoResponse info{.identity = st.identity,
                           .description = st.served.description};
    const std::string prefix =
        st.options.group.empty() ? "" : absl::StrCat(st.options.group, ".");
    for (const ServedService::Endpoint& e : st.served.endpoints) {
      // ADR-32 has no streams: stream endpoints are served on the
      // transport only.
      if (e.stream) continue;
      ApiEndpoint endpoint{
          .name = e.name,
          .info = {.name = srv::ToName(e.name),
                   .subject = absl::StrCat(
                       prefix, e.options.subject.empty()
                                   ? absl::StrCat(st.served.name, ".", e.name)
                                   : e.options.subject),
                   .queue_group =
                       e.options.queue_group.value_or(st.options.queue_group),
                   .metadata = e.options.metadata}};
      MN_RETURN_IF_ERROR(ValidateSubject(
          endpoint.info.subject, SubjectKind::kPattern, "endpoint subject"));
      info.endpoints.push_back(endpoint.info);
      st.endpoints.push_back(std::move(endpoint));
    }
    st.ping_json = srv::EncodePing(st.identity);
    st.info_json = srv::EncodeInfo(info);

    auto on_error = [state = state_](const absl::Status& status) {
      state->Report(status);
    };
    // Endpoints first: once INFO names them, they answer.
    for (const ApiEndpoint& endpoint : st.endpoints) {
      MN_RETURN_IF_ERROR(Add(
          endpoint.info.subject, endpoint.info.queue_group,
          [state = state_, &endpoint](natsMsg* msg) {
            state->OnRequest(endpoint, msg);
          },
          on_error));
    }
    for (srv::Verb verb :
         {srv::Verb::kPing, srv::Verb::kInfo, srv::Verb::kStats}) {
      for (const std::string& subject :
           {srv::ControlSubject(verb),
            srv::ControlSubject(verb, st.identity.name),
            srv::ControlSubject(verb, st.identity.name, st.identity.id)}) {
        MN_RETURN_IF_ERROR(Add(
            subject, "",
            [state = state_, verb](natsMsg* msg) {
              state->OnControl(verb, msg);
            },
            on_error));
      }
    }
    return st.conn->Flush(absl::Seconds(5));
  }

  absl::Status Stop(absl::Time deadline) override {
    std::vector<std::unique_ptr<nats::Subscription>> subscriptions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      subscriptions.swap(subscriptions_);
    }
    // When Unsubscribe returns no handler runs: nothing new is scheduled.
    for (auto& subscription : subscriptions) {
      subscription->Unsubscribe().IgnoreError();
    }
    ApiState& st = *state_;
    if (const int running = st.admission.StopAndWait(deadline); running > 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("the NATS Service API of '", st.served.name,
                       "' stopped with ", running, " requests still running"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Add(const std::string& subject, const std::string& queue,
                   nats::MessageHandler handler,
                   std::function<void(const absl::Status&)> on_error) {
    MN_ASSIGN_OR_RETURN(std::unique_ptr<nats::Subscription> subscription,
                        state_->conn->Subscribe(
                            subject, std::move(handler),
                            {.queue = queue,
                             .on_error = std::move(on_error),
                             .run_on = nats::HandlerThread::kDeliveryThread}));
    std::lock_guard<std::mutex> lock(mu_);
    subscriptions_.push_back(std::move(subscription));
    return absl::OkStatus();
  }

  const std::shared_ptr<ApiState> state_;
  std::mutex mu_;
  std::vector<std::unique_ptr<nats::Subscription>> subscriptions_;  // mu_
};

}  // namespace

absl::StatusOr<std::shared_ptr<Frontend>> NewServiceApi(
    std::shared_ptr<nats::Connection> connection, ServiceApiOptions options) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError(
        "the NATS Service API needs a connection");
  }
  if (!options.group.empty()) {
    MN_RETURN_IF_ERROR(ValidateSubject(options.group, SubjectKind::kConcrete,
                                       "service API group"));
  }
  if (options.max_concurrent_requests < 1) {
    return absl::InvalidArgumentError("max_concurrent_requests must be >= 1");
  }
  if (!options.queue_group.empty()) {
    MN_RETURN_IF_ERROR(ValidateSubject(options.queue_group,
                                       SubjectKind::kConcrete, "queue group"));
  }
  return std::make_shared<ServiceApi>(std::move(connection),
                                      std::move(options));
}

}  // namespace micro_nats::service
