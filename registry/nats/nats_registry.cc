// Copyright 2026 The micro-nats Authors.

#include "registry/nats/nats_registry.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "registry/internal/gather.h"
#include "registry/internal/lookup.h"
#include "registry/internal/merge.h"
#include "registry/internal/service_store.h"
#include "registry/internal/swept_store.h"
#include "registry/internal/watch_hub.h"
#include "registry/nats/internal/census.h"
#include "registry/nats/internal/codec.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::registry {
namespace {

using registry_internal::BadInput;
using registry_internal::BadTally;
using registry_internal::Census;
using registry_internal::CensusHint;
using registry_internal::DecodeResult;
using registry_internal::DecodeService;
using registry_internal::EncodeResult;
using registry_internal::EncodeService;
using registry_internal::GatherLookup;
using registry_internal::GatherResult;
using registry_internal::kCensusHeader;
using registry_internal::LookupRule;
using registry_internal::LookupRuleOf;
using registry_internal::MergeByVersion;
using registry_internal::NodeSet;
using registry_internal::ReconnectStamp;
using registry_internal::Result;
using registry_internal::ServiceStore;
using registry_internal::SweptStore;
using registry_internal::ValidateRegistration;
using registry_internal::VersionsOf;
using registry_internal::WatchHub;

// An answer to a lookup: one service version, checked for size before it
// is parsed (the same bound as a watch event, which carries the same).
// At most `max_endpoints` and `max_nodes` are kept (the rest are counted
// in `*cut`).
absl::StatusOr<Service> DecodeAnswer(absl::string_view body, size_t max_bytes,
                                     size_t max_endpoints, size_t max_nodes,
                                     size_t* cut) {
  if (body.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a registry answer of ", body.size(),
                     " bytes (the limit is ", max_bytes, ")"));
  }
  return DecodeService(body, max_endpoints, max_nodes, cut);
}

