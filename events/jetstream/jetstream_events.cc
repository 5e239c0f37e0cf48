// Copyright 2026 The micro-nats Authors.

#include "events/jetstream/jetstream_events.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "concurrency/scheduler.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "events/internal/forwarding.h"
#include "events/internal/publish_window.h"
#include "nats/message.h"
#include "nats/status.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::events {
namespace {

// A pull whose expiry passed this long ago with no word from the server
// was lost (a restart): the consumer pulls again.
constexpr absl::Duration kLostPullGrace = absl::Seconds(1);

absl::Status JsStatus(natsStatus s, jsErrCode code, absl::string_view what) {
  if (s == NATS_OK) return absl::OkStatus();
  const std::string context =
      code != 0 ? absl::StrCat(what, " (JetStream error ", code, ")")
                : std::string(what);
  if (code == JSStreamNotFoundErr || code == JSConsumerNotFoundErr) {
    return absl::NotFoundError(context);
  }
  if (code == JSConsumerNameExistErr || code == JSConsumerExistingActiveErr) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": it exists with other settings"));
  }
  if (s == NATS_TIMEOUT) return absl::DeadlineExceededError(context);
  return nats::FromNatsStatus(s, context);
}

StreamConfig FromJs(const jsStreamConfig& c) {
  StreamConfig out;
  out.name = c.Name != nullptr ? c.Name : "";
  for (int i = 0; i < c.SubjectsLen; ++i) {
    if (c.Subjects[i] != nullptr) out.subjects.push_back(c.Subjects[i]);
  }
  out.storage = c.Storage == js_MemoryStorage ? StreamConfig::Storage::kMemory
                                              : StreamConfig::Storage::kFile;
  out.max_messages = std::max<int64_t>(0, c.MaxMsgs);
  out.max_bytes = std::max<int64_t>(0, c.MaxBytes);
  out.max_age = absl::Nanoseconds(c.MaxAge);
  out.replicas = static_cast<int>(c.Replicas);
  out.duplicate_window = absl::Nanoseconds(c.Duplicates);
  return out;
}

// nats.c 3.4.1 writes a start time's fraction of a second without its
// leading zeros (.037 s goes out as .37 s), so a time whose fraction is
// under 0.1 s would start the group up to 0.9 s late, skipping events. Such
// a time goes to the server as its whole second (earlier: nothing skipped),
// and the consumer acknowledges unhandled what came before the time asked
// (Puller::skip_before_).
absl::Time StartTimeForServer(absl::Time t) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t fraction = ns % 1000000000;
  if (fraction < 0) fraction += 1000000000;
  if (fraction != 0 && fraction < 100000000) {
    return absl::FromUnixNanos(ns - fraction);
  }
  return t;
}

// `start` as the server keeps it.
Start ForServer(Start start) {
  if (start.kind == Start::Kind::kTime) {
    start.time = StartTimeForServer(start.time);
  }
  return start;
}

Start StartOf(const jsConsumerConfig& c) {
  switch (c.DeliverPolicy) {
    case js_DeliverAll:
      return Start::All();
    case js_DeliverNew:
      return Start::New();
    case js_DeliverByStartSequence:
      return Start::AtSequence(c.OptStartSeq);
    case js_DeliverByStartTime:
      return Start::AtTime(absl::FromUnixNanos(c.OptStartTime));
    default:
      return Start{};  // a policy we never set: differs from any start
  }
}

// What an event's reply subject says of it:
//   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>
// or, with a domain and an account hash after ACK, 12 tokens and more.
struct AckInfo {
  absl::string_view stream;
  absl::string_view consumer;
  int delivered = 0;
  uint64_t sequence = 0;
  absl::Time timestamp;
};

bool ParseAckSubject(absl::string_view reply, AckInfo& info) {
  if (reply.size() > kMaxSubjectLength) return false;
  std::vector<absl::string_view> t = absl::StrSplit(reply, '.');
  size_t at;
  if (t.size() == 9) {
    at = 2;
  } else if (t.size() >= 12) {
    at = 4;
  } else {
    return false;
  }
  if (t[0] != "$JS" || t[1] != "ACK") return false;
  uint64_t delivered = 0;
  uint64_t cseq = 0;
  int64_t ns = 0;
  if (!absl::SimpleAtoi(t[at + 2], &delivered) ||
      !absl::SimpleAtoi(t[at + 3], &info.sequence) ||
      !absl::SimpleAtoi(t[at + 4], &cseq) ||
      !absl::SimpleAtoi(t[at + 5], &ns)) {
    return false;
  }
  if (delivered < 1 || delivered > INT_MAX || info.sequence < 1 || ns < 0) {
    return false;
  }
  info.stream = t[at];
  info.consumer = t[at + 1];
  info.delivered = static_cast<int>(delivered);
  info.timestamp = absl::FromUnixNanos(ns);
  return true;
}

// Publish options for a publish given `wait` for its ack.
jsPubOptions PubOptions(const PublishOptions& options, absl::Duration wait) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = concurrency::ApiTimeoutMillis(wait);
  // nats.c adds it as the Nats-Msg-Id header while the call runs.
  if (!options.dedup_id.empty()) po.MsgId = options.dedup_id.c_str();
  return po;
}

