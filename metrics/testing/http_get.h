// Copyright 2026 The micro-nats Authors.
//
// http_get.h: the metrics tests' HTTP client (a plain socket: GET, read to
// the end), a free loopback port, the Prometheus text parsed by
// python3-prometheus-client's own parser (Debian's, under /usr/bin/python3),
// and sums and label values over what it read.

#ifndef MICRO_NATS_METRICS_TESTING_HTTP_GET_H_
#define MICRO_NATS_METRICS_TESTING_HTTP_GET_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace micro_nats::metrics::testing {

struct HttpResponse {
  int code = 0;
  std::string body;
};

// GET `path` from 127.0.0.1:`port`, by `timeout`.
absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path,
                                     absl::Duration timeout = absl::Seconds(5));

// A loopback port nothing listens on now (bound to 0 and let go).
absl::StatusOr<int> FreePort();

// Each sample of `text` as "name{k="v",...}" (labels sorted) -> value, as
// prometheus_client.parser.text_string_to_metric_families reads it; an
// error when it does not parse.
absl::StatusOr<std::map<std::string, double>> ParseWithPrometheusClient(
    absl::string_view text);

// The sum of the samples named `name` whose key holds every string of
// `want` (`code="200"`, `rpc_method="Greeter.Hello"`...).
double SumOf(const std::map<std::string, double>& samples,
             absl::string_view name, const std::vector<std::string>& want = {});

// The distinct values of `label` among the samples named `name`.
std::set<std::string> LabelValues(const std::map<std::string, double>& samples,
                                  absl::string_view name,
                                  absl::string_view label);

}  // namespace micro_nats::metrics::testing

#endif  // MICRO_NATS_METRICS_TESTING_HTTP_GET_H_
