// Copyright 2026 The micro-nats Authors.

#include "registry/srv/srv_registry.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nats/inbox_mux.h"
#include "nats/message.h"
#include "registry/internal/gather.h"
#include "registry/internal/lookup.h"
#include "registry/internal/merge.h"
#include "registry/internal/service_store.h"
#include "srv/protocol.h"
#include "status/status_macros.h"

namespace micro_nats::registry {
namespace {

using registry_internal::BadInput;
using registry_internal::BadTally;
using registry_internal::GatherLookup;
using registry_internal::LookupRule;
using registry_internal::LookupRuleOf;
using registry_internal::MergeByVersion;
using registry_internal::ReconnectStamp;
using registry_internal::ServiceStore;
using registry_internal::ValidateRegistration;
using registry_internal::VersionsOf;
using srv::kNatsMicroProtocol;
using srv::kProtocolMetadata;
using srv::kQueueGroupMetadata;
using srv::kSubjectMetadata;

// A `$SRV` request is a verb and up to two tokens; anything longer is not
// one and is dropped unread.
constexpr size_t kMaxControlSubject = 512;

// An answer to INFO as a registry entry of one node.
Service FromInfo(const srv::InfoResponse& info) {
  Service service{.name = info.identity.name,
                  .version = srv::FromSemver(info.identity.version),
                  .metadata = info.identity.metadata};
  for (const srv::EndpointInfo& e : info.endpoints) {
    Endpoint endpoint{.name = e.name, .metadata = e.metadata};
    endpoint.metadata[kSubjectMetadata] = e.subject;
    endpoint.metadata[kQueueGroupMetadata] = e.queue_group;
    service.endpoints.push_back(std::move(endpoint));
  }
  service.nodes.push_back(
      {.id = info.identity.id,
       .metadata = {{kProtocolMetadata, kNatsMicroProtocol}}});
  return service;
}

// What this process answers for `node` of `service`.
srv::InfoResponse ToInfo(const Service& service, const Node& node) {
  srv::InfoResponse info{.identity = {.name = service.name,
                                      .id = node.id,
                                      .version = srv::ToSemver(service.version),
                                      .metadata = service.metadata}};
  for (const Endpoint& e : service.endpoints) {
    auto subject = e.metadata.find(kSubjectMetadata);
    auto queue = e.metadata.find(kQueueGroupMetadata);
    srv::EndpointInfo endpoint{
        .name = srv::ToName(e.name),
        .subject = subject != e.metadata.end()
                       ? subject->second
                       : absl::StrCat(service.name, ".", e.name),
        .queue_group = queue != e.metadata.end()
                           ? queue->second
                           : std::string(srv::kDefaultQueueGroup),
        .metadata = e.metadata};
    endpoint.metadata.erase(kSubjectMetadata);
    endpoint.metadata.erase(kQueueGroupMetadata);
    info.endpoints.push_back(std::move(endpoint));
  }
  return info;
}

class SrvRegistry : public Registry {
 public:
  SrvRegistry(std::shared_ptr<nats::Connection> conn,
              SrvRegistryOptions options)
      : conn_(std::move(conn)), options_(options), started_(absl::Now()) {}

  ~SrvRegistry() override {
    if (reconnect_listener_ != 0) {
      conn_->RemoveReconnectListener(reconnect_listener_);
    }
    if (subscription_) subscription_->Unsubscribe().IgnoreError();
  }

  absl::Status Start() {
    reconnect_listener_ = conn_->AddReconnectListener(
        [reconnected = reconnected_] { reconnected->Stamp(); });
    MN_ASSIGN_OR_RETURN(mux_, nats::InboxMux::Create(conn_));
    MN_ASSIGN_OR_RETURN(
        subscription_,
        conn_->Subscribe(absl::StrCat(srv::kApiPrefix, ".>"),
                         [this](natsMsg* msg) { Answer(msg); },
                         {.run_on = nats::HandlerThread::kDeliveryThread}));
    return conn_->Flush(absl::Seconds(5));
  }

  absl::Status Register(const Service& service,
                        RegisterOptions options) override {
    MN_RETURN_IF_ERROR(ValidateRegistration(service, options));
    MN_RETURN_IF_ERROR(ValidateAdrName(service.name));
    // Its endpoints share one ADR-32 namespace (ToName): "a.b" and "a_b"
    // would both answer as "a_b".
    std::vector<std::string> endpoint_names;
    for (const Endpoint& e : service.endpoints)
      endpoint_names.push_back(e.name);
    MN_RETURN_IF_ERROR(srv::CheckDistinctNames(endpoint_names));
    std::lock_guard<std::mutex> lock(mu_);
    // ADR-32 has no expiry: a registration stays until Deregister.
    store_.Register(service, absl::ZeroDuration(), absl::Now());
    return absl::OkStatus();
  }

  absl::Status Deregister(const Service& service) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    std::lock_guard<std::mutex> lock(mu_);
    store_.Deregister(service);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    MN_RETURN_IF_ERROR(ValidateServiceName(name));
    if (!srv::IsValidName(name)) {
      return absl::NotFoundError(
          absl::StrCat("service '", name,
                       "' not found: not a NATS Service API name (letters, "
                       "digits, '_' and '-')"));
    }
    MN_ASSIGN_OR_RETURN(std::vector<Service> found,
                        Query(srv::ControlSubject(srv::Verb::kInfo, name)));
    return VersionsOf(std::move(found), name);
  }

