// Copyright 2026 The micro-nats Authors.
//
// micro: the command-line tool for services on NATS — list, describe, call,
// stream, publish, subscribe, watch, health and stats, for go-micro and
// micro-nats services (the NATS registry) and NATS Service API services
// (`$SRV`; they have no streams).
//
//   micro services
//   micro call greeter Greeter.Hello '{"name": "x"}'
//   micro stream greeter Greeter.Repeat '{"name": "x", "times": 3}'
//
// `micro help` lists the commands; `micro COMMAND --help` explains one.
// Every network wait has a deadline (--timeout); exit code 0 on success, 1
// when the command failed, 2 for bad usage.

#include <nats/nats.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "events/events.h"
#include "events/jetstream/jetstream_events.h"
#include "nats/connection.h"
#include "nats/message.h"
#include "registry/kv/kv_registry.h"
#include "registry/nats/nats_registry.h"
#include "registry/srv/srv_registry.h"
#include "service/nats/nats_service.h"
#include "srv/protocol.h"
#include "status/status_macros.h"
#include "subject/subject.h"
#include "tools/internal/terminal.h"

ABSL_FLAG(std::string, server, "",
          "NATS server URL(s), comma-separated (default: $MICRO_NATS_ADDRESS, "
          "else nats://127.0.0.1:4222)");
ABSL_FLAG(std::string, user, "", "NATS user");
ABSL_FLAG(std::string, password, "", "NATS password");
ABSL_FLAG(std::string, token, "", "NATS token");
ABSL_FLAG(std::string, inbox_prefix, "_INBOX",
          "prefix of this tool's reply inboxes (see SECURITY.md)");
ABSL_FLAG(std::string, tls_ca, "", "PEM file of trusted CA certificates");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM client private key (mutual TLS)");
ABSL_FLAG(bool, json, false, "print JSON instead of a table");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "the longest any network wait takes (lookups, calls, pings, a "
          "whole stream)");
ABSL_FLAG(std::vector<std::string>, metadata, {},
          "call, stream: k=v pairs sent as headers (comma-separated)");
ABSL_FLAG(std::string, version, "",
          "call, stream: only instances of this version");
ABSL_FLAG(std::vector<std::string>, header, {},
          "publish: k=v headers (comma-separated)");
ABSL_FLAG(std::string, queue, "", "subscribe: join this queue group");
ABSL_FLAG(int, count, 0,
          "subscribe, watch, events consume: stop after this many (0: until "
          "interrupted)");
ABSL_FLAG(absl::Duration, duration, absl::InfiniteDuration(),
          "subscribe, watch, events consume: stop after this long");
ABSL_FLAG(std::string, registry, "nats",
          "where micro-nats and go-micro services register: nats (broadcast, "
          "go-micro's NATS registry) or kv (a JetStream key-value bucket, "
          "registry/kv)");
ABSL_FLAG(std::string, bucket, "micro-registry",
          "--registry kv: the key-value bucket");
ABSL_FLAG(std::string, group, "",
          "events consume: the durable group (empty: an ephemeral consumer); "
          "events info: the group to show");
ABSL_FLAG(std::string, start, "",
          "events consume: where a new group starts: new, all, seq:N or "
          "time:RFC3339 (an existing group resumes; required for a new one)");
ABSL_FLAG(absl::Duration, ack_wait, absl::Seconds(30),
          "events consume: the group's ack wait (must be the group's)");
ABSL_FLAG(std::string, stream, "",
          "events: declare this stream (with --subjects; created when "
          "missing); empty: use the server's streams holding the topic");
ABSL_FLAG(std::vector<std::string>, subjects, {},
          "events: the subjects of --stream (comma-separated)");
ABSL_FLAG(std::string, dedup_id, "",
          "events publish: de-duplication id (Nats-Msg-Id)");

namespace micro_nats::tools {
namespace {

using Json = nlohmann::json;
using ::micro_nats::tools_internal::TerminalSafe;

// JSON output: non-ASCII as \u escapes (so no control character reaches
// the terminal raw) and invalid UTF-8 from the wire replaced, not thrown.
std::string Dump(const Json& json) {
  return json.dump(2, ' ', /*ensure_ascii=*/true,
                   Json::error_handler_t::replace);
}

struct Command {
  const char* name;
  const char* args;
  const char* help;
  int (*run)(const std::vector<std::string>& args);
};

std::atomic<bool> interrupted{false};

// Messages `subscribe` holds for printing before it drops (and counts) more.
constexpr size_t kMaxWaitingLines = 10000;

void OnSignal(int) { interrupted = true; }

int Fail(const std::string& message) {
  // Error details may quote what a peer sent.
  std::cerr << "micro: " << TerminalSafe(message) << "\n";
  return 1;
}

int Usage(const std::string& message) {
  std::cerr << "micro: " << TerminalSafe(message) << " (see micro help)\n";
  return 2;
}

std::vector<std::string> Servers() {
  std::string servers = absl::GetFlag(FLAGS_server);
  if (servers.empty()) {
    const char* env = std::getenv("MICRO_NATS_ADDRESS");
    servers = env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222";
  }
  return absl::StrSplit(servers, ',', absl::SkipWhitespace());
}

nats::ConnectionOptions ConnectionOptions() {
  nats::ConnectionOptions options{
      .servers = Servers(),
      .name = "micro-cli",
      .user = absl::GetFlag(FLAGS_user),
      .password = absl::GetFlag(FLAGS_password),
      .token = absl::GetFlag(FLAGS_token),
      .max_reconnect_attempts = 0,
      .inbox_prefix = absl::GetFlag(FLAGS_inbox_prefix)};
  if (!absl::GetFlag(FLAGS_tls_ca).empty() ||
      !absl::GetFlag(FLAGS_tls_cert).empty()) {
    options.tls = nats::TlsOptions{.ca_file = absl::GetFlag(FLAGS_tls_ca),
                                   .cert_file = absl::GetFlag(FLAGS_tls_cert),
                                   .key_file = absl::GetFlag(FLAGS_tls_key)};
  }
  options.connect_timeout =
      std::min(absl::GetFlag(FLAGS_timeout), absl::Seconds(5));
  return options;
}

absl::StatusOr<std::shared_ptr<nats::Connection>> Connect() {
  return nats::Connection::Connect(ConnectionOptions());
}

// k=v pairs; InvalidArgument naming the one without '='.
absl::StatusOr<std::map<std::string, std::string>> Pairs(
    const std::vector<std::string>& pairs, const char* flag) {
  std::map<std::string, std::string> out;
  for (const std::string& pair : pairs) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " wants k=v, not '", pair, "'"));
    }
    out[kv[0]] = kv[1];
  }
  return out;
}

