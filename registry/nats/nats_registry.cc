// Copyright 2026 The micro-nats Authors.

#include "registry/nats/nats_registry.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "registry/internal/store.h"
#include "registry/nats/internal/census.h"
#include "registry/nats/internal/codec.h"
#include "registry/nats/internal/gather.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::registry {
namespace {

using registry_internal::Census;
using registry_internal::CensusHint;
using registry_internal::DecodeResult;
using registry_internal::DecodeService;
using registry_internal::EncodeResult;
using registry_internal::EncodeService;
using registry_internal::Gather;
using registry_internal::GatherResult;
using registry_internal::kCensusHeader;
using registry_internal::MergeByVersion;
using registry_internal::NodeSet;
using registry_internal::Result;
using registry_internal::ServiceStore;
using registry_internal::SweptStore;
using registry_internal::ValidateRegistration;
using registry_internal::VersionsOf;
using registry_internal::WatchHub;

// An answer to a lookup: one service version, checked for size before it
// is parsed (the same bound as a watch event, which carries the same).
absl::StatusOr<Service> DecodeAnswer(absl::string_view body, size_t max_bytes) {
  if (body.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a registry answer of ", body.size(),
                     " bytes (the limit is ", max_bytes, ")"));
  }
  return DecodeService(body);
}

class NatsRegistry : public Registry {
 public:
  NatsRegistry(std::shared_ptr<nats::Connection> conn,
               NatsRegistryOptions options)
      : conn_(std::move(conn)),
        options_(std::move(options)),
        hub_(std::make_shared<WatchHub>(options_.watch_buffer)),
        census_(std::make_shared<Census>(
            options_.census_warmup, options_.census_node_ttl, absl::Now())) {}

  ~NatsRegistry() override {
    if (reconnect_listener_ != 0) {
      conn_->RemoveReconnectListener(reconnect_listener_);
    }
    // Stop answering before the store goes away.
    if (query_subscription_) query_subscription_->Unsubscribe().IgnoreError();
    if (watch_subscription_) watch_subscription_->Unsubscribe().IgnoreError();
  }

  absl::Status Start() {
    MN_RETURN_IF_ERROR(ValidateSubject(options_.query_subject,
                                       SubjectKind::kConcrete,
                                       "registry query subject"));
    MN_RETURN_IF_ERROR(ValidateSubject(options_.watch_subject,
                                       SubjectKind::kConcrete,
                                       "registry watch subject"));
    store_ = std::make_unique<SweptStore>(
        [] { return absl::Now(); }, options_.sweep_interval,
        [this](const std::vector<Event>& events) { return Announce(events); });
    MN_ASSIGN_OR_RETURN(mux_, nats::InboxMux::Create(conn_));
    MN_ASSIGN_OR_RETURN(
        query_subscription_,
        conn_->Subscribe(options_.query_subject,
                         [this](natsMsg* msg) { Answer(msg); },
                         {.run_on = nats::HandlerThread::kDeliveryThread}));
    // Both handlers decode and publish or queue; neither blocks. Events
    // NATS dropped, or that passed while we were disconnected, are lost:
    // every watcher is told, so caches re-read.
    MN_ASSIGN_OR_RETURN(
        watch_subscription_,
        conn_->Subscribe(
            options_.watch_subject, [this](natsMsg* msg) { OnWatchEvent(msg); },
            {.on_error =
                 [hub = hub_, census = census_](const absl::Status& status) {
                   census->Restart(absl::Now());
                   hub->Lost(
                       absl::StrCat("registry events were dropped by NATS (",
                                    status.message(), ")"));
                 },
             .run_on = nats::HandlerThread::kDeliveryThread}));
    reconnect_listener_ =
        conn_->AddReconnectListener([hub = hub_, census = census_] {
          census->Restart(absl::Now());
          hub->Lost(
              "registry events may have been missed while disconnected "
              "from NATS");
        });
    MN_RETURN_IF_ERROR(conn_->Flush(absl::Seconds(5)));
    return absl::OkStatus();
  }

  absl::Status Register(const Service& service,
                        RegisterOptions options) override {
    MN_RETURN_IF_ERROR(ValidateRegistration(service, options));
    return store_->Apply([&](ServiceStore& store, absl::Time now) {
      return store.Register(service, options.ttl, now);
    });
  }