class Core;

// One consumer: a pull consumer's member in this process.
class Puller : public std::enable_shared_from_this<Puller> {
 public:
  Puller(std::shared_ptr<Core> core, std::string stream, std::string consumer,
         std::string topic, Handler handler, ConsumeOptions options,
         bool ephemeral);

  absl::Status Start();
  // On nats.c's delivery thread: never blocks.
  void OnMessage(natsMsg* msg);
  // The retry timer: pulls again when the last pull was lost (or all were,
  // after a reconnect).
  void Tick(absl::Time now, bool reconnected);
  absl::Status Stop(absl::Time deadline);
  ConsumerStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    ConsumerStats stats = stats_;
    stats.in_flight = in_flight_;
    return stats;
  }

 private:
  void Pull();
  void Run(Event event, uint64_t token);
  // The progress timer: tells the server of every event whose handler has
  // run a quarter of ack_wait that it is in progress ("+WPI"), every
  // ack_wait / 2, so a handler longer than ack_wait keeps its event, and a
  // short one costs no timer of its own.
  void SendProgress();
  void Reply(const std::string& reply, absl::string_view body);
  void BadInput(absl::string_view why);
  void Report(const absl::Status& status);

  const std::shared_ptr<Core> core_;
  const std::string stream_;
  const std::string consumer_;
  const std::string topic_;
  const Handler handler_;
  const ConsumeOptions options_;
  const bool ephemeral_;
  const std::string next_subject_;
  std::string inbox_;
  std::unique_ptr<nats::Subscription> subscription_;
  // Events stored before this were never asked for (StartTimeForServer):
  // acknowledged, not handled.
  const absl::Time skip_before_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;      // guarded by mu_
  bool pull_open_ = false;    // guarded by mu_
  int remaining_ = 0;         // asked for, not yet come; guarded by mu_
  absl::Time pull_deadline_;  // guarded by mu_
  int in_flight_ = 0;         // guarded by mu_
  ConsumerStats stats_;       // guarded by mu_
  struct Running {
    std::string reply;
    absl::Time since;
  };
  uint64_t next_token_ = 0;              // guarded by mu_
  std::map<uint64_t, Running> running_;  // guarded by mu_
  concurrency::ScheduledTask progress_;  // last: cancelled first
};