// True for --registry kv; InvalidArgument for a value that is neither.
absl::StatusOr<bool> KvRegistryFlag() {
  const std::string registry = absl::GetFlag(FLAGS_registry);
  if (registry == "kv") return true;
  if (registry == "nats") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--registry is nats or kv, not '", registry, "'"));
}

// The registry of --registry on `conn`: broadcast lookups wait at most a
// second for answers; a key-value replica waits up to --timeout for its
// initial values (Unavailable without JetStream, never "no services").
absl::StatusOr<std::unique_ptr<registry::Registry>> OpenRegistry(
    std::shared_ptr<nats::Connection> conn) {
  MN_ASSIGN_OR_RETURN(const bool kv, KvRegistryFlag());
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (kv) {
    return registry::NewKvRegistry(
        std::move(conn),
        {.bucket = absl::GetFlag(FLAGS_bucket),
         .request_timeout = std::min(timeout, absl::Seconds(2)),
         .load_wait = timeout});
  }
  return registry::NewNatsRegistry(
      std::move(conn), {.timeout = std::min(timeout, absl::Seconds(1))});
}

// A lookup's registries: go-micro's (or the key-value bucket) and the NATS
// Service API.
struct Registries {
  std::shared_ptr<nats::Connection> conn;
  std::unique_ptr<registry::Registry> micro;
  std::unique_ptr<registry::Registry> srv;
};

absl::StatusOr<Registries> OpenRegistries() {
  Registries r;
  auto conn = Connect();
  if (!conn.ok()) return conn.status();
  r.conn = *conn;
  const absl::Duration timeout =
      std::min(absl::GetFlag(FLAGS_timeout), absl::Seconds(1));
  auto micro = OpenRegistry(r.conn);
  if (!micro.ok()) return micro.status();
  r.micro = std::move(micro).value();
  auto srv = registry::NewSrvRegistry(r.conn, {.timeout = timeout});
  if (!srv.ok()) return srv.status();
  r.srv = std::move(srv).value();
  return r;
}

// Every version of `name` from both registries; nodes of the NATS registry
// win over the same ids seen through `$SRV`.
absl::StatusOr<std::vector<registry::Service>> Find(Registries& r,
                                                    const std::string& name) {
  MN_RETURN_IF_ERROR(registry::ValidateServiceName(name));
  auto micro = r.micro->GetService(name);
  if (!micro.ok() && !absl::IsNotFound(micro.status())) return micro.status();
  auto srv = r.srv->GetService(name);
  std::vector<registry::Service> all =
      micro.ok() ? *micro : std::vector<registry::Service>{};
  std::set<std::string> ids;
  for (const auto& s : all) {
    for (const auto& n : s.nodes) ids.insert(n.id);
  }
  if (srv.ok()) {
    for (registry::Service s : *srv) {
      std::vector<registry::Node> nodes;
      for (const auto& n : s.nodes) {
        if (ids.count(n.id) == 0) nodes.push_back(n);
      }
      if (nodes.empty()) continue;
      s.nodes = std::move(nodes);
      all.push_back(std::move(s));
    }
  }
  if (all.empty()) {
    return absl::NotFoundError(absl::StrCat("service '", name, "' not found"));
  }
  return all;
}