  // ADR-32 answers carry no census: a lookup always ends on the idle gap.
  absl::StatusOr<LookupResult> Find(absl::string_view name) override {
    MN_ASSIGN_OR_RETURN(std::vector<Service> services, GetService(name));
    return LookupResult{std::move(services), false};
  }

  absl::StatusOr<std::vector<Service>> ListServices() override {
    MN_ASSIGN_OR_RETURN(std::vector<Service> found,
                        Query(srv::ControlSubject(srv::Verb::kInfo)));
    return MergeByVersion(found);
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options) override {
    if (!options.service.empty()) {
      MN_RETURN_IF_ERROR(ValidateServiceName(options.service));
    }
    return absl::UnimplementedError(
        "the NATS Service API has no change events: poll GetService");
  }

 private:
  static absl::Status ValidateAdrName(absl::string_view name) {
    if (srv::IsValidName(name)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name,
        "' is not a NATS Service API name (letters, digits, '_' and '-')"));
  }

  absl::StatusOr<std::vector<Service>> Query(const std::string& subject) {
    registry_internal::Collected collected(options_.limits.max_nodes,
                                           options_.limits.max_endpoints);
    BadTally bad;
    const srv::DecodeLimits limits{
        .max_endpoints = options_.limits.max_endpoints,
        .deadline = absl::Now() + options_.timeout};
    // Decoded here, on the caller's thread, as the answers arrive.
    MN_RETURN_IF_ERROR(
        GatherLookup(
            *mux_, subject, "", rule_, *reconnected_,
            [&](absl::string_view body, const Headers&, absl::Duration) {
              srv::DecodeReport report;
              auto info = srv::DecodeInfo(body, limits, &report);
              if (!info.ok()) {
                bad.Add(info.status());
              } else {
                if (report.dropped > 0) bad.Add(report.first, report.dropped);
                if (size_t cut = collected.Add(FromInfo(*info)); cut > 0) {
                  bad.Add(
                      absl::ResourceExhaustedError(absl::StrCat(
                          "a lookup's answers over ", options_.limits.max_nodes,
                          " instances of '", info->identity.name, "'")),
                      cut);
                }
              }
              return registry_internal::Verdict{};
            },
            bad, bad_)
            .status());
    return std::move(collected.services());
  }

  // Answers `$SRV.<VERB>[.<name>[.<id>]]` for the nodes registered here.
  void Answer(natsMsg* msg) {
    const std::string reply(nats::Reply(msg));
    const absl::string_view subject = nats::Subject(msg);
    if (reply.empty() || subject.size() > kMaxControlSubject) return;
    std::vector<absl::string_view> tokens = absl::StrSplit(
        subject.substr(srv::kApiPrefix.size() + 1), absl::MaxSplits('.', 2));
    srv::Verb verb;
    if (tokens[0] == "PING") {
      verb = srv::Verb::kPing;
    } else if (tokens[0] == "INFO") {
      verb = srv::Verb::kInfo;
    } else if (tokens[0] == "STATS") {
      verb = srv::Verb::kStats;
    } else {
      return;  // a verb we do not answer
    }
    const absl::string_view name = tokens.size() > 1 ? tokens[1] : "";
    const absl::string_view id = tokens.size() > 2 ? tokens[2] : "";
    std::vector<std::string> answers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const Service& service :
           name.empty() ? store_.List() : store_.Get(name)) {
        for (const Node& node : service.nodes) {
          if (!id.empty() && node.id != id) continue;
          answers.push_back(Encode(verb, service, node));
        }
      }
    }
    for (const std::string& answer : answers) {
      conn_->Publish(reply, answer).IgnoreError();
    }
  }

  std::string Encode(srv::Verb verb, const Service& service,
                     const Node& node) const {
    srv::InfoResponse info = ToInfo(service, node);
    switch (verb) {
      case srv::Verb::kPing:
        return srv::EncodePing(info.identity);
      case srv::Verb::kInfo:
        return srv::EncodeInfo(info);
      case srv::Verb::kStats: {
        srv::StatsResponse stats{.identity = info.identity,
                                 .started = started_};
        for (const srv::EndpointInfo& e : info.endpoints) {
          stats.endpoints.push_back({.name = e.name,
                                     .subject = e.subject,
                                     .queue_group = e.queue_group});
        }
        return srv::EncodeStats(stats);
      }
    }
    return "";
  }

  const std::shared_ptr<nats::Connection> conn_;
  const SrvRegistryOptions options_;
  const absl::Time started_;
  std::shared_ptr<nats::InboxMux> mux_;
  BadInput bad_{"registry/srv", options_.on_bad_input};
  const LookupRule rule_ =
      LookupRuleOf(options_, "NATS Service API lookup", "services");
  const std::shared_ptr<ReconnectStamp> reconnected_ =
      std::make_shared<ReconnectStamp>();
  uint64_t reconnect_listener_ = 0;
  std::mutex mu_;
  ServiceStore store_;  // guarded by mu_
  std::unique_ptr<nats::Subscription> subscription_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> NewSrvRegistry(
    std::shared_ptr<nats::Connection> connection, SrvRegistryOptions options) {
  if (connection == nullptr) {
    return absl::InvalidArgumentError("the srv registry needs a connection");
  }
  auto registry = std::make_unique<SrvRegistry>(std::move(connection), options);
  MN_RETURN_IF_ERROR(registry->Start());
  return registry;
}

}  // namespace micro_nats::registry