// What an Events and its consumers share.
class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(std::shared_ptr<nats::Connection> connection,
       JetStreamEventsOptions options)
      : connection_(std::move(connection)),
        options_(std::move(options)),
        pool_(std::make_shared<concurrency::ThreadPool>(
            std::max(1, options_.events.handler_threads))),
        window_(std::make_shared<events_internal::PublishWindow>(
            std::max(1, options_.events.max_publish_in_flight))) {}

  ~Core() {
    CloseAsync();
    tick_.Cancel();
    if (listener_ != 0) connection_->RemoveReconnectListener(listener_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
  }

  absl::Status Init() {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = concurrency::ApiTimeoutMillis(options_.api_timeout);
    MN_RETURN_IF_ERROR(nats::FromNatsStatus(
        natsConnection_JetStream(&js_, connection_->get(), &jo), "JetStream"));
    jsAccountInfo* account = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetAccountInfo(&account, js_, &jo, &code);
    if (account != nullptr) jsAccountInfo_Destroy(account);
    if (s == NATS_NO_RESPONDERS || code == JSNotEnabledErr ||
        code == JSNotEnabledForAccountErr) {
      return absl::FailedPreconditionError(
          "the NATS server has no JetStream: start nats-server with -js (or "
          "a jetstream {} block in its configuration)");
    }
    MN_RETURN_IF_ERROR(JsStatus(s, code, "JetStream account info"));
    // A context of its own for PublishAsync: its ack handler and no bound
    // of nats.c's (window_ is the bound, with a deadline per call).
    jsOptions ao = jo;
    ao.PublishAsync.AckHandler = &Core::OnAsyncAck;
    ao.PublishAsync.AckHandlerClosure = this;
    MN_RETURN_IF_ERROR(nats::FromNatsStatus(
        natsConnection_JetStream(&async_js_, connection_->get(), &ao),
        "JetStream (async publish)"));
    for (const StreamConfig& stream : options_.events.streams) {
      MN_RETURN_IF_ERROR(EnsureStream(stream));
    }
    std::weak_ptr<Core> weak = weak_from_this();
    tick_ = concurrency::Scheduler::Default().Every(
        options_.retry_interval, [weak] {
          if (auto core = weak.lock()) core->Tick();
        });
    listener_ = connection_->AddReconnectListener([weak] {
      if (auto core = weak.lock()) {
        core->reconnected_.store(true);
        core->tick_.RunSoon();
      }
    });
    return absl::OkStatus();
  }

  // nats.c's ack handler, on its reply thread (for an ack or its timeout
  // timer's message). `msg` is ours.
  static void OnAsyncAck(jsCtx*, natsMsg* msg, jsPubAck* ack,
                         jsPubAckErr* error, void* closure) {
    static_cast<Core*>(closure)->AsyncAcked(msg, ack, error);
    natsMsg_Destroy(msg);
  }

  void AsyncAcked(natsMsg* msg, jsPubAck* ack, jsPubAckErr* error) {
    PublishDone done;
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      auto it = pending_.find(msg);
      if (it == pending_.end()) return;  // taken back by CloseAsync
      done = std::move(it->second);
      pending_.erase(it);
    }
    const char* subject = natsMsg_GetSubject(msg);
    const absl::string_view topic = subject != nullptr ? subject : "";
    absl::StatusOr<uint64_t> result;
    if (ack != nullptr && ack->Sequence >= 1) {
      result = ack->Sequence;
    } else if (ack != nullptr) {
      result = absl::InternalError(absl::StrCat(
          "publish to ", topic, ": the stream acknowledged sequence 0"));
    } else if (error != nullptr) {
      result = PublishError(error->Err, error->ErrCode, topic);
    } else {
      result = absl::InternalError(
          absl::StrCat("publish to ", topic, ": neither ack nor error"));
    }
    // Here: this thread carries only this Events' acks (a hop to the pool
    // cost a context switch per event, halving the rate).
    // Core is not touched once `done` runs: CloseAsync waits at most a
    // second for this call, and `done` may take longer.
    std::shared_ptr<events_internal::PublishWindow> window = window_;
    window->FinishHere(std::move(done), std::move(result));
  }

  // Takes back what is still unacknowledged (its `done` gets Cancelled),
  // waits for a running OnAsyncAck, then destroys the context, so no ack
  // handler runs once Core is gone.
  void CloseAsync() {
    bool used;
    {
      std::lock_guard<std::mutex> lock(async_mu_);
      async_closed_ = true;
      used = async_used_;
    }
    if (async_js_ == nullptr) return;
    natsMsgList unacked = {nullptr, 0};
    // Only once used: nats.c 3.4.1 makes its pending map on the first
    // async publish and reads it unchecked here.
    if (used && js_PublishAsyncGetPendingList(&unacked, async_js_) == NATS_OK) {
      for (int i = 0; i < unacked.Count; ++i) {
        PublishDone done;
        {
          std::lock_guard<std::mutex> lock(async_mu_);
          auto it = pending_.find(unacked.Msgs[i]);
          if (it != pending_.end()) {
            done = std::move(it->second);
            pending_.erase(it);
          }
        }
        if (done) {
          window_->Finish(
              *pool_, std::move(done),
              absl::CancelledError(
                  "events closed before the stream acknowledged the event "
                  "(it may still be stored: see dedup_id)"));
        }
      }
      natsMsgList_Destroy(&unacked);
    }
    // nats.c counts a handler call as pending until it returns.
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 1000;
    js_PublishAsyncComplete(async_js_, &po);
    jsCtx_Destroy(async_js_);
    async_js_ = nullptr;
  }

  absl::StatusOr<uint64_t> Publish(absl::string_view topic,
                                   const Message& message,
                                   const PublishOptions& options) {
    MN_RETURN_IF_ERROR(
        ValidatePublish(topic, message, options_.events.max_event_bytes));
    // Built by //nats: the topic and every header pass its checks.
    MN_ASSIGN_OR_RETURN(
        nats::NatsMsgPtr msg,
        nats::BuildMessage(topic, "", message.headers, message.body));
    const absl::Time now = absl::Now();
    const absl::Time deadline =
        PublishDeadline(options, options_.events.publish_timeout, now);
    if (deadline <= now) {
      return absl::DeadlineExceededError("publish deadline passed");
    }
    jsPubOptions po = PubOptions(options, deadline - now);
    jsPubAck* ack = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&ack, js_, msg.get(), &po, &code);
    if (s != NATS_OK) return PublishError(s, code, topic);
    const uint64_t seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    return seq;
  }

  // The event goes out with a reply subject of nats.c's async context;
  // its ack (parsed by nats.c, as js_PublishMsg's) or nats.c's timeout
  // comes to OnAsyncAck on that context's reply thread (one per Events,
  // started by the first PublishAsync), which calls `done`.
  absl::Status PublishAsync(absl::string_view topic, const Message& message,
                            const PublishOptions& options, PublishDone done) {
    if (!done) return absl::InvalidArgumentError("PublishAsync needs a done");
    MN_RETURN_IF_ERROR(
        ValidatePublish(topic, message, options_.events.max_event_bytes));
    MN_ASSIGN_OR_RETURN(
        nats::NatsMsgPtr msg,
        nats::BuildMessage(topic, "", message.headers, message.body));
    const absl::Time deadline =
        PublishDeadline(options, options_.events.publish_timeout, absl::Now());
    MN_RETURN_IF_ERROR(window_->Acquire(deadline));
    const absl::Time now = absl::Now();
    if (deadline <= now) {
      window_->Release();
      return absl::DeadlineExceededError("publish deadline passed");
    }
    jsPubOptions po = PubOptions(options, deadline - now);
    natsMsg* raw = msg.release();
    {
      // Before sending: the ack may come before js_PublishMsgAsync returns.
      std::lock_guard<std::mutex> lock(async_mu_);
      if (async_closed_) {
        natsMsg_Destroy(raw);
        window_->Release();
        return absl::FailedPreconditionError("events closed");
      }
      pending_.emplace(raw, std::move(done));
      async_used_ = true;
    }
    const natsStatus s = js_PublishMsgAsync(async_js_, &raw, &po);
    if (s != NATS_OK) {
      // Not sent (nats.c gave the message back): no ack will come.
      {
        std::lock_guard<std::mutex> lock(async_mu_);
        pending_.erase(raw);
      }
      natsMsg_Destroy(raw);
      window_->Release();
      return PublishError(s, static_cast<jsErrCode>(0), topic);
    }
    return absl::OkStatus();
  }

  absl::Status FlushPublishes(absl::Time deadline) {
    return window_->Flush(deadline);
  }

  absl::StatusOr<std::unique_ptr<Consumer>> Consume(absl::string_view topic,
                                                    Handler handler,
                                                    ConsumeOptions options);

  // A failed publish of `topic` (sync or async) as a Status.
  absl::Status PublishError(natsStatus s, jsErrCode code,
                            absl::string_view topic) const {
    if (s == NATS_NO_RESPONDERS) {
      if (StreamFor(options_.events.streams, topic) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("no stream holds topic ", topic));
      }
      return absl::UnavailableError(absl::StrCat(
          "the stream of ", topic, " does not answer (JetStream starting?)"));
    }
    if (s == NATS_TIMEOUT) {
      return absl::DeadlineExceededError(absl::StrCat(
          "publish to ", topic,
          ": no ack from the stream by the deadline; the event may still be "
          "stored (publish again with the same dedup_id to store it once)"));
    }
    return JsStatus(s, code, absl::StrCat("publish to ", topic));
  }

  absl::StatusOr<TopicInfo> Info(absl::string_view topic,
                                 absl::string_view group);

  void Report(const absl::Status& status) {
    ReportError(options_.events.on_error, {"events"}, status);
  }

  void Remove(const Puller* puller) {
    std::lock_guard<std::mutex> lock(mu_);
    pullers_.erase(std::remove_if(pullers_.begin(), pullers_.end(),
                                  [&](const std::weak_ptr<Puller>& p) {
                                    auto locked = p.lock();
                                    return locked == nullptr ||
                                           locked.get() == puller;
                                  }),
                   pullers_.end());
  }

  jsOptions ApiOptions(absl::Time deadline) const {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = concurrency::ApiTimeoutMillis(
        std::min(deadline - absl::Now(), options_.api_timeout));
    return jo;
  }

  nats::Connection& connection() { return *connection_; }
  jsCtx* js() { return js_; }
  concurrency::ThreadPool& pool() { return *pool_; }
  const JetStreamEventsOptions& options() const { return options_; }

 private:
  absl::Status EnsureStream(const StreamConfig& wanted) {
    jsOptions jo = ApiOptions(absl::InfiniteFuture());
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s =
        js_GetStreamInfo(&info, js_, wanted.name.c_str(), &jo, &code);
    if (s == NATS_OK) {
      std::vector<std::string> diffs =
          StreamDifferences(wanted, FromJs(*info->Config));
      jsStreamInfo_Destroy(info);
      if (!diffs.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "stream ", wanted.name, " exists with other settings (",
            absl::StrJoin(diffs, "; "), "); it was left as it is"));
      }
      return absl::OkStatus();
    }
    if (s != NATS_NOT_FOUND && code != JSStreamNotFoundErr) {
      return JsStatus(s, code, absl::StrCat("stream ", wanted.name));
    }
    std::vector<const char*> subjects;
    for (const std::string& subject : wanted.subjects) {
      subjects.push_back(subject.c_str());
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = wanted.name.c_str();
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = wanted.storage == StreamConfig::Storage::kMemory
                      ? js_MemoryStorage
                      : js_FileStorage;
    cfg.MaxMsgs = wanted.max_messages > 0 ? wanted.max_messages : -1;
    cfg.MaxBytes = wanted.max_bytes > 0 ? wanted.max_bytes : -1;
    cfg.MaxAge = absl::ToInt64Nanoseconds(wanted.max_age);
    cfg.Replicas = wanted.replicas;
    cfg.Duplicates = absl::ToInt64Nanoseconds(wanted.duplicate_window);
    s = js_AddStream(&info, js_, &cfg, &jo, &code);
    if (info != nullptr) jsStreamInfo_Destroy(info);
    return JsStatus(s, code, absl::StrCat("create stream ", wanted.name));
  }

  void Tick() {
    const bool reconnected = reconnected_.exchange(false);
    std::vector<std::shared_ptr<Puller>> pullers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& weak : pullers_) {
        if (auto p = weak.lock()) pullers.push_back(std::move(p));
      }
    }
    const absl::Time now = absl::Now();
    for (const auto& p : pullers) p->Tick(now, reconnected);
  }

  const std::shared_ptr<nats::Connection> connection_;
  const JetStreamEventsOptions options_;
  const std::shared_ptr<concurrency::ThreadPool> pool_;
  const std::shared_ptr<events_internal::PublishWindow> window_;
  jsCtx* async_js_ = nullptr;  // set by Init
  std::mutex async_mu_;
  bool async_closed_ = false;  // guarded by async_mu_
  bool async_used_ = false;    // guarded by async_mu_
  // Sent by PublishAsync, not yet acknowledged: nats.c hands the message
  // back with its ack.
  std::unordered_map<natsMsg*, PublishDone> pending_;  // guarded by async_mu_
  jsCtx* js_ = nullptr;
  std::atomic<bool> reconnected_{false};
  uint64_t listener_ = 0;

  std::mutex mu_;
  std::vector<std::weak_ptr<Puller>> pullers_;  // guarded by mu_

  concurrency::ScheduledTask tick_;
};