// Cells come from the network: escaped before they are measured.
void PrintTable(std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows) {
    for (std::string& cell : row) cell = TerminalSafe(cell);
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int Services(const std::vector<std::string>& args) {
  if (!args.empty()) return Usage("services takes no arguments");
  auto r = OpenRegistries();
  if (!r.ok()) return Fail(std::string(r.status().message()));
  auto micro = r->micro->ListServices();
  if (!micro.ok()) return Fail(std::string(micro.status().message()));
  auto srv = r->srv->ListServices();
  struct Row {
    std::set<std::string> versions;
    std::set<std::string> ids;
    std::set<std::string> sources;
  };
  std::map<std::string, Row> rows;
  for (const auto& s : *micro) {
    Row& row = rows[s.name];
    row.versions.insert(s.version.empty() ? "-" : s.version);
    for (const auto& n : s.nodes) row.ids.insert(n.id);
    row.sources.insert(absl::GetFlag(FLAGS_registry) == "kv" ? "kv"
                                                             : "registry");
  }
  if (srv.ok()) {
    for (const auto& s : *srv) {
      Row& row = rows[s.name];
      row.versions.insert(s.version.empty() ? "-" : s.version);
      for (const auto& n : s.nodes) row.ids.insert(n.id);
      row.sources.insert("$SRV");
    }
  }
  if (absl::GetFlag(FLAGS_json)) {
    Json out = Json::array();
    for (const auto& [name, row] : rows) {
      out.push_back({{"name", name},
                     {"versions", row.versions},
                     {"instances", row.ids.size()},
                     {"found_through", row.sources}});
    }
    std::cout << Dump(out) << "\n";
    return 0;
  }
  if (rows.empty()) {
    std::cout << "no services\n";
    return 0;
  }
  std::vector<std::vector<std::string>> table = {
      {"NAME", "VERSIONS", "INSTANCES", "FOUND THROUGH"}};
  for (const auto& [name, row] : rows) {
    table.push_back({name, absl::StrJoin(row.versions, ","),
                     absl::StrCat(row.ids.size()),
                     absl::StrJoin(row.sources, ",")});
  }
  PrintTable(table);
  return 0;
}

std::string DescribeValue(const registry::Value& value, int depth) {
  std::string out;
  for (const auto& field : value.values) {
    absl::StrAppend(&out, std::string(depth * 2, ' '), TerminalSafe(field.name),
                    " ", TerminalSafe(field.type), "\n",
                    DescribeValue(field, depth + 1));
  }
  return out;
}

int Describe(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("describe takes a service name");
  auto r = OpenRegistries();
  if (!r.ok()) return Fail(std::string(r.status().message()));
  auto found = Find(*r, args[0]);
  if (!found.ok()) return Fail(std::string(found.status().message()));
  for (const registry::Service& s : *found) {
    std::cout << "service " << TerminalSafe(s.name) << ", version "
              << (s.version.empty() ? "-" : TerminalSafe(s.version)) << "\n";
    for (const auto& [k, v] : s.metadata) {
      std::cout << "  metadata " << TerminalSafe(k) << "=" << TerminalSafe(v)
                << "\n";
    }
    std::cout << "  instances:\n";
    for (const registry::Node& n : s.nodes) {
      std::vector<std::string> meta;
      for (const auto& [k, v] : n.metadata) meta.push_back(k + "=" + v);
      std::cout << "    " << TerminalSafe(n.id) << "  "
                << (n.address.empty() ? "-" : TerminalSafe(n.address)) << "  "
                << TerminalSafe(absl::StrJoin(meta, ",")) << "\n";
    }
    std::cout << "  endpoints:\n";
    for (const registry::Endpoint& e : s.endpoints) {
      std::cout << "    " << TerminalSafe(e.name);
      if (auto it = e.metadata.find(srv::kSubjectMetadata);
          it != e.metadata.end()) {
        std::cout << " (subject " << TerminalSafe(it->second) << ")";
      }
      if (auto it = e.metadata.find("stream");
          it != e.metadata.end() && it->second == "true") {
        std::cout << " (stream)";
      }
      std::cout << "\n";
      if (e.request) {
        std::cout << "      request " << TerminalSafe(e.request->type) << "\n"
                  << DescribeValue(*e.request, 4);
      }
      if (e.response) {
        std::cout << "      response " << TerminalSafe(e.response->type) << "\n"
                  << DescribeValue(*e.response, 4);
      }
    }
  }
  return 0;
}

// `text` as compact JSON, or InvalidArgument saying where it is not JSON.
absl::StatusOr<std::string> ParseJson(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed.dump();
  // Parse again to learn where it went wrong.
  try {
    Json again = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: at byte ", e.byte, ": ", e.what()));
  }
  return absl::InvalidArgumentError("not valid JSON");
}

// What `call` and `stream` print when the service answered with an error,
// or could not be reached: "<what> failed: CODE: detail".
int Failed(const char* what, const absl::Status& status) {
  return Fail(absl::StrCat(what,
                           " failed: ", absl::StatusCodeToString(status.code()),
                           ": ", status.message()));
}

// A JSON message to send (Content-Type set).
service::Message JsonMessage(std::string body) {
  service::Message message{.body = std::move(body)};
  message.headers["Content-Type"] = "application/json";
  return message;
}

// The answer's body as JSON on one line (`indent` -1) or indented; as
// text when it is not JSON. Escaped for the terminal either way.
std::string ShownBody(const std::string& body, int indent) {
  Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) return TerminalSafe(body);
  return json.dump(indent, ' ', /*ensure_ascii=*/true,
                   Json::error_handler_t::replace);
}

// The options of --timeout, --metadata and --version, for `call` and
// `stream`; InvalidArgument for bad --metadata.
absl::StatusOr<service::CallOptions> CallOptionsFromFlags() {
  MN_ASSIGN_OR_RETURN(auto metadata,
                      Pairs(absl::GetFlag(FLAGS_metadata), "metadata"));
  service::CallOptions options{.timeout = absl::GetFlag(FLAGS_timeout)};
  options.metadata = std::move(metadata);
  options.content_type = "application/json";
  if (!absl::GetFlag(FLAGS_version).empty()) {
    options.filters.push_back(
        service::FilterVersion(absl::GetFlag(FLAGS_version)));
  }
  return options;
}

// A caller on `conn` finding services in go-micro's registry (or, with
// kServiceApi, on the NATS Service API), speaking JSON.
absl::StatusOr<std::unique_ptr<service::Service>> Caller(
    std::shared_ptr<nats::Connection> conn,
    service::NatsServiceOptions::Discovery discovery =
        service::NatsServiceOptions::Discovery::kMicroRegistry) {
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const absl::Duration lookup = std::min(timeout, absl::Seconds(1));
  service::NatsServiceOptions options{
      .identity = {.name = "micro-cli"},
      .connection = std::move(conn),
      .discovery = discovery,
      .client = {.timeout = timeout, .content_type = "application/json"}};
  if (discovery == service::NatsServiceOptions::Discovery::kServiceApi) {
    options.srv_registry.timeout = lookup;
  } else if (discovery == service::NatsServiceOptions::Discovery::kKeyValue) {
    options.kv_registry.bucket = absl::GetFlag(FLAGS_bucket);
    options.kv_registry.load_wait = timeout;
    options.service_api.enabled = false;
  } else {
    options.registry.timeout = lookup;
    options.service_api.enabled = false;
  }
  return service::NewNatsService(std::move(options));
}

// What `call` and `stream` start from: the flags' options, a connection
// and a caller on it.
struct Calling {
  service::CallOptions options;
  std::shared_ptr<nats::Connection> conn;
  std::unique_ptr<service::Service> caller;
};

// Calling, or nullopt with the exit code in `exit_code` (said why).
std::optional<Calling> StartCalling(int* exit_code) {
  auto options = CallOptionsFromFlags();
  if (!options.ok()) {
    *exit_code = Usage(std::string(options.status().message()));
    return std::nullopt;
  }
  auto conn = Connect();
  if (!conn.ok()) {
    *exit_code = Fail(std::string(conn.status().message()));
    return std::nullopt;
  }
  auto kv = KvRegistryFlag();
  if (!kv.ok()) {
    *exit_code = Usage(std::string(kv.status().message()));
    return std::nullopt;
  }
  auto caller = Caller(
      *conn, *kv ? service::NatsServiceOptions::Discovery::kKeyValue
                 : service::NatsServiceOptions::Discovery::kMicroRegistry);
  if (!caller.ok()) {
    *exit_code = Fail(std::string(caller.status().message()));
    return std::nullopt;
  }
  return Calling{.options = *std::move(options),
                 .conn = *std::move(conn),
                 .caller = *std::move(caller)};
}

