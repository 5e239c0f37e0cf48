// Copyright 2026 The micro-nats Authors.
//
// observer.h: a service::Observer (service/observer.h) that reports every
// call, stream, broker message and durable event a client and server see
// to a Metrics, under OpenTelemetry's RPC and messaging names as
// Prometheus spells them:
//
//   rpc_server_duration_seconds        histogram  rpc_service, rpc_method, code
//   rpc_server_requests_total          counter    rpc_service, rpc_method, code
//   rpc_server_in_flight_requests      gauge      rpc_service, rpc_method
//   rpc_server_stream_duration_seconds histogram  rpc_service, rpc_method, code
//   rpc_client_duration_seconds        histogram  rpc_service, rpc_method, code
//   rpc_client_requests_total          counter    rpc_service, rpc_method, code
//   rpc_client_attempts_total          counter    rpc_service, rpc_method, code
//   rpc_client_stream_duration_seconds histogram  rpc_service, rpc_method, code
//   messaging_publish_duration_seconds histogram  messaging_system,
//   messaging_process_duration_seconds histogram    messaging_destination_name,
//                                                   code
//   and a counter for each service::Counter something reports
//   ({rpc_service}): rpc_client_retries_total, rpc_client_evictions_total,
//   rpc_client_retry_budget_exhausted_total, rpc_client_outcome_unknown_total,
//   rpc_client_hedges_total, rpc_client_breaker_opened_total,
//   rpc_server_refused_total, rpc_server_expired_in_queue_total.
//   The other counters (lookups, drops, slow consumers, sockets,
//   reconnects) have no family: nothing reports them yet, and a family
//   that is always empty would promise what is not measured. Lookups and
//   reconnects are read at scrape time instead (service_metrics.h:
//   micro_registry_*; service/nats: nats_connection_reconnects_total).
//
// `code` is go-micro's HTTP-like code (service/errors.h): "200" for OK,
// "404", "408", "429", "503"... `messaging_system` is "broker" (Publish,
// Subscribe) or "events" (Emit, Consume). Label values are bounded by the
// families (metrics.h); the server reports an endpoint it does not have as
// "unknown".
//
// Per call: once the (service, method) pair was seen on a thread, no
// string is built and no map is written; a call takes the histogram's own
// short lock and a few atomic adds.

#ifndef MICRO_NATS_METRICS_OBSERVER_H_
#define MICRO_NATS_METRICS_OBSERVER_H_

#include <memory>

#include "metrics/metrics.h"
#include "service/observer.h"

namespace micro_nats::metrics {

// Null `metrics`: NewNoopMetrics().
std::shared_ptr<service::Observer> NewMetricsObserver(
    std::shared_ptr<Metrics> metrics);

}  // namespace micro_nats::metrics

#endif  // MICRO_NATS_METRICS_OBSERVER_H_
