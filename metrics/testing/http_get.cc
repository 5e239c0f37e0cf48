// Copyright 2026 The micro-nats Authors.

#include "metrics/testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace micro_nats::metrics::testing {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path,
                                     absl::Duration timeout) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  if (fd.get() < 0) return absl::InternalError("socket failed");
  timeval tv = absl::ToTimeval(timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = Loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return absl::UnavailableError(
        absl::StrCat("connect to ", port, ": ", std::strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("recv: ", std::strerror(errno)));
    }
    response.append(buffer, static_cast<size_t>(n));
  }
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return absl::DataLossError(absl::StrCat("no header end: ", response));
  }
  std::vector<absl::string_view> status_line = absl::StrSplit(
      absl::string_view(response).substr(0, response.find("\r\n")), ' ');
  HttpResponse result;
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &result.code)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", response));
  }
  result.body = response.substr(head_end + 4);
  return result;
}

absl::StatusOr<int> FreePort() {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr = Loopback(0);
  socklen_t length = sizeof(addr);
  if (fd.get() < 0 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length) !=
          0) {
    return absl::InternalError("no free port");
  }
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::map<std::string, double>> ParseWithPrometheusClient(
    absl::string_view text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  static int files = 0;
  const std::string path =
      absl::StrCat(dir != nullptr ? dir : "/tmp", "/metrics_", ::getpid(), "_",
                   files++, ".txt");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  // Debian's python3-prometheus-client: /usr/bin/python3, not a pyenv one.
  const std::string command = absl::StrCat(
      "/usr/bin/python3 -c '"
      "import sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "  for s in f.samples:\n"
      "    l = \",\".join(\"%s=\\\"%s\\\"\" % (k, v) for k, v in "
      "sorted(s.labels.items()))\n"
      "    print(\"%s{%s} %r\" % (s.name, l, s.value))\n"
      "' ",
      path, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  std::remove(path.c_str());
  if (status != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("prometheus_client could not parse it: ", output));
  }
  std::map<std::string, double> samples;
  for (absl::string_view line :
       absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      return absl::InternalError(absl::StrCat("bad parser line: ", line));
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

double SumOf(const std::map<std::string, double>& samples,
             absl::string_view name, const std::vector<std::string>& want) {
  double sum = 0;
  for (const auto& [key, value] : samples) {
    if (absl::string_view(key).substr(0, key.find('{')) != name) continue;
    bool all = true;
    for (const std::string& w : want) all = all && key.find(w) != key.npos;
    if (all) sum += value;
  }
  return sum;
}

std::set<std::string> LabelValues(const std::map<std::string, double>& samples,
                                  absl::string_view name,
                                  absl::string_view label) {
  std::set<std::string> values;
  const std::string prefix = absl::StrCat(label, "=\"");
  for (const auto& [key, value] : samples) {
    if (absl::string_view(key).substr(0, key.find('{')) != name) continue;
    size_t at = key.find(prefix);
    if (at == key.npos) continue;
    at += prefix.size();
    values.insert(key.substr(at, key.find('"', at) - at));
  }
  return values;
}

}  // namespace micro_nats::metrics::testing