int Call(const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 3) {
    return Usage("call takes a service, an endpoint and a JSON body");
  }
  std::string body;
  if (args.size() == 3 && args[2] != "-") {
    body = args[2];
  } else {
    body.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
  }
  auto parsed = ParseJson(body);
  if (!parsed.ok()) {
    return Fail(absl::StrCat("the body is ", parsed.status().message()));
  }
  int exit_code = 0;
  std::optional<Calling> calling = StartCalling(&exit_code);
  if (!calling) return exit_code;
  const service::Message request = JsonMessage(*std::move(parsed));
  auto answer = calling->caller->client().CallRaw(args[0], args[1], request,
                                                  calling->options);
  if (absl::IsNotFound(answer.status()) &&
      absl::StrContains(answer.status().message(), "not found")) {
    // Not in go-micro's registry: perhaps a NATS Service API service.
    auto srv_service = Caller(
        calling->conn, service::NatsServiceOptions::Discovery::kServiceApi);
    if (srv_service.ok()) {
      auto again = (*srv_service)
                       ->client()
                       .CallRaw(args[0], args[1], request, calling->options);
      if (!absl::IsNotFound(again.status()) ||
          !absl::StrContains(again.status().message(), "' not found")) {
        answer = std::move(again);
      }
    }
  }
  if (!answer.ok()) return Failed("call", answer.status());
  std::cout << ShownBody(answer->body, 2) << "\n";
  return 0;
}

// Lines of standard input as they come: Next waits for one only until a
// deadline, so the caller can see SIGINT and the stream's end meanwhile.
class InputLines {
 public:
  enum class Got { kLine, kNotYet, kEnd };

  // One line (without its newline) into `line`; kNotYet when none came by
  // `until`; kEnd after the last. ResourceExhausted for a line over
  // kMaxLine bytes.
  absl::StatusOr<Got> Next(absl::Time until, std::string* line) {
    for (;;) {
      if (size_t end = buffer_.find('\n'); end != std::string::npos) {
        line->assign(buffer_, 0, end);
        buffer_.erase(0, end + 1);
        return Got::kLine;
      }
      if (buffer_.size() > kMaxLine) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "a line of standard input is over ", kMaxLine, " bytes"));
      }
      if (ended_) {
        if (buffer_.empty()) return Got::kEnd;
        *line = std::move(buffer_);
        buffer_.clear();
        return Got::kLine;
      }
      const absl::Duration left =
          std::max(until - absl::Now(), absl::ZeroDuration());
      pollfd input{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
      const int ready =
          poll(&input, 1, static_cast<int>(absl::ToInt64Milliseconds(left)));
      if (ready == 0 || (ready < 0 && errno == EINTR)) return Got::kNotYet;
      if (ready < 0) return absl::ErrnoToStatus(errno, "poll standard input");
      char chunk[1 << 16];
      const ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) return Got::kNotYet;
      if (n < 0) return absl::ErrnoToStatus(errno, "read standard input");
      if (n == 0) ended_ = true;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  static constexpr size_t kMaxLine = 16 << 20;
  std::string buffer_;
  bool ended_ = false;
};

// How often the stream's loops look at SIGINT.
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);

// Prints each response of `stream` as a line of JSON until its end: OK
// when it ended cleanly, else what ended it. SIGINT cancels it.
absl::Status PrintResponses(service::ClientStream& stream) {
  for (;;) {
    if (interrupted) {
      stream.Cancel();
      return absl::CancelledError("interrupted");
    }
    absl::StatusOr<service::Message> response =
        stream.Recv(absl::Now() + kPollInterval);
    if (response.ok()) {
      std::cout << ShownBody(response->body, -1) << std::endl;
      continue;
    }
    if (absl::IsOutOfRange(response.status())) return absl::OkStatus();
    if (absl::IsDeadlineExceeded(response.status()) &&
        absl::Now() < stream.deadline()) {
      continue;  // only this wait's
    }
    return response.status();
  }
}

// Sends the requests: `bodies`, or each line of standard input when
// `from_input`; returns what stopped it early (OK: all were sent).
// `ended` says the stream ended (stop reading input).
absl::Status SendRequests(service::ClientStream& stream,
                          const std::vector<std::string>& bodies,
                          bool from_input, const std::atomic<bool>& ended) {
  if (!from_input) {
    for (const std::string& body : bodies) {
      MN_RETURN_IF_ERROR(stream.Send(JsonMessage(body)));
    }
    return absl::OkStatus();
  }
  InputLines input;
  std::string line;
  for (int number = 1; !interrupted && !ended; ++number) {
    MN_ASSIGN_OR_RETURN(InputLines::Got got,
                        input.Next(absl::Now() + kPollInterval, &line));
    if (got == InputLines::Got::kEnd) break;
    if (got == InputLines::Got::kNotYet ||
        absl::StripAsciiWhitespace(line).empty()) {
      --number;
      continue;
    }
    auto parsed = ParseJson(line);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, " of standard input is ",
                       parsed.status().message()));
    }
    MN_RETURN_IF_ERROR(stream.Send(JsonMessage(*std::move(parsed))));
  }
  if (interrupted) {
    stream.Cancel();
    return absl::CancelledError("interrupted");
  }
  return absl::OkStatus();
}