Puller::Puller(std::shared_ptr<Core> core, std::string stream,
               std::string consumer, std::string topic, Handler handler,
               ConsumeOptions options, bool ephemeral)
    : core_(std::move(core)),
      stream_(std::move(stream)),
      consumer_(std::move(consumer)),
      topic_(std::move(topic)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      ephemeral_(ephemeral),
      next_subject_(
          absl::StrCat("$JS.API.CONSUMER.MSG.NEXT.", stream_, ".", consumer_)),
      skip_before_(options_.start.kind == Start::Kind::kTime
                       ? options_.start.time
                       : absl::InfinitePast()) {}

absl::Status Puller::Start() {
  inbox_ = core_->connection().Inbox();
  std::weak_ptr<Puller> weak = weak_from_this();
  MN_ASSIGN_OR_RETURN(subscription_,
                      core_->connection().Subscribe(
                          inbox_,
                          [weak](natsMsg* msg) {
                            if (auto self = weak.lock()) self->OnMessage(msg);
                          },
                          {.on_error =
                               [weak](const absl::Status& status) {
                                 if (auto self = weak.lock())
                                   self->Report(status);
                               },
                           .run_on = nats::HandlerThread::kDeliveryThread}));
  progress_ =
      concurrency::Scheduler::Default().Every(options_.ack_wait / 2, [weak] {
        if (auto self = weak.lock()) self->SendProgress();
      });
  // The server must know the inbox before the first pull names it.
  MN_RETURN_IF_ERROR(core_->connection().Flush(core_->options().api_timeout));
  Pull();
  return absl::OkStatus();
}

void Puller::Pull() {
  int batch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || pull_open_) return;
    batch = options_.max_in_flight - in_flight_;
    // Half the bound at least (or all of it when idle): a pull per few
    // events would cost a round trip each.
    if (batch <= 0 ||
        (in_flight_ > 0 && batch < (options_.max_in_flight + 1) / 2)) {
      return;
    }
    pull_open_ = true;
    remaining_ = batch;
    pull_deadline_ = absl::Now() + core_->options().pull_expiry;
  }
  const std::string request =
      absl::StrCat("{\"batch\":", batch, ",\"expires\":",
                   absl::ToInt64Nanoseconds(core_->options().pull_expiry), "}");
  absl::Status sent =
      core_->connection().Publish(next_subject_, request, inbox_, {});
  if (!sent.ok()) {
    // The retry timer pulls again.
    std::lock_guard<std::mutex> lock(mu_);
    pull_open_ = false;
    remaining_ = 0;
  }
}

