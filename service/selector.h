// Copyright 2026 The micro-nats Authors.
//
// selector.h: which node of a service a call goes to.
//
// The client gets a service's versions from the registry, keeps the nodes
// its filters accept (a version, a metadata value), leaves out those that
// already failed this call, and lets a Selector pick one:
//   - round robin (the default) rotates per service across calls, so
//     successive calls from one client spread over every node;
//   - random picks uniformly.
//
//   client.Call<Req, Resp>("greeter", "Greeter.Hello", req,
//                          {.filters = {FilterVersion("2.0.0")}});

#ifndef MICRO_NATS_SERVICE_SELECTOR_H_
#define MICRO_NATS_SERVICE_SELECTOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "registry/registry.h"

namespace micro_nats::service {

// True to keep `node` of service version `version`.
using NodeFilter = std::function<bool(const registry::Service& version,
                                      const registry::Node& node)>;

// Nodes of that version only.
NodeFilter FilterVersion(std::string version);
// Nodes whose metadata (or, when the node lacks the key, whose service
// version's metadata) has `key` = `value`.
NodeFilter FilterMetadata(std::string key, std::string value);

// The nodes of `versions` every filter keeps, minus those in `exclude`,
// ordered by id (so a rotation over them is stable).
std::vector<registry::Node> Candidates(
    const std::vector<registry::Service>& versions,
    const std::vector<NodeFilter>& filters,
    const std::set<std::string>& exclude);

// The same, as pointers into `versions` (valid while it is): what the
// client picks from on every call, without copying nodes.
std::vector<const registry::Node*> CandidateNodes(
    const std::vector<registry::Service>& versions,
    const std::vector<NodeFilter>& filters,
    const std::set<std::string>& exclude);
// The same into `*nodes` (cleared first): the client reuses one vector.
void CandidateNodes(const std::vector<registry::Service>& versions,
                    const std::vector<NodeFilter>& filters,
                    const std::set<std::string>& exclude,
                    std::vector<const registry::Node*>* nodes);

// Selector
//
// Thread-safe.
class Selector {
 public:
  virtual ~Selector() = default;
  // One of `nodes` (not empty) for a call to `service`.
  virtual registry::Node Select(absl::string_view service,
                                const std::vector<registry::Node>& nodes) = 0;
  // The index of the node Select would pick among `nodes` (not empty).
  // What the client calls. This default copies the nodes for Select; the
  // built-in selectors override it to pick without copying.
  virtual size_t SelectIndex(absl::string_view service,
                             const std::vector<const registry::Node*>& nodes);

  // Told by the client around each attempt on the node it picked, so a
  // selector can weigh nodes by what it sees (the latency-aware one does;
  // round robin and random ignore them). Called from every calling
  // thread; must not block.
  struct AttemptResult {
    absl::Duration latency;  // from Started to Finished
    absl::Status status;     // the attempt's (a handler's error included)
    // The node failed the attempt (unreachable, ended the socket, refused
    // as stopping or overloaded, no answer by the deadline): a handler's
    // error is not one.
    bool node_failed = false;
  };
  virtual void Started(absl::string_view service, const registry::Node& node) {}
  virtual void Finished(absl::string_view service, const registry::Node& node,
                        const AttemptResult& result) {}
};

std::shared_ptr<Selector> NewRoundRobinSelector();
std::shared_ptr<Selector> NewRandomSelector();

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_SELECTOR_H_