int Stream(const std::vector<std::string>& args) {
  if (args.size() < 2) {
    return Usage("stream takes a service, an endpoint and JSON requests");
  }
  const bool from_input =
      args.size() == 2 || (args.size() == 3 && args[2] == "-");
  std::vector<std::string> bodies;
  for (size_t i = 2; !from_input && i < args.size(); ++i) {
    auto parsed = ParseJson(args[i]);
    if (!parsed.ok()) {
      return Fail(
          absl::StrCat("request ", i - 1, " is ", parsed.status().message()));
    }
    bodies.push_back(*std::move(parsed));
  }
  int exit_code = 0;
  std::optional<Calling> calling = StartCalling(&exit_code);
  if (!calling) return exit_code;
  // --timeout bounds the whole stream, as it does a call.
  auto stream = calling->caller->client().StreamRaw(
      args[0], args[1], {.call = std::move(calling->options)});
  if (!stream.ok()) return Failed("stream", stream.status());
  // Responses are printed as they come, while requests are still sent:
  // a peer answering each request could otherwise fill both windows.
  std::atomic<bool> ended{false};
  absl::Status received;
  std::thread printer([&] {
    received = PrintResponses(**stream);
    ended = true;
  });
  absl::Status sent = SendRequests(**stream, bodies, from_input, ended);
  // Half-closed, not cancelled, whatever stopped the sending: the
  // responses to what was sent are still printed, and when the handler
  // failed, that is what Recv reports.
  (*stream)->CloseSend().IgnoreError();
  printer.join();
  if (!received.ok() && interrupted)
    return Fail("stream cancelled: interrupted");
  if (!received.ok()) return Failed("stream", received);
  // OutOfRange: the handler returned OK before reading every request.
  if (!sent.ok() && !absl::IsOutOfRange(sent)) return Failed("stream", sent);
  return 0;
}

int Publish(const std::vector<std::string>& args) {
  if (args.size() != 2) return Usage("publish takes a topic and a payload");
  auto headers = Pairs(absl::GetFlag(FLAGS_header), "header");
  if (!headers.ok()) return Usage(std::string(headers.status().message()));
  auto conn = Connect();
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  Headers h(headers->begin(), headers->end());
  absl::Status sent = (*conn)->Publish(args[0], args[1], {.headers = h});
  if (sent.ok()) sent = (*conn)->Flush(absl::GetFlag(FLAGS_timeout));
  if (!sent.ok()) return Fail(std::string(sent.message()));
  std::cout << "published " << args[1].size() << " bytes to " << args[0]
            << "\n";
  return 0;
}

// Runs until --count things were seen, --duration passed, or SIGINT.
template <typename Next>
int Loop(Next next) {
  const int count = absl::GetFlag(FLAGS_count);
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  int seen = 0;
  while (!interrupted && (count == 0 || seen < count) && absl::Now() < end) {
    const absl::Time until =
        std::min(end, absl::Now() + absl::Milliseconds(200));
    absl::StatusOr<bool> got = next(until);
    if (!got.ok()) return Fail(std::string(got.status().message()));
    if (*got) ++seen;
  }
  return 0;
}

int Subscribe(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("subscribe takes a topic");
  auto conn = Connect();
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    int64_t dropped = 0;
  };
  auto inbox = std::make_shared<Inbox>();
  auto sub = (*conn)->Subscribe(
      args[0],
      [inbox](natsMsg* msg) {
        // Subjects, headers and bodies are whatever a publisher sent.
        std::string line =
            absl::StrCat("[", TerminalSafe(nats::Subject(msg)), "]");
        for (const auto& [k, v] : nats::ReadHeaders(msg)) {
          absl::StrAppend(&line, " ", TerminalSafe(k), "=", TerminalSafe(v));
        }
        absl::StrAppend(&line, " ", TerminalSafe(nats::Body(msg)));
        std::lock_guard<std::mutex> lock(inbox->mu);
        // A terminal slower than the publishers: drop, and say how many.
        if (inbox->lines.size() >= kMaxWaitingLines) {
          ++inbox->dropped;
          return;
        }
        inbox->lines.push_back(std::move(line));
        inbox->cv.notify_all();
      },
      {.queue = absl::GetFlag(FLAGS_queue)});
  if (!sub.ok()) return Fail(std::string(sub.status().message()));
  absl::Status flushed = (*conn)->Flush(absl::GetFlag(FLAGS_timeout));
  if (!flushed.ok()) return Fail(std::string(flushed.message()));
  std::cerr << "subscribed to " << args[0] << "\n";
  return Loop([&](absl::Time until) -> absl::StatusOr<bool> {
    std::unique_lock<std::mutex> lock(inbox->mu);
    inbox->cv.wait_for(lock, absl::ToChronoNanoseconds(until - absl::Now()),
                       [&] { return !inbox->lines.empty(); });
    if (inbox->dropped > 0) {
      std::cout << "(" << inbox->dropped
                << " messages dropped: printing fell behind)" << std::endl;
      inbox->dropped = 0;
    }
    if (inbox->lines.empty()) return false;
    std::cout << inbox->lines.front() << std::endl;
    inbox->lines.erase(inbox->lines.begin());
    return true;
  });
}

int Watch(const std::vector<std::string>& args) {
  if (args.size() > 1) return Usage("watch takes at most a service name");
  auto r = OpenRegistries();
  if (!r.ok()) return Fail(std::string(r.status().message()));
  auto watcher = r->micro->Watch({.service = args.empty() ? "" : args[0]});
  if (!watcher.ok()) return Fail(std::string(watcher.status().message()));
  std::cerr << "watching " << (args.empty() ? "every service" : args[0])
            << "\n";
  return Loop([&](absl::Time until) -> absl::StatusOr<bool> {
    auto event = (*watcher)->Next(until);
    if (absl::IsDeadlineExceeded(event.status())) return false;
    if (absl::IsResourceExhausted(event.status())) {
      std::cout << "(events were missed: "
                << TerminalSafe(event.status().message()) << ")" << std::endl;
      return false;
    }
    if (!event.ok()) return event.status();
    std::vector<std::string> ids;
    for (const auto& n : event->service.nodes) ids.push_back(n.id);
    std::cout << registry::EventTypeName(event->type) << " "
              << TerminalSafe(event->service.name) << " "
              << TerminalSafe(event->service.version) << " "
              << TerminalSafe(absl::StrJoin(ids, ",")) << std::endl;
    return true;
  });
}

// One `$SRV` request to one instance, answered within `timeout`.
absl::StatusOr<std::string> Request(nats::Connection& conn,
                                    const std::string& subject,
                                    absl::Duration timeout) {
  MN_ASSIGN_OR_RETURN(nats::NatsMsgPtr reply,
                      conn.Request(subject, "", {}, absl::Now() + timeout));
  return std::string(nats::Body(reply.get()));
}