void Puller::Tick(absl::Time now, bool reconnected) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pull_open_ && (reconnected || now > pull_deadline_ + kLostPullGrace)) {
      pull_open_ = false;
      remaining_ = 0;
    }
  }
  Pull();
}

void Puller::OnMessage(natsMsg* msg) {
  const absl::string_view reply = nats::Reply(msg);
  if (reply.empty()) {
    const char* status = nullptr;
    if (natsMsgHeader_Get(msg, "Status", &status) != NATS_OK ||
        status == nullptr) {
      BadInput("a message with neither a reply subject nor a status");
      return;
    }
    const absl::string_view code = status;
    if (code == "100") return;  // idle heartbeat
    {
      std::lock_guard<std::mutex> lock(mu_);
      pull_open_ = false;
      remaining_ = 0;
    }
    if (code == "408" || code == "404") {
      Pull();  // expired: ask again at once
    } else {
      // Refused (409: a limit, the consumer deleted; 503: no JetStream
      // now): the retry timer asks again.
      const char* description = nullptr;
      natsMsgHeader_Get(msg, "Description", &description);
      Report(absl::UnavailableError(absl::StrCat(
          "pull from ", stream_, "/", consumer_,
          " refused: ", code.substr(0, 3), " ",
          absl::string_view(description != nullptr ? description : "")
              .substr(0, 100))));
    }
    return;
  }
  AckInfo info;
  if (!ParseAckSubject(reply, info) || info.stream != stream_ ||
      info.consumer != consumer_) {
    BadInput("a reply subject that is not this consumer's ack subject");
    return;
  }
  const absl::string_view topic = nats::Subject(msg);
  if (!ValidateSubject(topic, SubjectKind::kConcrete).ok() ||
      !SubjectMatches(topic_, topic)) {
    BadInput("an event of a topic this consumer does not consume");
    return;
  }
  const std::string ack(reply);
  const absl::string_view body = nats::Body(msg);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (remaining_ > 0 && --remaining_ == 0) pull_open_ = false;
  }
  if (static_cast<int64_t>(body.size()) >
      core_->options().events.max_event_bytes) {
    // Never handled here, and redelivering it would not change that.
    Reply(ack, "+TERM");
    BadInput(absl::StrCat("event #", info.sequence, " of ", body.size(),
                          " bytes is over max_event_bytes: terminated"));
    Pull();
    return;
  }
  if (info.timestamp < skip_before_) {
    Reply(ack, "+ACK");
    Pull();
    return;
  }
  int invalid = 0;
  Event event{.topic = std::string(topic),
              .sequence = info.sequence,
              .timestamp = info.timestamp,
              .delivery_count = info.delivered,
              .headers = nats::ReadHeaders(msg, &invalid),
              .body = std::string(body)};
  if (invalid > 0) {
    BadInput(absl::StrCat("event #", info.sequence, ": ", invalid,
                          " invalid headers left out"));
  }
  bool extra = false;
  uint64_t token = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || in_flight_ >= options_.max_in_flight) {
      extra = true;  // a pull we thought lost came after all
    } else {
      ++in_flight_;
      ++stats_.delivered;
      stats_.max_in_flight_seen =
          std::max<int64_t>(stats_.max_in_flight_seen, in_flight_);
      token = ++next_token_;
      running_.emplace(token, Running{ack, absl::Now()});
    }
  }
  if (extra) {
    Reply(ack, "-NAK");  // at once to another member, or to us later
    return;
  }
  absl::Status scheduled = core_->pool().Schedule(
      [self = shared_from_this(), event = std::move(event), token]() mutable {
        self->Run(std::move(event), token);
      });
  if (!scheduled.ok()) {
    Reply(ack, "-NAK");
    Report(scheduled);
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(token);
    --in_flight_;
    cv_.notify_all();
  }
  Pull();
}

