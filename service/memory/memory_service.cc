// Copyright 2026 The micro-nats Authors.

#include "service/memory/memory_service.h"

#include <google/protobuf/descriptor.h>

#include <utility>

#include "events/memory/memory_events.h"
#include "registry/memory/memory_registry.h"
#include "service/memory/scatter_wire.h"
#include "status/status_macros.h"
#include "transport/memory/memory_transport.h"

namespace micro_nats::service {

std::shared_ptr<MemoryNetwork> NewMemoryNetwork() {
  // As in NewNatsService: the descriptor pool made before our threads.
  google::protobuf::DescriptorPool::generated_pool();
  auto network = std::make_shared<MemoryNetwork>();
  // The memory registry cannot fail to watch.
  network->registry =
      registry::CachingRegistry::Create(registry::NewMemoryRegistry()).value();
  network->transport = transport::NewMemoryTransport();
  network->bus = broker::NewMemoryBus();
  network->scatter = NewMemoryScatterWire();
  // Its threads start with the first event; with no streams given it
  // cannot fail.
  network->events = events::NewMemoryEvents().value();
  return network;
}

absl::StatusOr<std::unique_ptr<Service>> NewMemoryService(
    MemoryServiceOptions options) {
  static const std::shared_ptr<MemoryNetwork>* const process_network =
      new std::shared_ptr<MemoryNetwork>(NewMemoryNetwork());
  std::shared_ptr<MemoryNetwork> network =
      options.network != nullptr ? options.network : *process_network;
  // The caller's thread runs the handler while the server has room: a call
  // costs no thread hand-off.
  options.server.listen.inline_handlers = true;
  if (options.observer != nullptr) {
    options.server.observer = CombineObservers(
        {std::move(options.server.observer), options.observer});
    options.client.observer = CombineObservers(
        {std::move(options.client.observer), options.observer});
  }
  return Service::Create({.identity = std::move(options.identity),
                          .registry = network->registry,
                          .transport = network->transport,
                          .broker = broker::NewMemoryBroker({}, network->bus),
                          .events = options.events != nullptr
                                        ? std::move(options.events)
                                        : network->events,
                          .server = std::move(options.server),
                          .client = std::move(options.client),
                          .scatter_wire = network->scatter,
                          .scatter = std::move(options.scatter)});
}

}  // namespace micro_nats::service