int Health(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("health takes a service name");
  auto r = OpenRegistries();
  if (!r.ok()) return Fail(std::string(r.status().message()));
  auto found = Find(*r, args[0]);
  if (!found.ok()) return Fail(std::string(found.status().message()));
  int healthy = 0;
  int total = 0;
  for (const registry::Service& s : *found) {
    for (const registry::Node& n : s.nodes) {
      ++total;
      const absl::Time start = absl::Now();
      auto answer = Request(
          *r->conn,
          srv::ControlSubject(srv::Verb::kPing, srv::ToName(s.name), n.id),
          std::min(absl::GetFlag(FLAGS_timeout), absl::Seconds(2)));
      const absl::Duration rtt = absl::Now() - start;
      if (answer.ok()) {
        ++healthy;
        std::cout << TerminalSafe(n.id) << "  ok  "
                  << absl::FormatDuration(
                         absl::Trunc(rtt, absl::Microseconds(1)))
                  << "\n";
      } else {
        std::cout << TerminalSafe(n.id) << "  no answer ("
                  << TerminalSafe(answer.status().message()) << ")\n";
      }
    }
  }
  std::cout << healthy << " of " << total << " instances answered\n";
  return healthy > 0 ? 0 : 1;
}

int Stats(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("stats takes a service name");
  auto r = OpenRegistries();
  if (!r.ok()) return Fail(std::string(r.status().message()));
  auto found = Find(*r, args[0]);
  if (!found.ok()) return Fail(std::string(found.status().message()));
  std::vector<std::vector<std::string>> table = {
      {"INSTANCE", "ENDPOINT", "REQUESTS", "ERRORS", "AVERAGE", "P50", "P90",
       "P99", "TOTAL", "LAST ERROR"}};
  auto shown = [](absl::Duration d) {
    return absl::FormatDuration(absl::Trunc(d, absl::Microseconds(1)));
  };
  Json out = Json::array();
  for (const registry::Service& s : *found) {
    for (const registry::Node& n : s.nodes) {
      auto answer = Request(
          *r->conn,
          srv::ControlSubject(srv::Verb::kStats, srv::ToName(s.name), n.id),
          std::min(absl::GetFlag(FLAGS_timeout), absl::Seconds(2)));
      if (!answer.ok()) {
        table.push_back({n.id, "(no answer)"});
        continue;
      }
      auto stats = srv::DecodeStats(*answer);
      if (!stats.ok()) return Fail(std::string(stats.status().message()));
      out.push_back(Json::parse(*answer, nullptr, false));
      for (const srv::EndpointStats& e : stats->endpoints) {
        // Percentiles: micro-nats services send them (STATS data.latency,
        // from each endpoint's histogram); other libraries do not.
        const srv::LatencyData* latency =
            e.latency.has_value() && e.latency->count > 0 ? &*e.latency
                                                          : nullptr;
        table.push_back({n.id, e.name, absl::StrCat(e.num_requests),
                         absl::StrCat(e.num_errors),
                         shown(e.average_processing_time),
                         latency != nullptr ? shown(latency->p50) : "-",
                         latency != nullptr ? shown(latency->p90) : "-",
                         latency != nullptr ? shown(latency->p99) : "-",
                         shown(e.processing_time),
                         e.last_error.empty() ? "-" : e.last_error});
      }
    }
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << Dump(out) << "\n";
  } else {
    PrintTable(table);
  }
  return 0;
}

// --- micro events: durable events on JetStream (events/) -----------------

// --start as a Start; unset when empty.
absl::StatusOr<events::Start> StartFromFlag() {
  const std::string start = absl::GetFlag(FLAGS_start);
  if (start.empty()) return events::Start{};
  if (start == "new") return events::Start::New();
  if (start == "all") return events::Start::All();
  if (absl::StartsWith(start, "seq:")) {
    uint64_t seq = 0;
    if (absl::SimpleAtoi(start.substr(4), &seq) && seq > 0) {
      return events::Start::AtSequence(seq);
    }
  } else if (absl::StartsWith(start, "time:")) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(absl::RFC3339_full, start.substr(5), &time, &error)) {
      return events::Start::AtTime(time);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--start is new, all, seq:N (N >= 1) or time:RFC3339, not '",
                   start, "'"));
}

// The streams to declare for `topic`: --stream with --subjects, or the
// server's streams (as they are) holding the topic and its dead letters.
absl::StatusOr<std::vector<events::StreamConfig>> StreamsFor(
    nats::Connection& conn, const std::string& topic) {
  if (!absl::GetFlag(FLAGS_stream).empty()) {
    if (absl::GetFlag(FLAGS_subjects).empty()) {
      return absl::InvalidArgumentError("--stream needs --subjects");
    }
    return std::vector<events::StreamConfig>{
        {.name = absl::GetFlag(FLAGS_stream),
         .subjects = absl::GetFlag(FLAGS_subjects)}};
  }
  MN_ASSIGN_OR_RETURN(
      std::vector<events::StreamConfig> found,
      events::JetStreamStreams(
          conn, std::min(absl::GetFlag(FLAGS_timeout), absl::Seconds(5))));
  std::vector<events::StreamConfig> wanted;
  bool holds_topic = false;
  for (events::StreamConfig& config : found) {
    const std::vector<events::StreamConfig> one = {config};
    const bool topic_here = events::StreamFor(one, topic) != nullptr;
    holds_topic = holds_topic || topic_here;
    if (topic_here ||
        events::StreamFor(one, events::DeadLetterTopic({}, topic)) != nullptr) {
      wanted.push_back(std::move(config));
    }
  }
  if (!holds_topic) {
    return absl::NotFoundError(
        absl::StrCat("no stream holds topic ", topic,
                     ": declare one with --stream NAME --subjects PATTERN"));
  }
  return wanted;
}

// Events on a new connection, for `topic`; `on_error` gets asynchronous
// errors (handler results and dropped input).
struct EventsSession {
  std::shared_ptr<nats::Connection> conn;
  std::unique_ptr<events::Events> events;
};