void Puller::SendProgress() {
  std::vector<std::string> replies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time started_before = absl::Now() - options_.ack_wait / 4;
    for (const auto& [token, running] : running_) {
      if (running.since <= started_before) replies.push_back(running.reply);
    }
  }
  for (const std::string& reply : replies) Reply(reply, "+WPI");
}

void Puller::Run(Event event, uint64_t token) {
  const absl::Status status = CallHandler(handler_, event);
  std::string reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(token);
    reply = std::move(it->second.reply);
    running_.erase(it);
  }
  bool acked = false;
  bool dead = false;
  if (status.ok()) {
    Reply(reply, "+ACK");
    acked = true;
  } else {
    Report(absl::Status(
        status.code(),
        absl::StrCat("handler of ", event.topic, " #", event.sequence,
                     " (delivery ", event.delivery_count,
                     "): ", status.message())));
    absl::Duration delay = BackoffFor(options_, event.delivery_count);
    if (event.delivery_count >= options_.max_deliveries) {
      absl::StatusOr<uint64_t> sent =
          core_->Publish(DeadLetterTopic(options_, event.topic),
                         DeadLetter(event, status), {});
      if (sent.ok()) {
        Reply(reply, "+ACK");
        dead = true;
      } else {
        Report(absl::Status(
            sent.status().code(),
            absl::StrCat("dead letter of ", event.topic, " #", event.sequence,
                         " not stored (kept "
                         "for another try): ",
                         sent.status().message())));
      }
    }
    if (!dead) {
      Reply(reply, absl::StrCat("-NAK {\"delay\":",
                                absl::ToInt64Nanoseconds(delay), "}"));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (acked) ++stats_.acked;
    if (!status.ok()) ++stats_.failed;
    if (dead) ++stats_.dead_lettered;
    cv_.notify_all();
  }
  Pull();
}

void Puller::Reply(const std::string& reply, absl::string_view body) {
  absl::Status sent = core_->connection().Publish(reply, body, "", {});
  if (!sent.ok()) {
    // The server redelivers after ack_wait: reported, not lost.
    Report(absl::Status(sent.code(), absl::StrCat("ack ", body.substr(0, 4),
                                                  ": ", sent.message())));
  }
}

void Puller::BadInput(absl::string_view why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.bad_input;
  }
  Report(absl::InvalidArgumentError(absl::StrCat(
      "dropped bad input from NATS on ", stream_, "/", consumer_, ": ", why)));
}

void Puller::Report(const absl::Status& status) { core_->Report(status); }

