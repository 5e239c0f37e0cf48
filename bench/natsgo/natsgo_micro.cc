// Copyright 2026 The micro-nats Authors.

#include "bench/natsgo/natsgo_micro.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace micro_nats::bench {
namespace {

constexpr char kRunfilesPath[] = "micro_nats/bench/natsgo/natsgo_micro_echo";

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

bool Executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// Reaps `pid` by `deadline`, or kills and reaps it then.
void Reap(pid_t pid, absl::Time deadline) {
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return;
    if (absl::Now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    absl::SleepFor(absl::Milliseconds(2));  // polling a child's exit
  }
}

}  // namespace

absl::StatusOr<std::string> FindNatsGoMicroBinary() {
  if (const char* env = std::getenv("NATSGO_MICRO_BIN"); env && *env) {
    if (Executable(env)) return std::string(env);
    return absl::FailedPreconditionError(
        absl::StrCat("NATSGO_MICRO_BIN=", env, " is not an executable file"));
  }
  std::vector<std::string> candidates;
  for (const char* root : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(root); dir && *dir) {
      candidates.push_back(absl::StrCat(dir, "/", kRunfilesPath));
    }
  }
  // Run straight from bazel-bin (bench/suite.sh): the runfiles tree beside
  // the binary.
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    candidates.push_back(
        absl::StrCat(std::string(self, n), ".runfiles/", kRunfilesPath));
  }
  for (const std::string& candidate : candidates) {
    if (Executable(candidate)) return candidate;
  }
  return absl::NotFoundError(
      "the nats.go micro baseline is not built: depend on "
      "//bench/natsgo:natsgo_micro, or set NATSGO_MICRO_BIN "
      "(bash bench/natsgo/build.sh OUT_BINARY)");
}

absl::StatusOr<std::unique_ptr<NatsGoMicro>> NatsGoMicro::Start(
    const std::string& url, const std::string& subject,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::string> binary = FindNatsGoMicroBinary();
  if (!binary.ok()) return binary.status();
  // Close-on-exec, so no other child spawned meanwhile keeps them open (its
  // copy of the stdin pipe would keep this one from ever seeing EOF).
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return ErrnoError("pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<char*> argv = {const_cast<char*>(binary->c_str()),
                             const_cast<char*>(url.c_str()),
                             const_cast<char*>(subject.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned =
      ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(in[1]);
    ::close(out[0]);
    errno = spawned;
    return ErrnoError(absl::StrCat("spawning ", *binary));
  }
  std::unique_ptr<NatsGoMicro> child(new NatsGoMicro(pid, in[1], subject));
  // Its first line says it is ready; EOF means it exited (its stderr,
  // inherited, says why).
  std::string said;
  while (!absl::StrContains(said, "\n")) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd readable{.fd = out[0], .events = POLLIN, .revents = 0};
    const int polled =
        left_ms > 0 ? ::poll(&readable, 1, static_cast<int>(left_ms)) : 0;
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) {
      ::close(out[0]);
      return absl::DeadlineExceededError(
          absl::StrCat("the nats.go micro baseline did not say ready within ",
                       absl::FormatDuration(timeout)));
    }
    char buffer[256];
    const ssize_t got = ::read(out[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    said.append(buffer, got);
  }
  ::close(out[0]);  // it writes nothing more
  if (!absl::StartsWith(said, absl::StrCat("ready ", subject, "\n"))) {
    return absl::UnavailableError(absl::StrCat(
        "the nats.go micro baseline exited during start-up (said \"", said,
        "\"; its stderr is above)"));
  }
  return child;
}

void NatsGoMicro::Stop(absl::Time deadline) {
  if (pid_ <= 0) return;
  ::close(stdin_fd_);
  ::kill(pid_, SIGTERM);
  Reap(pid_, deadline);
  pid_ = -1;
}

NatsGoMicro::~NatsGoMicro() { Stop(absl::Now() + absl::Seconds(5)); }

}  // namespace micro_nats::bench