absl::StatusOr<EventsSession> OpenEvents(
    const std::string& topic,
    std::function<void(const absl::Status&)> on_error = nullptr) {
  MN_RETURN_IF_ERROR(ValidateSubject(topic, SubjectKind::kPattern, "topic"));
  EventsSession session;
  MN_ASSIGN_OR_RETURN(session.conn, Connect());
  MN_ASSIGN_OR_RETURN(std::vector<events::StreamConfig> streams,
                      StreamsFor(*session.conn, topic));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  MN_ASSIGN_OR_RETURN(
      session.events,
      events::NewJetStreamEvents(
          session.conn, {.events = {.streams = std::move(streams),
                                    .publish_timeout = timeout,
                                    .handler_threads = 1,
                                    .on_error = std::move(on_error)},
                         .api_timeout = std::min(timeout, absl::Seconds(5))}));
  return session;
}

int EventsPublish(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    return Usage("events publish takes a topic and a JSON body (or -)");
  }
  auto headers = Pairs(absl::GetFlag(FLAGS_header), "header");
  if (!headers.ok()) return Usage(std::string(headers.status().message()));
  std::string body = args[1];
  if (body == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
  }
  auto parsed = ParseJson(body);
  if (!parsed.ok()) {
    return Fail(absl::StrCat("the body is ", parsed.status().message()));
  }
  auto session = OpenEvents(args[0]);
  if (!session.ok()) return Fail(std::string(session.status().message()));
  service::Message message = JsonMessage(*std::move(parsed));
  for (auto& [k, v] : *headers) message.headers[k] = v;
  auto seq = session->events->Publish(
      args[0], message, {.dedup_id = absl::GetFlag(FLAGS_dedup_id)});
  if (!seq.ok()) return Failed("publish", seq.status());
  std::cout << "stored " << args[0] << " as sequence " << *seq << "\n";
  return 0;
}

// One event as a line: sequence, delivery count, topic, body (JSON on one
// line, or text), escaped for the terminal.
std::string EventLine(const events::Event& e) {
  if (absl::GetFlag(FLAGS_json)) {
    Json line = {{"sequence", e.sequence},
                 {"delivery_count", e.delivery_count},
                 {"topic", e.topic},
                 {"timestamp", absl::FormatTime(absl::RFC3339_full, e.timestamp,
                                                absl::UTCTimeZone())},
                 {"headers", e.headers}};
    Json body = Json::parse(e.body, nullptr, false);
    line["body"] = body.is_discarded() ? Json(e.body) : body;
    return line.dump(-1, ' ', /*ensure_ascii=*/true,
                     Json::error_handler_t::replace);
  }
  return absl::StrCat(e.sequence, " ", e.delivery_count, " ",
                      TerminalSafe(e.topic), " ", ShownBody(e.body, -1));
}

int EventsConsume(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("events consume takes a topic");
  auto start = StartFromFlag();
  if (!start.ok()) return Usage(std::string(start.status().message()));
  const int count = absl::GetFlag(FLAGS_count);
  // Printed lines; past --count the handler hands the event back (a nak,
  // redelivered at once to the group) rather than print it.
  struct Printed {
    std::mutex mu;
    std::condition_variable cv;
    int lines = 0;
    bool stopping = false;
  };
  auto printed = std::make_shared<Printed>();
  const absl::Status kHandedBack =
      absl::UnavailableError("micro events consume: stopping");
  auto session = OpenEvents(args[0], [kHandedBack](const absl::Status& s) {
    if (!absl::StrContains(s.message(), kHandedBack.message())) {
      std::cerr << "micro: " << TerminalSafe(s.ToString()) << std::endl;
    }
  });
  if (!session.ok()) return Fail(std::string(session.status().message()));
  auto consumer = session->events->Consume(
      args[0],
      [printed, count, kHandedBack](const events::Event& e) -> absl::Status {
        std::unique_lock<std::mutex> lock(printed->mu);
        if (printed->stopping || (count > 0 && printed->lines >= count)) {
          // Held until the consumer stops, so it is handed back once, not
          // taken again meanwhile.
          printed->cv.wait_for(lock, std::chrono::seconds(5),
                               [&] { return printed->stopping; });
          return kHandedBack;
        }
        // Acknowledged when this returns: after the line is out.
        std::cout << EventLine(e) << std::endl;
        ++printed->lines;
        printed->cv.notify_all();
        return absl::OkStatus();
      },
      {.group = absl::GetFlag(FLAGS_group),
       .start = *start,
       // Its handler fails only to hand an event back: never dead-letter.
       .max_deliveries = INT_MAX,
       .backoff = {},
       .ack_wait = absl::GetFlag(FLAGS_ack_wait),
       // One at a time, in the stream's order.
       .max_in_flight = 1});
  if (!consumer.ok()) return Failed("consume", consumer.status());
  std::cerr << "consuming " << args[0]
            << (absl::GetFlag(FLAGS_group).empty()
                    ? std::string(" (ephemeral)")
                    : absl::StrCat(" as group ", absl::GetFlag(FLAGS_group)))
            << "\n";
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  {
    std::unique_lock<std::mutex> lock(printed->mu);
    while (!interrupted && absl::Now() < end &&
           (count == 0 || printed->lines < count)) {
      const absl::Time until =
          std::min(end, absl::Now() + absl::Milliseconds(200));
      printed->cv.wait_for(lock,
                           absl::ToChronoNanoseconds(until - absl::Now()));
    }
    printed->stopping = true;
    printed->cv.notify_all();
  }
  absl::Status stopped =
      (*consumer)->Stop(absl::Now() + absl::GetFlag(FLAGS_timeout));
  if (!stopped.ok()) return Failed("stop", stopped);
  // The last acknowledgement and the hand-back reach the server before the
  // connection goes (else the group waits ack_wait for them).
  absl::Status flushed = session->conn->Flush(absl::GetFlag(FLAGS_timeout));
  if (!flushed.ok()) return Failed("stop", flushed);
  return 0;
}

