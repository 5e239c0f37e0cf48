// Copyright 2026 The micro-nats Authors.

#include "service/nats/scatter_wire.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::service {
namespace {

class NatsPending : public ScatterWire::Pending {
 public:
  NatsPending(std::shared_ptr<nats::InboxMux> mux, std::string inbox)
      : mux_(std::move(mux)), inbox_(std::move(inbox)) {}
  ~NatsPending() override { mux_->Unregister(inbox_); }

 private:
  const std::shared_ptr<nats::InboxMux> mux_;
  const std::string inbox_;
};

class NatsListening : public ScatterWire::Listening {
 public:
  explicit NatsListening(std::unique_ptr<nats::Subscription> subscription)
      : subscription_(std::move(subscription)) {}
  ~NatsListening() override { subscription_->Unsubscribe().IgnoreError(); }

 private:
  const std::unique_ptr<nats::Subscription> subscription_;
};

class NatsScatterWire : public ScatterWire {
 public:
  NatsScatterWire(std::shared_ptr<nats::Connection> connection,
                  NatsScatterOptions options)
      : conn_(std::move(connection)), options_(std::move(options)) {}

  absl::StatusOr<std::unique_ptr<Pending>> Send(absl::string_view service,
                                                const Message& request,
                                                AnswerSink on_answer,
                                                LostSink on_lost) override {
    MN_ASSIGN_OR_RETURN(std::string subject,
                        ScatterSubject(options_.subject_prefix, service));
    if (!conn_->IsConnected()) {
      // nats.c would buffer the request and the caller wait out its
      // deadline: "down" is said at once.
      return absl::UnavailableError(
          absl::StrCat("scatter to ", service, ": not connected to NATS (",
                       absl::StrJoin(conn_->options().servers, ","), ")"));
    }
    MN_ASSIGN_OR_RETURN(std::shared_ptr<nats::InboxMux> mux, Mux());
    const std::string inbox = mux->Register(
        [on_answer = std::move(on_answer)](natsMsg* msg) {
          on_answer(nats::ReadHeaders(msg), nats::Body(msg));
        },
        std::move(on_lost));
    auto pending = std::make_unique<NatsPending>(mux, inbox);
    MN_RETURN_IF_ERROR(conn_->Publish(
        subject, request.body, {.reply = inbox, .headers = request.headers}));
    return pending;
  }

  absl::StatusOr<std::unique_ptr<Listening>> Listen(
      absl::string_view service, RequestSink on_request) override {
    MN_ASSIGN_OR_RETURN(std::string subject,
                        ScatterSubject(options_.subject_prefix, service));
    auto reported = std::make_shared<std::once_flag>();
    auto report = options_.on_error;
    MN_ASSIGN_OR_RETURN(
        std::unique_ptr<nats::Subscription> subscription,
        conn_->Subscribe(
            subject,
            [conn = std::weak_ptr<nats::Connection>(conn_),
             on_request = std::move(on_request), reported,
             report](natsMsg* msg) {
              std::string reply(nats::Reply(msg));
              if (reply.empty()) {
                std::call_once(*reported, [&] {
                  Report(report, absl::InvalidArgumentError(absl::StrCat(
                                     "a message on scatter subject '",
                                     nats::Subject(msg),
                                     "' has no reply subject: not answered "
                                     "(said once)")));
                });
                return;
              }
              on_request(
                  Message{.headers = nats::ReadHeaders(msg),
                          .body = std::string(nats::Body(msg))},
                  [conn, reply = std::move(reply)](const Message& answer) {
                    std::shared_ptr<nats::Connection> c = conn.lock();
                    if (c == nullptr) {
                      return absl::UnavailableError("the connection is gone");
                    }
                    return c->Publish(reply, answer.body,
                                      {.headers = answer.headers});
                  });
            },
            {.on_error =
                 [report](const absl::Status& status) {
                   Report(report, status);
                 },
             // Adaptive: a frontend that runs its handlers inline (the
             // default) runs them on the delivery thread once they proved
             // they do not wait, and on the handler pool from the first
             // that does (a nested call), so it never holds a delivery
             // thread other subscriptions of the process need.
             .run_on = nats::HandlerThread::kAdaptive}));
    // Subscribed at the server before the service registers: a scatter
    // that finds this node reaches it.
    MN_RETURN_IF_ERROR(conn_->Flush(absl::Seconds(5)));
    return std::make_unique<NatsListening>(std::move(subscription));
  }

 private:
  static void Report(const std::function<void(const absl::Status&)>& report,
                     const absl::Status& status) {
    ReportError(report, {"service/nats/scatter"}, status);
  }

  // Opened on first use: most services never scatter.
  absl::StatusOr<std::shared_ptr<nats::InboxMux>> Mux() {
    std::lock_guard<std::mutex> lock(mu_);
    if (mux_ == nullptr) {
      MN_ASSIGN_OR_RETURN(mux_, nats::InboxMux::Create(conn_));
    }
    return mux_;
  }

  const std::shared_ptr<nats::Connection> conn_;
  const NatsScatterOptions options_;
  std::mutex mu_;
  std::shared_ptr<nats::InboxMux> mux_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::shared_ptr<ScatterWire>> NewNatsScatterWire(
    std::shared_ptr<nats::Connection> connection, NatsScatterOptions options) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError("a scatter wire needs a connection");
  }
  MN_RETURN_IF_ERROR(ValidateSubject(options.subject_prefix,
                                     SubjectKind::kConcrete,
                                     "scatter subject prefix"));
  return std::make_shared<NatsScatterWire>(std::move(connection),
                                           std::move(options));
}

}  // namespace micro_nats::service
