// Copyright 2026 The micro-nats Authors.
//
// The client's socket pool on the memory transport: reuse, the idle cap,
// expiry and Drop.

#include "service/internal/socket_pool.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "transport/memory/memory_transport.h"

namespace micro_nats::service::service_internal {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;

class SocketPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listener = transport_->Listen("");
    ASSERT_THAT(listener, IsOk());
    listener_ = std::move(listener).value();
    ASSERT_THAT(
        listener_->AcceptMessages(
            [](const std::shared_ptr<transport::Socket>& socket,
               Message message) { socket->Send(message).IgnoreError(); }),
        IsOk());
  }

  std::unique_ptr<transport::Socket> Acquire(SocketPool& pool, bool* reused) {
    auto socket = pool.Acquire(listener_->Address(),
                               absl::Now() + absl::Seconds(5), reused);
    EXPECT_THAT(socket, IsOk());
    return socket.ok() ? std::move(socket).value() : nullptr;
  }

  std::shared_ptr<transport::Transport> transport_ =
      transport::NewMemoryTransport();
  std::unique_ptr<transport::Listener> listener_;
};

TEST_F(SocketPoolTest, AReleasedSocketIsReusedAndStillWorks) {
  SocketPool pool(transport_, {});
  bool reused = true;
  std::unique_ptr<transport::Socket> first = Acquire(pool, &reused);
  ASSERT_NE(first, nullptr);
  EXPECT_FALSE(reused);
  transport::Socket* const raw = first.get();
  pool.Release(listener_->Address(), std::move(first));
  EXPECT_EQ(pool.Idle(), 1u);

  std::unique_ptr<transport::Socket> again = Acquire(pool, &reused);
  EXPECT_TRUE(reused);
  EXPECT_EQ(again.get(), raw);
  EXPECT_EQ(pool.Idle(), 0u);
  ASSERT_THAT(again->Send({.body = "ping"}), IsOk());
  absl::StatusOr<Message> echo = again->Recv(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(echo, IsOk());
  EXPECT_EQ(echo->body, "ping");
}

TEST_F(SocketPoolTest, KeepsAtMostTheCapPerAddress) {
  SocketPool pool(transport_, {.max_idle_per_address = 2});
  std::vector<std::unique_ptr<transport::Socket>> sockets;
  for (int i = 0; i < 3; ++i) {
    bool reused = true;
    sockets.push_back(Acquire(pool, &reused));
    EXPECT_FALSE(reused);
  }
  for (auto& socket : sockets) {
    pool.Release(listener_->Address(), std::move(socket));
  }
  EXPECT_EQ(pool.Idle(), 2u);
}

TEST_F(SocketPoolTest, AnExpiredSocketIsNotReused) {
  // Every kept socket is past a negative idle timeout.
  SocketPool pool(transport_, {.idle_timeout = -absl::Seconds(1)});
  bool reused = true;
  std::unique_ptr<transport::Socket> first = Acquire(pool, &reused);
  transport::Socket* const raw = first.get();
  pool.Release(listener_->Address(), std::move(first));
  std::unique_ptr<transport::Socket> next = Acquire(pool, &reused);
  EXPECT_FALSE(reused);
  EXPECT_NE(next.get(), raw);
  EXPECT_EQ(pool.Idle(), 0u);
}

TEST_F(SocketPoolTest, ReleaseSweepsSocketsOfOtherAddresses) {
  auto other = transport_->Listen("");
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT((*other)->AcceptMessages(
                  [](const std::shared_ptr<transport::Socket>&, Message) {}),
              IsOk());
  SocketPool pool(transport_, {.idle_timeout = -absl::Seconds(1)});
  bool reused = false;
  auto to_other = pool.Acquire((*other)->Address(),
                               absl::Now() + absl::Seconds(5), &reused);
  ASSERT_THAT(to_other, IsOk());
  pool.Release((*other)->Address(), std::move(to_other).value());
  EXPECT_EQ(pool.Idle(), 1u);
  // The next Release, for another address, finds that one expired (a sweep
  // runs at most once per idle timeout: here, negative, every time).
  pool.Release(listener_->Address(), Acquire(pool, &reused));
  EXPECT_EQ(pool.Idle(), 1u);
  pool.Drop(listener_->Address());
  EXPECT_EQ(pool.Idle(), 0u);
}

TEST_F(SocketPoolTest, DropClosesOnlyThatAddresssSockets) {
  auto other = transport_->Listen("");
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT((*other)->AcceptMessages(
                  [](const std::shared_ptr<transport::Socket>&, Message) {}),
              IsOk());
  SocketPool pool(transport_, {});
  bool reused = false;
  pool.Release(listener_->Address(), Acquire(pool, &reused));
  auto to_other = pool.Acquire((*other)->Address(),
                               absl::Now() + absl::Seconds(5), &reused);
  ASSERT_THAT(to_other, IsOk());
  pool.Release((*other)->Address(), std::move(to_other).value());
  EXPECT_EQ(pool.Idle(), 2u);

  pool.Drop((*other)->Address());
  EXPECT_EQ(pool.Idle(), 1u);
  Acquire(pool, &reused);
  EXPECT_TRUE(reused);
}

TEST_F(SocketPoolTest, NobodyListeningIsUnavailable) {
  SocketPool pool(transport_, {});
  bool reused = true;
  EXPECT_THAT(pool.Acquire("memory.nobody.here", absl::Now() + absl::Seconds(1),
                           &reused),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(reused);
}

}  // namespace
}  // namespace micro_nats::service::service_internal