absl::Status Puller::Stop(absl::Time deadline) {
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_) return absl::OkStatus();
    stopped_ = true;
    done = cv_.wait_until(
        lock,
        absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Hours(24))),
        [&] { return in_flight_ == 0; });
  }
  if (subscription_ != nullptr) subscription_->Unsubscribe().IgnoreError();
  core_->Remove(this);
  if (ephemeral_) {
    jsOptions jo = core_->ApiOptions(deadline);
    jsErrCode code = static_cast<jsErrCode>(0);
    js_DeleteConsumer(core_->js(), stream_.c_str(), consumer_.c_str(), &jo,
                      &code);
  }
  if (!done) {
    return absl::DeadlineExceededError(
        absl::StrCat("consumer of ", topic_,
                     ": handlers still running (their events "
                     "come again after ack_wait)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Consumer>> Core::Consume(
    absl::string_view topic, Handler handler, ConsumeOptions options) {
  MN_RETURN_IF_ERROR(ValidateConsume(topic, handler, options));
  const StreamConfig* stream = StreamFor(options_.events.streams, topic);
  if (stream == nullptr) {
    return absl::NotFoundError(absl::StrCat("no stream holds topic ", topic));
  }
  jsOptions jo = ApiOptions(absl::InfiniteFuture());
  jsErrCode code = static_cast<jsErrCode>(0);
  const bool ephemeral = options.group.empty();
  std::string consumer_name = options.group;
  bool exists = false;
  if (!ephemeral) {
    jsConsumerInfo* info = nullptr;
    natsStatus s = js_GetConsumerInfo(&info, js_, stream->name.c_str(),
                                      options.group.c_str(), &jo, &code);
    if (s == NATS_OK) {
      exists = true;
      const jsConsumerConfig& c = *info->Config;
      std::vector<std::string> diffs;
      const std::string filter =
          c.FilterSubject != nullptr ? c.FilterSubject : "";
      if (filter != topic) {
        diffs.push_back(
            absl::StrCat("topic: ", topic, " wanted, ", filter, " found"));
      }
      const Start found = StartOf(c);
      if (options.start.kind != Start::Kind::kUnset &&
          !(ForServer(options.start) == found)) {
        diffs.push_back(absl::StrCat("start: ", DescribeStart(options.start),
                                     " wanted, ", DescribeStart(found),
                                     " found"));
      }
      if (absl::Nanoseconds(c.AckWait) != options.ack_wait) {
        diffs.push_back(absl::StrCat(
            "ack_wait: ", absl::FormatDuration(options.ack_wait), " wanted, ",
            absl::FormatDuration(absl::Nanoseconds(c.AckWait)), " found"));
      }
      jsConsumerInfo_Destroy(info);
      if (!diffs.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "group ", options.group, " exists with other settings (",
            absl::StrJoin(diffs, "; "), ")"));
      }
    } else if (s != NATS_NOT_FOUND && code != JSConsumerNotFoundErr) {
      return JsStatus(s, code, absl::StrCat("group ", options.group));
    }
  }
  if (!exists) {
    if (options.start.kind == Start::Kind::kUnset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "group ", options.group,
          " is new: say where it starts (Start::New, All, AtSequence or "
          "AtTime)"));
    }
    const std::string filter(topic);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    if (!ephemeral) cc.Durable = options.group.c_str();
    switch (options.start.kind) {
      case Start::Kind::kNew:
        cc.DeliverPolicy = js_DeliverNew;
        break;
      case Start::Kind::kSequence:
        cc.DeliverPolicy = js_DeliverByStartSequence;
        cc.OptStartSeq = options.start.sequence;
        break;
      case Start::Kind::kTime:
        cc.DeliverPolicy = js_DeliverByStartTime;
        cc.OptStartTime =
            absl::ToUnixNanos(StartTimeForServer(options.start.time));
        break;
      default:
        cc.DeliverPolicy = js_DeliverAll;
    }
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = absl::ToInt64Nanoseconds(options.ack_wait);
    cc.MaxDeliver = -1;  // counted here: the dead letter is ours
    cc.FilterSubject = filter.c_str();
    if (ephemeral) {
      // Gone this long after its last pull, if Stop never deleted it.
      cc.InactiveThreshold = absl::ToInt64Nanoseconds(
          std::max(absl::Seconds(30), 3 * options_.pull_expiry));
    }
    jsConsumerInfo* info = nullptr;
    natsStatus s =
        js_AddConsumer(&info, js_, stream->name.c_str(), &cc, &jo, &code);
    if (s == NATS_OK && info != nullptr && info->Name != nullptr) {
      consumer_name = info->Name;
    }
    if (info != nullptr) jsConsumerInfo_Destroy(info);
    MN_RETURN_IF_ERROR(JsStatus(
        s, code,
        absl::StrCat("create group ", ephemeral ? "(ephemeral)" : options.group,
                     " on ", stream->name)));
  }
  auto puller = std::make_shared<Puller>(
      shared_from_this(), stream->name, consumer_name, std::string(topic),
      std::move(handler), options, ephemeral);
  absl::Status started = puller->Start();
  if (!started.ok()) {
    puller->Stop(absl::Now() + absl::Seconds(1)).IgnoreError();
    return started;
  }
  {
    // The retry timer sees it once it has its inbox.
    std::lock_guard<std::mutex> lock(mu_);
    pullers_.push_back(puller);
  }
  return std::unique_ptr<Consumer>(
      std::make_unique<events_internal::ForwardingConsumer<Puller>>(
          std::move(puller), std::string(topic), options.group));
}

