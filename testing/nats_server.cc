// Copyright 2026 The micro-nats Authors.

#include "testing/nats_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "status/status_macros.h"

namespace micro_nats::testing {
namespace {

constexpr absl::Duration kStopGrace = absl::Seconds(5);
constexpr absl::string_view kInstallHint =
    "NATS tests need a real server. Install it with: sudo apt-get install -y "
    "nats-server (or set NATS_SERVER_BIN to its path)";

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Connects to 127.0.0.1:port and reads the server's INFO line.
bool AcceptsConnections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{.tv_sec = 1, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4] = {};
    ok = ::recv(fd, buf, sizeof(buf), MSG_WAITALL) == 4 &&
         std::memcmp(buf, "INFO", 4) == 0;
  }
  ::close(fd);
  return ok;
}

std::string TempRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

}  // namespace

absl::StatusOr<int> PickFreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status status = ErrnoError("bind 127.0.0.1:0");
    ::close(fd);
    return status;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::string> FindNatsServerBinary() {
  if (const char* env = std::getenv("NATS_SERVER_BIN"); env && *env) {
    if (::access(env, X_OK) == 0) return std::string(env);
    return absl::FailedPreconditionError(absl::StrCat(
        "NATS_SERVER_BIN=", env, " is not an executable file; ", kInstallHint));
  }
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    dirs = absl::StrSplit(path, ':', absl::SkipEmpty());
  }
  // Bazel gives tests a short PATH; Debian installs the server here.
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) {
    dirs.push_back(dir);
  }
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/nats-server");
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("nats-server not found on PATH, in /usr/bin or /usr/sbin; ",
                   kInstallHint));
}

NatsServer::NatsServer(NatsServerOptions options, std::string binary,
                       std::string dir)
    : options_(std::move(options)),
      binary_(std::move(binary)),
      dir_(std::move(dir)) {}

NatsServer::~NatsServer() {
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start(
    NatsServerOptions options) {
  MN_ASSIGN_OR_RETURN(std::string binary, FindNatsServerBinary());
  std::string tmpl = TempRoot() + "/nats-server.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoError("mkdtemp");
  std::unique_ptr<NatsServer> server(
      new NatsServer(std::move(options), std::move(binary), tmpl));
  // On failure the destructor removes the directory.
  MN_RETURN_IF_ERROR(server->Launch());
  return server;
}

std::string NatsServer::url() const {
  return absl::StrCat("nats://127.0.0.1:", options_.port);
}

std::string NatsServer::store_dir() const {
  return options_.jetstream ? dir_ + "/jetstream" : std::string();
}

absl::Status NatsServer::Launch() {
  const std::string config = dir_ + "/nats-server.conf";
  const std::string log = dir_ + "/nats-server.log";
  {
    std::ofstream out(config, std::ios::trunc);
    // Port -1: the server binds a free port itself and writes it to its
    // ports file, so nobody can take it between picking and binding.
    out << "host: 127.0.0.1\nport: "
        << (options_.port == 0 ? -1 : options_.port) << "\nports_file_dir: \""
        << dir_ << "\"\n";
    if (options_.max_payload > 0) {
      out << "max_payload: " << options_.max_payload << "\n";
    }
    if (!options_.cluster_name.empty()) {
      std::vector<std::string> routes;
      for (int port : options_.route_ports) {
        routes.push_back(absl::StrCat("nats-route://127.0.0.1:", port));
      }
      out << "cluster {\n  name: " << options_.cluster_name
          << "\n  listen: 127.0.0.1:"
          << (options_.cluster_port == 0 ? -1 : options_.cluster_port)
          << "\n  routes: [" << absl::StrJoin(routes, ", ") << "]\n}\n";
    }
    if (options_.jetstream) {
      // Small limits: a test's streams are small, and the defaults reserve
      // a share of the machine's memory and disk.
      out << "jetstream {\n  store_dir: \"" << store_dir()
          << "\"\n  max_memory_store: 256MB\n  max_file_store: 1GB\n}\n";
    }
    out << options_.extra_config << "\n";
    if (!out) return absl::InternalError("cannot write " + config);
  }
  std::ofstream(log, std::ios::trunc).close();
  // The previous run's ports file would name the old process.
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ignored)) {
    if (entry.path().extension() == ".ports") {
      std::filesystem::remove(entry.path(), ignored);
    }
  }

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // Child: die with the test process, log to the file.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_APPEND);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execl(binary_.c_str(), binary_.c_str(), "-c", config.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  absl::Status ready = WaitUntilReady();
  if (!ready.ok()) Stop().IgnoreError();
  return ready;
}

