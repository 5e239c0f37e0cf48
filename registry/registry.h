// Copyright 2026 The micro-nats Authors.
//
// registry.h: service discovery.
//
// The registry is go-micro's building block for finding services: a server
// registers its node (an address) under a service name and version; a
// client gets the nodes of a service by name; watchers hear of changes.
//
//   Service greeter{.name = "greeter", .version = "1.0.0",
//                   .nodes = {{.id = "greeter-1", .address = "_INBOX.abc"}}};
//   MN_RETURN_IF_ERROR(
//       registry->Register(greeter, {.ttl = absl::Seconds(30)}));
//   MN_ASSIGN_OR_RETURN(std::vector<Service> versions,
//                       registry->GetService("greeter"));
//
// The contract every backend keeps (registry/testing has the suite):
//   - Register merges nodes into the service version (a node is identified
//     by its id: registering it again updates it and refreshes its TTL);
//   - Deregister removes the given nodes; removing the last node of a version
//     removes the version;
//   - GetService returns one Service per version, NotFound when there is
//     none, Unavailable when the backend cannot be reached (never an empty
//     answer for "down");
//   - a node registered with a TTL disappears when it is not registered
//     again within the TTL, and watchers get a kDelete event for it;
//   - events carry the nodes they concern: the nodes registered (kCreate,
//     kUpdate) or removed (kDelete).
//
// Backends: registry/memory, registry/nats, registry/mock (gmock);
// registry/cache wraps any of them.

#ifndef MICRO_NATS_REGISTRY_REGISTRY_H_
#define MICRO_NATS_REGISTRY_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace micro_nats::registry {

using Metadata = std::map<std::string, std::string>;

// A request or response type, as go-micro describes it: a name, a type and
// its fields.
struct Value {
  std::string name;
  std::string type;
  std::vector<Value> values;

  friend bool operator==(const Value&, const Value&) = default;
};

struct Endpoint {
  std::string name;  // e.g. "Greeter.Hello"
  absl::optional<Value> request;
  absl::optional<Value> response;
  Metadata metadata;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct Node {
  std::string id;       // unique per service
  std::string address;  // e.g. a transport address
  Metadata metadata;

  friend bool operator==(const Node&, const Node&) = default;
};

struct Service {
  std::string name;
  std::string version;
  Metadata metadata;
  std::vector<Endpoint> endpoints;
  std::vector<Node> nodes;

  friend bool operator==(const Service&, const Service&) = default;
};

enum class EventType { kCreate, kUpdate, kDelete };

absl::string_view EventTypeName(EventType type);  // "create", ...

struct Event {
  EventType type;
  Service service;  // with the nodes this event concerns
};

// A lookup's answer, and how sure the backend is of it.
struct LookupResult {
  std::vector<Service> services;
  // False when the lookup ended on a guess (an idle gap or a timeout on a
  // broadcast backend): nodes may be missing, so a cache should ask again
  // sooner. Backends that see everything (memory) always say true.
  bool complete = true;
};

struct RegisterOptions {
  // Zero: the nodes stay until deregistered.
  absl::Duration ttl = absl::ZeroDuration();
};

struct WatchOptions {
  // Only events of this service; empty for all.
  std::string service;
};

// Watcher
//
// Thread-safe.
class Watcher {
 public:
  virtual ~Watcher() = default;

  // The next event, waiting until `deadline` (DeadlineExceeded). Cancelled
  // after Stop. ResourceExhausted once when the watcher fell behind and
  // events were dropped: the caller should re-read what it cares about;
  // later events follow.
  virtual absl::StatusOr<Event> Next(absl::Time deadline) = 0;

  // Ends the watch; a Next waiting now returns Cancelled. Idempotent.
  virtual void Stop() = 0;

  // Asks the watcher to call `ready` whenever Next has something to return
  // without waiting (an event, or news of lost ones), and at once when it
  // has now; never after Stop returns. Lets a reader drain with
  // Next(absl::InfinitePast()) from a shared scheduler instead of keeping
  // a thread blocked in Next. `ready` runs on whichever thread queued the
  // event, with the watcher's lock held: it must be short, must not block
  // and must not call this watcher. Returns false when the watcher cannot
  // do this (then read it with a blocking Next); the default. Call once.
  virtual bool NotifyWhenReady(std::function<void()> ready) { return false; }
};

// Registry
//
// Thread-safe.
class Registry {
 public:
  virtual ~Registry() = default;

  // Adds or refreshes `service.nodes` under the service's name and version.
  // InvalidArgument for an invalid name, version or node, or no nodes.
  virtual absl::Status Register(const Service& service,
                                RegisterOptions options = {}) = 0;

  // Removes `service.nodes` (all nodes of the version when empty) from the
  // service's name and version. Removing what is not there is OK.
  virtual absl::Status Deregister(const Service& service) = 0;

  // Every version of `name`. NotFound when none, Unavailable when the
  // backend cannot be reached.
  virtual absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) = 0;

  // GetService, saying whether the answer is known complete. The default
  // calls GetService and says it is.
  virtual absl::StatusOr<LookupResult> Find(absl::string_view name);

  // Every version of every service.
  virtual absl::StatusOr<std::vector<Service>> ListServices() = 0;

  virtual absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options = {}) = 0;
};

// Limits of names, versions and node ids.
inline constexpr size_t kMaxNameLength = 128;

// InvalidArgument unless `name` is a valid service name: 1..kMaxNameLength
// bytes of printable ASCII without spaces or the NATS wildcards `*` and `>`.
absl::Status ValidateServiceName(absl::string_view name);

// Name and version (the version may be empty) and every node (an id, no
// spaces or wildcards in it).
absl::Status ValidateService(const Service& service);

// A node id's rules alone (as ValidateService checks them).
absl::Status ValidateNodeId(absl::string_view id);

}  // namespace micro_nats::registry

#endif  // MICRO_NATS_REGISTRY_REGISTRY_H_