absl::StatusOr<TopicInfo> Core::Info(absl::string_view topic,
                                     absl::string_view group) {
  MN_RETURN_IF_ERROR(ValidateSubject(topic, SubjectKind::kPattern, "topic"));
  const StreamConfig* stream = StreamFor(options_.events.streams, topic);
  if (stream == nullptr) {
    return absl::NotFoundError(absl::StrCat("no stream holds topic ", topic));
  }
  const absl::Time deadline = absl::Now() + options_.api_timeout;
  TopicInfo info{.stream = stream->name};
  {
    jsOptions jo = ApiOptions(deadline);
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, stream->name.c_str(), &jo, &code);
    MN_RETURN_IF_ERROR(
        JsStatus(s, code, absl::StrCat("stream ", stream->name)));
    info.first_sequence = si->State.FirstSeq;
    info.last_sequence = si->State.LastSeq;
    info.messages = static_cast<int64_t>(si->State.Msgs);
    info.bytes = static_cast<int64_t>(si->State.Bytes);
    jsStreamInfo_Destroy(si);
  }
  // Dead letters: the per-subject counts of the stream holding them.
  const std::string dead = DeadLetterTopic({}, topic);
  if (const StreamConfig* dead_stream =
          StreamFor(options_.events.streams, dead);
      dead_stream != nullptr) {
    jsOptions jo = ApiOptions(deadline);
    jo.Stream.Info.SubjectsFilter = dead.c_str();
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s =
        js_GetStreamInfo(&si, js_, dead_stream->name.c_str(), &jo, &code);
    MN_RETURN_IF_ERROR(
        JsStatus(s, code, absl::StrCat("stream ", dead_stream->name)));
    if (si->State.Subjects != nullptr) {
      for (int i = 0; i < si->State.Subjects->Count; ++i) {
        info.dead_lettered +=
            static_cast<int64_t>(si->State.Subjects->List[i].Msgs);
      }
    }
    jsStreamInfo_Destroy(si);
  }
  if (group.empty()) return info;
  const std::string name(group);
  jsOptions jo = ApiOptions(deadline);
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&ci, js_, stream->name.c_str(),
                                    name.c_str(), &jo, &code);
  if (s == NATS_NOT_FOUND || code == JSConsumerNotFoundErr) {
    return absl::NotFoundError(absl::StrCat("group ", name, " of stream ",
                                            stream->name, " not found"));
  }
  MN_RETURN_IF_ERROR(JsStatus(s, code, absl::StrCat("group ", name)));
  info.group = GroupInfo{.name = name,
                         .pending = static_cast<int64_t>(ci->NumPending),
                         .in_flight = ci->NumAckPending,
                         .redelivered = ci->NumRedelivered,
                         .ack_floor = ci->AckFloor.Stream};
  jsConsumerInfo_Destroy(ci);
  return info;
}

}  // namespace

absl::StatusOr<std::vector<StreamConfig>> JetStreamStreams(
    nats::Connection& connection, absl::Duration timeout) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = concurrency::ApiTimeoutMillis(timeout);
  jsCtx* js = nullptr;
  MN_RETURN_IF_ERROR(nats::FromNatsStatus(
      natsConnection_JetStream(&js, connection.get(), &jo), "JetStream"));
  jsStreamInfoList* list = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_Streams(&list, js, &jo, &code);
  std::vector<StreamConfig> out;
  if (s == NATS_OK) {
    for (int i = 0; i < list->Count; ++i) {
      if (list->List[i] != nullptr && list->List[i]->Config != nullptr) {
        out.push_back(FromJs(*list->List[i]->Config));
      }
    }
    jsStreamInfoList_Destroy(list);
  }
  jsCtx_Destroy(js);
  // No stream at all is NATS_NOT_FOUND: an empty list.
  if (s == NATS_NOT_FOUND) return out;
  if (s == NATS_NO_RESPONDERS) {
    return absl::FailedPreconditionError(
        "the NATS server has no JetStream: start nats-server with -js");
  }
  MN_RETURN_IF_ERROR(JsStatus(s, code, "list streams"));
  return out;
}

absl::StatusOr<std::unique_ptr<Events>> NewJetStreamEvents(
    std::shared_ptr<nats::Connection> connection,
    JetStreamEventsOptions options) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError("connection is null");
  }
  MN_RETURN_IF_ERROR(ValidateStreams(options.events.streams));
  if (options.pull_expiry < absl::Milliseconds(100) ||
      options.retry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "pull_expiry must be >= 100ms and retry_interval positive");
  }
  auto core = std::make_shared<Core>(std::move(connection), std::move(options));
  MN_RETURN_IF_ERROR(core->Init());
  return std::unique_ptr<Events>(
      std::make_unique<events_internal::ForwardingEvents<Core>>(core));
}

}  // namespace micro_nats::events