int EventsInfo(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("events info takes a topic");
  auto session = OpenEvents(args[0]);
  if (!session.ok()) return Fail(std::string(session.status().message()));
  auto info = session->events->Info(args[0], absl::GetFlag(FLAGS_group));
  if (!info.ok()) return Failed("info", info.status());
  if (absl::GetFlag(FLAGS_json)) {
    Json out = {{"stream", info->stream},
                {"first_sequence", info->first_sequence},
                {"last_sequence", info->last_sequence},
                {"messages", info->messages},
                {"bytes", info->bytes},
                {"dead_lettered", info->dead_lettered}};
    if (info->group) {
      out["group"] = {{"name", info->group->name},
                      {"pending", info->group->pending},
                      {"in_flight", info->group->in_flight},
                      {"redelivered", info->group->redelivered},
                      {"ack_floor", info->group->ack_floor}};
    }
    std::cout << Dump(out) << "\n";
    return 0;
  }
  std::cout << "stream " << TerminalSafe(info->stream) << ": " << info->messages
            << " events, " << info->bytes << " bytes, sequences "
            << info->first_sequence << ".." << info->last_sequence << "\n"
            << "dead-lettered ("
            << TerminalSafe(events::DeadLetterTopic({}, args[0]))
            << "): " << info->dead_lettered << "\n";
  if (info->group) {
    std::cout << "group " << TerminalSafe(info->group->name) << ": pending "
              << info->group->pending << ", in flight "
              << info->group->in_flight << ", redelivered "
              << info->group->redelivered << ", acknowledged up to "
              << info->group->ack_floor << "\n";
  }
  return 0;
}

int Events(const std::vector<std::string>& args) {
  const std::vector<std::string> rest =
      args.empty() ? args
                   : std::vector<std::string>(args.begin() + 1, args.end());
  if (!args.empty() && args[0] == "publish") return EventsPublish(rest);
  if (!args.empty() && args[0] == "consume") return EventsConsume(rest);
  if (!args.empty() && args[0] == "info") return EventsInfo(rest);
  return Usage("events takes publish, consume or info");
}

const std::vector<Command>& Commands() {
  static const auto* const kCommands = new std::vector<Command>{
      {"services", "",
       "registered services: name, versions, instances [--json]", Services},
      {"describe", "NAME",
       "versions, instances (id, address, metadata), endpoints (streams "
       "marked) and their request/response fields",
       Describe},
      {"call", "NAME ENDPOINT ['{json}'|-]",
       "call an endpoint with a JSON body (from stdin when absent or -); "
       "--timeout, --metadata k=v, --version",
       Call},
      {"stream", "NAME ENDPOINT ['{json}'...|-]",
       "open a stream: send each JSON request (each line of stdin when none "
       "or -), half-close, print each response as a line of JSON until the "
       "end; --timeout bounds the whole stream; --metadata k=v, --version",
       Stream},
      {"publish", "TOPIC PAYLOAD", "publish a message; --header k=v", Publish},
      {"subscribe", "TOPIC",
       "print messages on TOPIC (wildcards allowed); --queue, --count, "
       "--duration",
       Subscribe},
      {"watch", "[NAME]", "registry events as they happen; --count, --duration",
       Watch},
      {"health", "NAME",
       "ping each instance ($SRV.PING) with its round trip; exit 1 when none "
       "answers",
       Health},
      {"stats", "NAME",
       "per-endpoint requests, errors, processing times and latency "
       "percentiles ($SRV.STATS) "
       "[--json]",
       Stats},
      {"events", "publish|consume|info TOPIC ...",
       "durable events on JetStream: publish TOPIC '{json}'|- (prints the "
       "sequence; --header, --dedup_id); consume TOPIC --group G --start "
       "new|all|seq:N|time:RFC3339 (a line per event: sequence, delivery "
       "count, topic, body; acknowledged once printed; --count, --duration, "
       "--ack_wait); info TOPIC [--group G] (stream, dead letters, group: "
       "pending, in flight, redelivered). Streams: the server's holding "
       "TOPIC, or --stream NAME --subjects P,...",
       Events},
  };
  return *kCommands;
}

void PrintHelp() {
  std::cout << "micro: services on NATS, from the command line\n\n"
               "usage: micro COMMAND [ARGS] [--server URL[,URL]] [flags]\n\n"
               "commands:\n";
  for (const Command& c : Commands()) {
    std::cout << absl::StrFormat("  %-10s %-32s %s\n", c.name, c.args, c.help);
  }
  std::cout << "\nconnection: --server (default $MICRO_NATS_ADDRESS, else "
               "nats://127.0.0.1:4222), --user/--password, --token,\n"
               "  --inbox_prefix, --tls-ca/--tls-cert/--tls-key; every wait is "
               "bounded by "
               "--timeout (5s).\n"
               "registry: --registry nats (default: go-micro's broadcast "
               "registry) or kv (--bucket, default micro-registry).\n"
               "micro COMMAND --help explains one command.\n";
}

}  // namespace
}  // namespace micro_nats::tools

int main(int argc, char** argv) {
  using micro_nats::tools::Commands;
  // --help after a command explains that command; before, the tool.
  // Flags may be spelled with '-' (--tls-ca) as well as '_' (--tls_ca).
  std::vector<std::string> spelled;
  bool help = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && (arg == "--help" || arg == "-h" || arg == "-help")) {
      help = true;
      continue;
    }
    if (i > 0 && arg.rfind("--", 0) == 0) {
      for (size_t j = 2; j < arg.size() && arg[j] != '='; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    spelled.push_back(std::move(arg));
  }
  std::vector<char*> kept;
  for (std::string& arg : spelled) kept.push_back(arg.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(kept.size()), kept.data());
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty() || args[0] == "help") {
    micro_nats::tools::PrintHelp();
    return args.empty() && !help ? 2 : 0;
  }
  for (const auto& c : Commands()) {
    if (args[0] != c.name) continue;
    if (help) {
      std::cout << "usage: micro " << c.name << " " << c.args << "\n  "
                << c.help << "\n";
      return 0;
    }
    signal(SIGINT, micro_nats::tools::OnSignal);
    signal(SIGTERM, micro_nats::tools::OnSignal);
    return c.run({args.begin() + 1, args.end()});
  }
  return micro_nats::tools::Usage("unknown command '" + args[0] + "'");
}
