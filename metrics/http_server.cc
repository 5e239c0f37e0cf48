// Copyright 2026 The micro-nats Authors.

#include "metrics/http_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>

#include <exception>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::metrics {
namespace {

void Reply(mg_connection* connection, int code, absl::string_view reason,
           absl::string_view content_type, absl::string_view body) {
  const std::string head = absl::StrCat(
      "HTTP/1.1 ", code, " ", reason, "\r\nContent-Type: ", content_type,
      "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
  mg_write(connection, head.data(), head.size());
  mg_write(connection, body.data(), body.size());
}

constexpr absl::string_view kText = "text/plain; charset=utf-8";

}  // namespace

absl::Status ValidateHttpAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP address '", address, "' is not ip:port (e.g. 127.0.0.1:9464)"));
  }
  absl::string_view host = address.substr(0, colon);
  absl::string_view port = address.substr(colon + 1);
  int number = 0;
  if (port.empty() || !absl::c_all_of(port, absl::ascii_isdigit) ||
      port.size() > 5 || !absl::SimpleAtoi(port, &number) || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP address '", address, "': the port must be 0..65535"));
  }
  unsigned char buffer[16];
  bool ok = false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    std::string inner(host.substr(1, host.size() - 2));
    ok = inet_pton(AF_INET6, inner.c_str(), buffer) == 1;
  } else {
    ok = inet_pton(AF_INET, std::string(host).c_str(), buffer) == 1;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address '", address,
                     "': the host must be an IPv4 address or a bracketed "
                     "IPv6 one (no names)"));
  }
  return absl::OkStatus();
}

class HttpServer::Handler : public CivetHandler {
 public:
  explicit Handler(std::function<void(mg_connection*)> serve)
      : serve_(std::move(serve)) {}
  bool handleGet(CivetServer*, mg_connection* connection) override {
    // civetweb's threads are C: an exception must not reach them.
    try {
      serve_(connection);
    } catch (const std::exception& e) {
      Reply(connection, 500, "Internal Server Error", kText,
            absl::StrCat("internal error: ", e.what(), "\n"));
    } catch (...) {
      Reply(connection, 500, "Internal Server Error", kText,
            "internal error\n");
    }
    return true;
  }

 private:
  const std::function<void(mg_connection*)> serve_;
};

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)) {}

HttpServer::~HttpServer() {
  // Joins civetweb's threads before the handlers they call go.
  server_.reset();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerOptions options) {
  if (absl::Status valid = ValidateHttpAddress(options.address); !valid.ok()) {
    return valid;
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError("HTTP server: threads must be >= 1");
  }
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options.request_timeout);
  if (timeout_ms < 1) {
    return absl::InvalidArgumentError(
        "HTTP server: request_timeout must be at least 1 ms");
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options)));
  const HttpServerOptions& o = server->options_;
  server->metrics_ = std::make_unique<Handler>([&o](mg_connection* c) {
    if (!o.metrics) {
      Reply(c, 404, "Not Found", kText, "not found\n");
      return;
    }
    Reply(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
          o.metrics());
  });
  server->healthz_ = std::make_unique<Handler>(
      [](mg_connection* c) { Reply(c, 200, "OK", kText, "ok\n"); });
  server->readyz_ = std::make_unique<Handler>([&o](mg_connection* c) {
    absl::Status ready = o.ready ? o.ready() : absl::OkStatus();
    if (ready.ok()) {
      Reply(c, 200, "OK", kText, "ready\n");
    } else {
      Reply(c, 503, "Service Unavailable", kText,
            absl::StrCat("not ready: ", ready.message(), "\n"));
    }
  });
  server->not_found_ = std::make_unique<Handler>([](mg_connection* c) {
    Reply(c, 404, "Not Found", kText, "not found\n");
  });
  std::vector<std::string> civet_options = {
      "listening_ports", o.address, "num_threads", absl::StrCat(o.threads),
      "request_timeout_ms", absl::StrCat(timeout_ms),
      // No files: only the handlers below answer.
      "enable_directory_listing", "no"};
  try {
    server->server_ = std::make_unique<CivetServer>(civet_options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", o.address, ": ", e.what()));
  }
  // Exact paths ("$": civetweb matches prefixes otherwise).
  server->server_->addHandler("/metrics$", server->metrics_.get());
  server->server_->addHandler("/healthz$", server->healthz_.get());
  server->server_->addHandler("/readyz$", server->readyz_.get());
  server->server_->addHandler("/", server->not_found_.get());
  std::vector<int> ports = server->server_->getListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", o.address, ": no port"));
  }
  server->port_ = ports.front();
  return server;
}

}  // namespace micro_nats::metrics
