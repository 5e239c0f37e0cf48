// Copyright 2026 The micro-nats Authors.
//
// selector.h: which node of a service a call goes to.
//
// The client gets a service's versions from the registry, keeps the nodes
// its filters accept (a version, a metadata value), leaves out those that
// already failed this call, and lets a Selector pick one:
//   - latency-aware (the default) prefers faster, less loaded nodes and
//     ejects outliers for a while (LatencyAwareOptions). With healthy
//     nodes it measured as fast as round robin (bench/resilience_bench,
//     BM_PairedHealthySelection); with one of three 10x slow, it sent that
//     one ~0.2 % of the calls, against round robin's third;
//   - round robin rotates per service across calls, so successive calls
//     from one client spread over every node;
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
    // The client abandoned the attempt (a hedged call's loser, cancelled
    // when another answered): `latency` is only a lower bound of the
    // node's, no sample; only the attempt's end.
    bool cancelled = false;
  };
  virtual void Started(absl::string_view service, const registry::Node& node) {}
  virtual void Finished(absl::string_view service, const registry::Node& node,
                        const AttemptResult& result) {}
};

std::shared_ptr<Selector> NewRoundRobinSelector();
std::shared_ptr<Selector> NewRandomSelector();

// Latency-aware selection: power of two choices (two candidates drawn at
// random, the lower score wins) on score = weighted latency x (attempts in
// flight + 1), per (service, node id), learnt from Started/Finished. A node
// without samples scores the median of its peers' (so it gets tried); one
// not heard from for `probe_after` is picked once when drawn, whatever its
// score (so a slow node that recovered is seen to), and its next sample
// replaces its stale average. Outlier ejection: a node whose weighted latency
// exceeds `ejection_factor` x the median of its peers' (each with
// `min_samples`), or whose recent share of node failures is at least
// `ejection_error_share` while its peers' median is under half of that, is
// skipped for `ejection_time` (x the times it was ejected in a row, up to
// `max_ejection_time`), then comes back with its samples forgotten. At most
// `max_ejected_share` of a service's nodes are ejected at once, and never
// all: when every candidate of a call is ejected, they are all eligible.
// A handler's error is a latency sample, not a failure.
struct LatencyAwareOptions {
  // Weight of the newest sample in the moving averages (0..1].
  double decay = 0.2;
  double ejection_factor = 5.0;
  double ejection_error_share = 0.5;
  int min_samples = 10;
  absl::Duration ejection_time = absl::Seconds(10);
  absl::Duration max_ejection_time = absl::Minutes(5);
  double max_ejected_share = 0.5;
  absl::Duration probe_after = absl::Seconds(1);
  // State bounds: a node not selected or told about for `forget_after` is
  // forgotten; at most `max_nodes` per service and `max_services` are
  // tracked (others are picked by load alone).
  absl::Duration forget_after = absl::Minutes(5);
  int max_nodes = 1024;
  int max_services = 1024;
  // The clock (tests inject a fake one); null: absl::Now.
  std::function<absl::Time()> now;
};
std::shared_ptr<Selector> NewLatencyAwareSelector(
    LatencyAwareOptions options = {});

}  // namespace micro_nats::service

#endif  // MICRO_NATS_SERVICE_SELECTOR_H_