  absl::Status Deregister(const Service& service) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    return store_->Apply([&](ServiceStore& store, absl::Time) {
      return store.Deregister(service);
    });
  }

  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    MN_ASSIGN_OR_RETURN(LookupResult found, Find(name));
    return std::move(found.services);
  }

  absl::StatusOr<LookupResult> Find(absl::string_view name) override {
    MN_RETURN_IF_ERROR(ValidateServiceName(name));
    MN_ASSIGN_OR_RETURN(Answered answered, Query("get", std::string(name)));
    MN_ASSIGN_OR_RETURN(std::vector<Service> versions,
                        VersionsOf(std::move(answered.services), name));
    return LookupResult{std::move(versions), answered.complete};
  }

  absl::StatusOr<std::vector<Service>> ListServices() override {
    MN_ASSIGN_OR_RETURN(Answered answered, Query("list", ""));
    return MergeByVersion(answered.services);
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options) override {
    return hub_->NewWatcher(std::move(options));
  }

 private:
  // Tells every watcher (in any process) of changes to what this process
  // registered.
  absl::Status Announce(const std::vector<Event>& events) {
    absl::Status status;
    for (const Event& event : events) {
      absl::Status s =
          conn_->Publish(options_.watch_subject,
                         EncodeResult({std::string(EventTypeName(event.type)),
                                       event.service}));
      if (status.ok()) status = s;
    }
    return status;
  }

  struct Answered {
    std::vector<Service> services;
    bool complete = false;  // known, not guessed (census hints matched)
  };

  // What a lookup has heard so far; the judge of its completeness.
  struct Judge {
    std::vector<Service> services;
    absl::Status bad_input;
    NodeSet seen;
    absl::optional<CensusHint> expected;
    std::set<std::string> vouchers;  // senders of `expected`
    bool conflict = false;  // hints disagree: no knowing, only guessing

    // See AnswerJudge: complete at once when the nodes seen are the set
    // two senders vouch for; when only one does, once a short confirmation
    // window passed without a contradicting answer; while fewer came than
    // vouched for, waiting for the rest past the idle gap.
    registry_internal::Verdict OnAnswer(absl::StatusOr<Service> service,
                                        const Headers& headers,
                                        absl::Duration elapsed,
                                        absl::Duration idle_gap,
                                        absl::Duration patience) {
      if (!service.ok()) {
        if (bad_input.ok()) bad_input = service.status();
        return Decide(elapsed, idle_gap, patience);
      }
      for (const Node& node : service->nodes) seen.Add(node.id);
      const int64_t nodes_here = static_cast<int64_t>(service->nodes.size());
      services.push_back(std::move(service).value());
      auto header = headers.find(kCensusHeader);
      if (header != headers.end()) {
        absl::optional<registry_internal::SenderHint> hint =
            registry_internal::ParseHint(header->second);
        // A hint smaller than its own answer cannot be right.
        if (!hint.has_value() || hint->hint.count < nodes_here) {
          conflict = true;
        } else if (!expected.has_value() || *expected == hint->hint) {
          expected = hint->hint;
          vouchers.insert(hint->sender);
        } else {
          conflict = true;
        }
      }
      return Decide(elapsed, idle_gap, patience);
    }

    registry_internal::Verdict Decide(absl::Duration elapsed,
                                      absl::Duration idle_gap,
                                      absl::Duration patience) {
      if (conflict || !expected.has_value()) return {};
      if (seen.hint() != *expected) {
        // Fewer than the hint says: the rest are on their way (or the hint
        // is stale: `patience` bounds the wait for them).
        if (seen.hint().count < expected->count) {
          return {.more_expected = true, .patience = patience};
        }
        return {};
      }
      if (vouchers.size() >= 2) return {.complete_after = absl::ZeroDuration()};
      // One voice: give a contradicting one a moment (a couple of round
      // trips) to arrive, never longer than the idle gap would.
      return {.complete_after =
                  std::clamp(2 * elapsed, absl::Microseconds(200),
                             std::max(idle_gap, absl::Microseconds(200)))};
    }
  };

  // Broadcasts a query and gathers the answers (see the header for when
  // it stops).
  absl::StatusOr<Answered> Query(absl::string_view action,
                                 const std::string& name) {
    // With hints, each answer is judged (so decoded) as it arrives;
    // without, they are decoded here, off the shared delivery thread.
    std::shared_ptr<Judge> judge;
    registry_internal::AnswerJudge on_answer;
    if (options_.use_census_hints && action == "get") {
      judge = std::make_shared<Judge>();
      on_answer = [judge, max_bytes = options_.max_event_bytes,
                   idle_gap = options_.idle_gap,
                   patience = options_.census_patience](
                      absl::string_view body, const Headers& headers,
                      absl::Duration elapsed) {
        return judge->OnAnswer(DecodeAnswer(body, max_bytes), headers, elapsed,
                               idle_gap, patience);
      };
    }
    MN_ASSIGN_OR_RETURN(
        GatherResult gathered,
        Gather(*mux_, options_.query_subject,
               EncodeResult({std::string(action), Service{.name = name}}),
               {.timeout = options_.timeout,
                .idle_gap = options_.idle_gap,
                .quorum = options_.quorum},
               "registry lookup", std::move(on_answer)));
    Answered answered{.complete = gathered.complete};
    absl::Status bad_input;
    if (judge != nullptr) {
      // Gather calls the judge for exactly the answers it returns, and not
      // after it returned.
      answered.services = std::move(judge->services);
      bad_input = judge->bad_input;
    } else {
      for (const std::string& payload : gathered.payloads) {
        auto service = DecodeAnswer(payload, options_.max_event_bytes);
        if (service.ok()) {
          answered.services.push_back(std::move(service).value());
        } else if (bad_input.ok()) {
          bad_input = service.status();
        }
      }
    }
    if (!bad_input.ok()) ReportOnce(bad_input);
    return answered;
  }

  // Answers a query for what this process registered: one reply per
  // service version.
  void Answer(natsMsg* msg) {
    const std::string reply(nats::Reply(msg));
    if (reply.empty()) return;
    const absl::string_view body = nats::Body(msg);
    if (body.size() > options_.max_query_bytes) {
      ReportOnce(absl::InvalidArgumentError(absl::StrCat(
          "a query of ", body.size(), " bytes on '", options_.query_subject,
          "' (the limit is ", options_.max_query_bytes, ")")));
      return;
    }
    auto query = DecodeResult(body);
    if (!query.ok()) {
      ReportOnce(query.status());
      return;
    }
    std::vector<Service> services;
    if (query->action == "get") {
      services = store_->Get(query->service.name);
    } else if (query->action == "list") {
      services = store_->List();
    } else {
      return;  // not a query
    }
    nats::PublishOptions publish;
    if (options_.send_census_hints && query->action == "get") {
      if (absl::optional<CensusHint> hint =
              census_->Hint(query->service.name, absl::Now())) {
        publish.headers[kCensusHeader] =
            registry_internal::FormatHint(*hint, sender_);
      }
    }
    for (const Service& service : services) {
      conn_->Publish(reply, EncodeService(service), publish).IgnoreError();
    }
  }

  void OnWatchEvent(natsMsg* msg) {
    const absl::string_view body = nats::Body(msg);
    if (body.size() > options_.max_event_bytes) {
      ReportOnce(absl::InvalidArgumentError(
          absl::StrCat("a watch event of ", body.size(), " bytes on '",
                       options_.watch_subject, "' (the limit is ",
                       options_.max_event_bytes, ")")));
      return;
    }
    auto result = DecodeResult(body);
    if (!result.ok()) {
      ReportOnce(result.status());
      return;
    }
    EventType type;
    if (result->action == "create") {
      type = EventType::kCreate;
    } else if (result->action == "update") {
      type = EventType::kUpdate;
    } else if (result->action == "delete") {
      type = EventType::kDelete;
    } else {
      ReportOnce(absl::InvalidArgumentError(absl::StrCat(
          "unknown registry event action '", result->action, "'")));
      return;
    }
    Event event{type, std::move(result->service)};
    census_->Apply(event, absl::Now());
    hub_->Publish(std::move(event));
  }

  // Bad input from the wire: said once, then ignored.
  void ReportOnce(const absl::Status& status) {
    std::call_once(bad_input_, [&] {
      std::fprintf(stderr,
                   "micro-nats registry: ignoring bad input from NATS: %s "
                   "(reported once)\n",
                   status.ToString().c_str());
    });
  }

  const std::shared_ptr<nats::Connection> conn_;
  const NatsRegistryOptions options_;
  // Shared with the callbacks below, which may run once more after the
  // registry is gone.
  const std::shared_ptr<WatchHub> hub_;
  const std::shared_ptr<Census> census_;
  // Names this instance in its census hints.
  const std::string sender_ =
      absl::StrFormat("%016x", absl::Uniform<uint64_t>(absl::BitGen()));
  uint64_t reconnect_listener_ = 0;
  std::shared_ptr<nats::InboxMux> mux_;
  std::once_flag bad_input_;
  // This process's registrations; made in Start, before anything answers.
  std::unique_ptr<SweptStore> store_;
  std::unique_ptr<nats::Subscription> query_subscription_;
  std::unique_ptr<nats::Subscription> watch_subscription_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> NewNatsRegistry(
    std::shared_ptr<nats::Connection> connection, NatsRegistryOptions options) {
  auto registry =
      std::make_unique<NatsRegistry>(std::move(connection), std::move(options));
  MN_RETURN_IF_ERROR(registry->Start());
  return registry;
}

}  // namespace micro_nats::registry
