// Copyright 2026 The micro-nats Authors.

#include "transport/internal/socket_core.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "concurrency/thread_pool.h"
#include "gtest/gtest.h"

namespace micro_nats::transport::transport_internal {
namespace {

// Makes every thread started from here on fail to start (its stack cannot
// be mapped). True when it works on this platform.
bool RefuseNewThreads() {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  const bool set = pthread_attr_setstacksize(&attr, size_t{1} << 47) == 0 &&
                   pthread_setattr_default_np(&attr) == 0;
  pthread_attr_destroy(&attr);
  if (!set) return false;
  try {
    std::thread probe([] {});
    probe.join();
    return false;
  } catch (const std::system_error&) {
    return true;
  }
}

// Whether a thread whose stack cannot be mapped fails to start here (not so
// under every sanitizer), asked without changing this process's defaults.
bool ThreadsCanBeRefused() {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_t thread;
  const int created =
      pthread_attr_setstacksize(&attr, size_t{1} << 47) == 0
          ? pthread_create(
                &thread, &attr, [](void*) -> void* { return nullptr; }, nullptr)
          : 0;
  pthread_attr_destroy(&attr);
  if (created == 0) {
    pthread_join(thread, nullptr);
    return false;
  }
  return true;
}

// A message for a socket when no thread can be started to serve it: the
// socket ends (its handler never runs), the error is reported, and nothing
// waits on the listener's own lock on the way (the queue's Finish calls the
// listener back; on_error may call it too).
void ServeWithoutThreads() {
  alarm(10);  // a deadlock ends the child: the test fails, not hangs
  if (!RefuseNewThreads()) {
    std::fprintf(stderr, "threads cannot be refused in the child\n");
    std::_Exit(12);  // the parent asked ThreadsCanBeRefused first
  }
  std::shared_ptr<ListenerCore> core;
  absl::Status reported;
  size_t sockets_seen = 99;
  ListenOptions options;
  options.executor = std::make_shared<concurrency::ThreadPool>(1);
  options.idle_timeout = absl::ZeroDuration();  // no reaper task
  options.on_error = [&](const absl::Status& error) {
    reported = error;
    sockets_seen = core->OpenSockets();  // the listener, from on_error
  };
  core = ListenerCore::Create(options, [](const std::string&) {});
  if (!core->AcceptMessages([](const std::shared_ptr<Socket>&, Message) {
             std::_Exit(3);  // never runs: no thread
           })
           .ok()) {
    std::_Exit(4);
  }
  auto inbound = std::make_shared<InboundQueue>();
  // Dropping the socket tells the backend, which forgets it in the
  // listener (as the NATS backend does).
  bool closed = false;
  std::unique_ptr<Socket> socket = std::make_unique<QueueSocket>(
      inbound, [](const Message&) { return absl::OkStatus(); },
      [&] {
        closed = true;
        core->Remove("there");
      },
      "here", "there");
  if (!core->Add("there", inbound, &socket).ok()) std::_Exit(5);
  if (inbound->Push(Message{.body = "hello"})) std::_Exit(6);
  if (inbound->SendableStatus().ok()) std::_Exit(7);  // the socket ended
  if (!absl::IsResourceExhausted(reported) ||
      !absl::StrContains(reported.message(), "no thread to serve")) {
    std::_Exit(8);
  }
  if (sockets_seen != 0 || core->OpenSockets() != 0) std::_Exit(9);
  if (!core->EndedLately("there")) std::_Exit(10);
  if (!closed) std::_Exit(11);
  std::_Exit(0);
}

TEST(ListenerCoreDeathTest, NoThreadToServeEndsTheSocketWithoutDeadlock) {
  if (!ThreadsCanBeRefused()) {
    GTEST_SKIP() << "threads cannot be refused here: nothing to test";
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ServeWithoutThreads(), testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace micro_nats::transport::transport_internal