// Checks a service decoded from the network where it is decoded: its name
// and version (InvalidArgument: the whole of it is dropped), and each node:
// one with an invalid id, or an address that is not a concrete NATS subject
// (what every transport here dials; go-micro's host:port is one), is
// dropped and counted (`*dropped`, `*why` for the first), never passed on.
absl::Status CheckDecoded(Service& service, size_t* dropped,
                          absl::Status* why) {
  MN_RETURN_IF_ERROR(
      ValidateService({.name = service.name, .version = service.version}));
  auto invalid = [&](const Node& node) {
    absl::Status status = ValidateNodeId(node.id);
    if (status.ok()) {
      status = ValidateSubject(node.address, SubjectKind::kConcrete,
                               absl::StrCat("address of node '", node.id, "'"));
    }
    if (status.ok()) return false;
    if ((*dropped)++ == 0) *why = std::move(status);
    return true;
  };
  service.nodes.erase(
      std::remove_if(service.nodes.begin(), service.nodes.end(), invalid),
      service.nodes.end());
  return absl::OkStatus();
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
        [this](const std::vector<Event>& events) { return Announce(events); },
        options_.scheduler);
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
    reconnect_listener_ = conn_->AddReconnectListener(
        [reconnected = reconnected_, hub = hub_, census = census_] {
          reconnected->Stamp();
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

  // What one lookup has heard so far, decoded as it arrives (on the
  // caller's thread, see Gather), within the lookup's bounds; and, with
  // census hints, the judge of its completeness.
  //
  // Anyone on the account can answer, with any hint, so a hint may end a
  // lookup early only when it cannot hide a node the idle gap would have
  // found:
  //   - complete at once only when the nodes seen are the set that two
  //     vouchers name (same count, same hash): answers with a hint that
  //     carry nodes of their own, from different senders, sharing no node;
  //   - a lone voucher never ends a lookup: the idle gap does, as without
  //     hints, and the result is a guess (a cache asks again sooner);
  //   - hints that disagree with each other, or with an answer (fewer nodes
  //     than it carries), or that leave out a node this process heard of
  //     on the watch subject (Census::Known), fall back to the idle gap;
  //   - a hint of more than max_nodes nodes is ignored;
  //   - while fewer nodes came than the hint says, the lookup waits for
  //     them past the idle gap, at most census_patience after the last
  //     answer.
  // One process can still pose as two registrars of made-up nodes; what it
  // cannot do is leave out a node that answered within the idle gap of
  // another answer, or one this process heard registered (SECURITY.md:
  // NATS permissions keep such a peer off the registry's subjects).
  class Lookup {
   public:
    Lookup(const NatsRegistryOptions& options, bool judge,
           std::vector<std::string> known)
        : options_(options),
          judge_(judge),
          known_(std::move(known)),
          collected_(options.limits.max_nodes, options.limits.max_endpoints) {}

    registry_internal::Verdict OnAnswer(absl::string_view body,
                                        const Headers& headers) {
      size_t cut = 0;
      absl::StatusOr<Service> service = DecodeAnswer(
          body, options_.max_event_bytes, options_.limits.max_endpoints,
          options_.limits.max_nodes, &cut);
      size_t invalid = 0;
      absl::Status why;
      if (service.ok()) {
        absl::Status valid = CheckDecoded(*service, &invalid, &why);
        if (!valid.ok()) service = valid;
      }
      if (!service.ok()) {
        Bad(service.status());
        return Decide();
      }
      if (invalid > 0) Bad(why, invalid);
      std::vector<std::string> ids;
      for (const Node& node : service->nodes) ids.push_back(node.id);
      const size_t nodes_here = ids.size();
      cut += collected_.Add(std::move(service).value());
      if (cut > 0) {
        Bad(absl::ResourceExhaustedError(absl::StrCat(
                "a registry lookup's answers over ", options_.limits.max_nodes,
                " nodes of a service or ", options_.limits.max_endpoints,
                " endpoints of a version")),
            cut);
        ids.clear();  // what was cut is not there: never complete
        conflict_ = true;
      }
      if (!judge_) return {};
      for (const std::string& id : ids) seen_.Add(id);
      auto header = headers.find(kCensusHeader);
      if (header == headers.end()) return Decide();
      absl::optional<registry_internal::SenderHint> hint =
          registry_internal::ParseHint(header->second);
      if (hint.has_value() &&
          hint->hint.count > static_cast<int64_t>(options_.limits.max_nodes)) {
        // Absurd: no lookup would keep that many. Not a voice at all.
        Bad(absl::InvalidArgumentError(
            absl::StrCat("a census hint of ", hint->hint.count, " nodes (over ",
                         options_.limits.max_nodes, "): ignored")));
        return Decide();
      }
      NodeSet own;
      for (const std::string& id : ids) own.Add(id);
      if (!hint.has_value() || hint->hint.count < own.hint().count ||
          (expected_.has_value() && *expected_ != hint->hint)) {
        // Unreadable, smaller than its own answer, or not what another
        // said: no knowing, only guessing.
        conflict_ = true;
        return Decide();
      }
      expected_ = hint->hint;
      const bool shares_a_node = std::any_of(
          ids.begin(), ids.end(),
          [&](const std::string& id) { return vouched_nodes_.count(id) > 0; });
      if (nodes_here > 0 && !shares_a_node &&
          vouchers_.insert(hint->sender).second) {
        vouched_nodes_.insert(ids.begin(), ids.end());
      }
      return Decide();
    }

    Answered Take() { return {std::move(collected_.services()), false}; }
    const BadTally& bad() const { return bad_; }

   private:
    void Bad(const absl::Status& status, size_t count = 1) {
      bad_.Add(status, count);
    }

    registry_internal::Verdict Decide() const {
      if (!judge_ || conflict_ || !expected_.has_value()) return {};
      const CensusHint have = seen_.hint();
      if (have.count < expected_->count) {
        // Fewer than the hint says: the rest are on their way (or the hint
        // is stale: patience bounds the wait for them).
        return {.more_expected = true, .patience = options_.census_patience};
      }
      if (have != *expected_) return {};
      for (const std::string& id : known_) {
        if (!seen_.Contains(id)) return {};  // the hints leave it out
      }
      if (vouchers_.size() < 2) return {};  // a lone voice: the idle gap
      return {.complete_after = absl::ZeroDuration()};
    }

    const NatsRegistryOptions& options_;
    const bool judge_;
    const std::vector<std::string> known_;
    registry_internal::Collected collected_;
    BadTally bad_;
    NodeSet seen_;
    absl::optional<CensusHint> expected_;
    std::set<std::string> vouchers_;       // senders of `expected_`
    std::set<std::string> vouched_nodes_;  // the nodes they answered with
    bool conflict_ = false;
  };

  // Broadcasts a query and gathers the answers (see the header for when
  // it stops).
  absl::StatusOr<Answered> Query(absl::string_view action,
                                 const std::string& name) {
    const bool judge = options_.use_census_hints && action == "get";
    Lookup lookup(
        options_, judge,
        judge ? census_->Known(name, absl::Now()) : std::vector<std::string>());
    MN_ASSIGN_OR_RETURN(
        GatherResult gathered,
        GatherLookup(
            *mux_, options_.query_subject,
            EncodeResult({std::string(action), Service{.name = name}}), rule_,
            *reconnected_,
            [&lookup](absl::string_view body, const Headers& headers,
                      absl::Duration) {
              return lookup.OnAnswer(body, headers);
            },
            lookup.bad(), bad_));
    Answered answered = lookup.Take();
    answered.complete = gathered.complete;
    return answered;
  }

  // Answers a query for what this process registered: one reply per
  // service version.
  void Answer(natsMsg* msg) {
    const std::string reply(nats::Reply(msg));
    if (reply.empty()) return;
    const absl::string_view body = nats::Body(msg);
    if (body.size() > options_.max_query_bytes) {
      bad_.Report(absl::InvalidArgumentError(absl::StrCat(
          "a query of ", body.size(), " bytes on '", options_.query_subject,
          "' (the limit is ", options_.max_query_bytes, ")")));
      return;
    }
    auto query = DecodeResult(body);
    if (!query.ok()) {
      bad_.Report(query.status());
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
      bad_.Report(absl::InvalidArgumentError(
          absl::StrCat("a watch event of ", body.size(), " bytes on '",
                       options_.watch_subject, "' (the limit is ",
                       options_.max_event_bytes, ")")));
      return;
    }
    auto result = DecodeResult(body);
    if (!result.ok()) {
      bad_.Report(result.status());
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
      bad_.Report(absl::InvalidArgumentError(absl::StrCat(
          "unknown registry event action '", result->action, "'")));
      return;
    }
    size_t invalid = 0;
    absl::Status why;
    if (absl::Status valid = CheckDecoded(result->service, &invalid, &why);
        !valid.ok()) {
      bad_.Report(valid);
      return;
    }
    if (invalid > 0) bad_.Report(why, invalid);
    if (result->service.nodes.empty() && invalid > 0) return;
    Event event{type, std::move(result->service)};
    census_->Apply(event, absl::Now());
    hub_->Publish(std::move(event));
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
  BadInput bad_{"registry/nats", options_.on_bad_input};
  const LookupRule rule_ =
      LookupRuleOf(options_, "registry lookup", "registrars");
  const std::shared_ptr<ReconnectStamp> reconnected_ =
      std::make_shared<ReconnectStamp>();
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
