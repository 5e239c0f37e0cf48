// Copyright 2026 The micro-nats Authors.
//
// http_server.h: the HTTP endpoint operators scrape and probe, on
// civetweb, one address:
//
//   GET /metrics  the Prometheus text format (0.0.4)
//   GET /healthz  200 "ok" while the process serves HTTP at all
//   GET /readyz   200 "ready" while `ready` says OK, else 503 with its
//                 reason (a load balancer or Kubernetes stops sending)
//
// Anything else is 404. Requests are served by a small fixed pool of
// civetweb threads (`threads`), never a thread per connection; a client
// that sends nothing is dropped after `request_timeout`, so a few idle
// connections hold /readyz up for that long at most. A handler that throws
// answers 500 (nothing escapes into civetweb's C threads). Expose the port
// to the scraper and the probes only.

#ifndef MICRO_NATS_METRICS_HTTP_SERVER_H_
#define MICRO_NATS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

class CivetServer;

namespace micro_nats::metrics {

struct HttpServerOptions {
  // "ip:port": an IPv4 address ("127.0.0.1:9464", "0.0.0.0:9464" for
  // every interface) or a bracketed IPv6 one ("[::1]:9464"). Port 0: a
  // free one (port() says which).
  std::string address;
  // The /metrics body; null: /metrics is 404.
  std::function<std::string()> metrics;
  // /readyz: OK is ready; null: always ready.
  std::function<absl::Status()> ready;
  // The responses are tiny: a few threads, and a short timeout so idle
  // connections cannot keep probes waiting past a kubelet's.
  int threads = 4;
  absl::Duration request_timeout = absl::Seconds(2);
};

// OK for an address HttpServerOptions::address accepts, else
// InvalidArgument saying why.
absl::Status ValidateHttpAddress(absl::string_view address);

// HttpServer
//
// Thread-safe.
class HttpServer {
 public:
  // Listens and serves at once. InvalidArgument for a bad address or
  // option; Unavailable when it cannot listen there (in use, not ours).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerOptions options);
  // Stops listening and waits for the requests in progress.
  ~HttpServer();

  // The port it listens on.
  int port() const { return port_; }

 private:
  class Handler;
  explicit HttpServer(HttpServerOptions options);

  const HttpServerOptions options_;
  std::unique_ptr<Handler> metrics_;
  std::unique_ptr<Handler> healthz_;
  std::unique_ptr<Handler> readyz_;
  std::unique_ptr<Handler> not_found_;
  std::unique_ptr<CivetServer> server_;  // last: stopped first
  int port_ = 0;
};

}  // namespace micro_nats::metrics

#endif  // MICRO_NATS_METRICS_HTTP_SERVER_H_