absl::Status NatsServer::WaitUntilReady() {
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  absl::Duration backoff = absl::Milliseconds(2);
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("nats-server on 127.0.0.1:", options_.port,
                       " exited during start-up; its log:\n", ReadLog()));
    }
    if (ReadPickedPorts() && AcceptsConnections(options_.port)) {
      return absl::OkStatus();
    }
    absl::SleepFor(backoff);  // polling a child process, not synchronising
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "nats-server on 127.0.0.1:", options_.port,
      " did not accept connections within ",
      absl::FormatDuration(options_.start_timeout), "; its log:\n", ReadLog()));
}

bool NatsServer::ReadPickedPorts() {
  // "<dir>/nats-server_<pid>.ports":
  //   {"nats":["nats://127.0.0.1:38109"],"cluster":["nats://127.0.0.1:40899"]}
  std::ifstream in(absl::StrCat(
      dir_, "/", std::filesystem::path(binary_).filename().string(), "_", pid_,
      ".ports"));
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  const std::string json = text.str();
  // The port after "<key>":["nats://127.0.0.1:, or 0.
  auto port_of = [&json](absl::string_view key) {
    const std::string marker = absl::StrCat("\"", key, "\":[\"");
    size_t at = json.find(marker);
    if (at == std::string::npos) return 0;
    at = json.find("127.0.0.1:", at);
    if (at == std::string::npos) return 0;
    return std::atoi(json.c_str() + at + std::strlen("127.0.0.1:"));
  };
  const int port = port_of("nats");
  if (port <= 0) return false;  // written, but not completely yet
  options_.port = port;
  if (!options_.cluster_name.empty()) {
    const int cluster = port_of("cluster");
    if (cluster <= 0) return false;
    options_.cluster_port = cluster;
  }
  return true;
}

std::string NatsServer::ReadLog() const {
  std::ifstream in(dir_ + "/nats-server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status NatsServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + kStopGrace;
  while (true) {
    int wstatus = 0;
    pid_t done = ::waitpid(pid_, &wstatus, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) break;
    if (absl::Now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &wstatus, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status NatsServer::Kill() {
  if (pid_ <= 0) return absl::OkStatus();
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status NatsServer::Pause() {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not running");
  if (::kill(pid_, SIGSTOP) != 0) return ErrnoError("SIGSTOP");
  return absl::OkStatus();
}

absl::Status NatsServer::Resume() {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not running");
  if (::kill(pid_, SIGCONT) != 0) return ErrnoError("SIGCONT");
  return absl::OkStatus();
}

absl::Status NatsServer::Restart() {
  MN_RETURN_IF_ERROR(Stop());
  // The old socket can linger briefly; retry while the port frees up.
  absl::Status status;
  for (int attempt = 0; attempt < 20; ++attempt) {
    status = Launch();
    if (status.ok()) return status;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return status;
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(int size) {
  if (size < 1) return absl::InvalidArgumentError("cluster size must be >= 1");
  auto cluster = std::unique_ptr<NatsCluster>(new NatsCluster);
  // Each server routes to those started before it (whose cluster ports it
  // knows); NATS completes the mesh itself.
  std::vector<int> route_ports;
  for (int i = 0; i < size; ++i) {
    NatsServerOptions options;
    options.cluster_name = "micro-nats-test";
    options.route_ports = route_ports;
    MN_ASSIGN_OR_RETURN(auto server, NatsServer::Start(options));
    route_ports.push_back(server->cluster_port());
    cluster->servers_.push_back(std::move(server));
  }
  return cluster;
}

std::vector<std::string> NatsCluster::urls() const {
  std::vector<std::string> result;
  for (const auto& server : servers_) result.push_back(server->url());
  return result;
}

}  // namespace micro_nats::testing
