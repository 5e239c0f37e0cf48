// Copyright 2026 The micro-nats Authors.
//
// conformance.h: the contract every Transport backend passes.
//
// A parameterised gtest suite. A backend's test includes this header once
// and instantiates it with a TransportBackend whose environment returns, on
// each NewTransport() call, a transport on its own connection (as separate
// processes would have):
//
//   INSTANTIATE_TEST_SUITE_P(Memory, TransportConformanceTest,
//                            ::testing::Values(MemoryTransportBackend()),
//                            TransportBackendName);

#ifndef MICRO_NATS_TRANSPORT_TESTING_CONFORMANCE_H_
#define MICRO_NATS_TRANSPORT_TESTING_CONFORMANCE_H_

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "concurrency/coarse_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"
#include "testing/sync.h"
#include "transport/transport.h"

namespace micro_nats::transport::testing {

class TransportEnvironment {
 public:
  virtual ~TransportEnvironment() = default;
  // A new transport, on its own connection to the shared medium.
  virtual absl::StatusOr<std::unique_ptr<Transport>> NewTransport() = 0;
  // Largest message the backend accepts (headers and body).
  virtual size_t max_message_bytes() const = 0;

  // Capabilities: where backends differ by design. Each is a stated
  // exception that the suite tests both ways.
  //
  // Listen on an address a listener already holds is AlreadyExists. The
  // memory backend has one address table per process; on NATS a listener
  // cannot see another process's, so both subscribe and split nothing:
  // give each listener a unique address (Listen("") does).
  virtual bool exclusive_listen() const { return false; }
  // Dial without the handshake to an address nobody listens on (or a full
  // listener) fails in Dial. Otherwise Dial succeeds and the socket's Recv
  // says why it ended (NATS learns it from the first message).
  virtual bool knows_listeners_at_dial() const { return false; }
};

struct TransportBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<TransportEnvironment>>()> make;
};

inline std::string TransportBackendName(
    const ::testing::TestParamInfo<TransportBackend>& info) {
  return info.param.name;
}

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;

class TransportConformanceTest
    : public ::testing::TestWithParam<TransportBackend> {
 protected:
  static constexpr absl::Duration kWait = absl::Seconds(10);

  static absl::Time Deadline() { return absl::Now() + kWait; }

  void SetUp() override {
    auto env = GetParam().make();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(env).value();
    auto server = env_->NewTransport();
    auto client = env_->NewTransport();
    ASSERT_TRUE(server.ok()) << server.status();
    ASSERT_TRUE(client.ok()) << client.status();
    server_ = std::move(server).value();
    client_ = std::move(client).value();
  }

  // A listener whose handler echoes every message (body and headers) until
  // its socket ends.
  std::unique_ptr<Listener> EchoListener() {
    auto listener = server_->Listen("");
    EXPECT_TRUE(listener.ok()) << listener.status();
    if (!listener.ok()) return nullptr;
    EXPECT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
      while (true) {
        auto message = socket->Recv(absl::InfiniteFuture());
        if (!message.ok()) return;
        if (!socket->Send(*message).ok()) return;
      }
    }),
                IsOk());
    return std::move(listener).value();
  }

  std::unique_ptr<Socket> Dial(const std::string& address) {
    auto socket = client_->Dial(address);
    EXPECT_TRUE(socket.ok()) << socket.status();
    return socket.ok() ? std::move(socket).value() : nullptr;
  }

  std::unique_ptr<TransportEnvironment> env_;
  std::unique_ptr<Transport> server_;
  std::unique_ptr<Transport> client_;
};

TEST_P(TransportConformanceTest, EchoRoundTrip) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  ASSERT_NE(socket, nullptr);
  ASSERT_THAT(socket->Send({.body = "hello"}), IsOk());
  auto reply = socket->Recv(Deadline());
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, "hello");
}

TEST_P(TransportConformanceTest, HeadersRoundTrip) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  Headers headers = {{"Micro-Service", "greeter"},
                     {"Micro-Endpoint", "Greeter.Hello"},
                     {"Content-Type", "application/protobuf"},
                     {"Timeout", "5s"}};
  ASSERT_THAT(socket->Send({.headers = headers, .body = "x"}), IsOk());
  auto reply = socket->Recv(Deadline());
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->headers, headers);
}

TEST_P(TransportConformanceTest, EmptyAndBinaryBodies) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  const std::string binary("\0\x01\xff\r\n\0", 6);
  ASSERT_THAT(socket->Send({.body = ""}), IsOk());
  ASSERT_THAT(socket->Send({.body = binary}), IsOk());
  auto first = socket->Recv(Deadline());
  auto second = socket->Recv(Deadline());
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->body, "");
  EXPECT_EQ(second->body, binary);
}

TEST_P(TransportConformanceTest, LargeBody) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  std::string body(512 * 1024, 'x');
  for (size_t i = 0; i < body.size(); i += 13) body[i] = static_cast<char>(i);
  ASSERT_THAT(socket->Send({.body = body}), IsOk());
  auto reply = socket->Recv(Deadline());
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, body);
}

TEST_P(TransportConformanceTest, OversizedMessageIsInvalidArgument) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  std::string body(env_->max_message_bytes() + 1, 'x');
  EXPECT_THAT(socket->Send({.body = body}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The socket still works.
  ASSERT_THAT(socket->Send({.body = "small"}), IsOk());
  EXPECT_THAT(socket->Recv(Deadline()), IsOk());
}

TEST_P(TransportConformanceTest, BadHeadersAreInvalidArgument) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  EXPECT_THAT(socket->Send({.headers = {{"Micro-Transport-Control", "x"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(socket->Send({.headers = {{"Bad Name", "x"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(socket->Send({.headers = {{"Name", "line\r\nbreak"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(socket->Send({.headers = {{"X\r\nInjected", "yes"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(socket->Send({.headers = {{"A:B", "x"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Send(Message&&) may take the message instead of copying it (memory); it
// is checked and delivered exactly as Send(const Message&).
TEST_P(TransportConformanceTest, AMovedMessageIsCheckedAndDeliveredAlike) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  Message reserved{.headers = {{"Micro-Transport-Control", "x"}}};
  EXPECT_THAT(socket->Send(std::move(reserved)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Message injected{.headers = {{"Name", "line\r\nbreak"}}};
  EXPECT_THAT(socket->Send(std::move(injected)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Message oversized{.body = std::string(env_->max_message_bytes() + 1, 'x')};
  EXPECT_THAT(socket->Send(std::move(oversized)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Delivered as NATS delivers it: blank headers absent, values trimmed.
  Message message{.headers = {{"Blank", ""}, {"Padded", " v "}, {"A", "1"}},
                  .body = "moved"};
  ASSERT_THAT(socket->Send(std::move(message)), IsOk());
  auto reply = socket->Recv(Deadline());
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->body, "moved");
  EXPECT_EQ(reply->headers, (Headers{{"A", "1"}, {"Padded", "v"}}));
}

TEST_P(TransportConformanceTest, MessagesOnOneSocketArriveInOrder) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(socket->Send({.body = std::to_string(i)}), IsOk());
  }
  for (int i = 0; i < 200; ++i) {
    auto reply = socket->Recv(Deadline());
    ASSERT_THAT(reply, IsOk());
    ASSERT_EQ(reply->body, std::to_string(i));
  }
}

TEST_P(TransportConformanceTest, ConcurrentSocketsDoNotMixUpMessages) {
  constexpr int kClients = 32;
  constexpr int kMessages = 100;
  auto listener = EchoListener();
  std::vector<std::thread> clients;
  std::atomic<int> mismatches{0};
  std::atomic<int> completed{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto socket = client_->Dial(listener->Address());
      if (!socket.ok()) {
        ++mismatches;
        return;
      }
      for (int i = 0; i < kMessages; ++i) {
        const std::string body = absl::StrCat(c, ":", i);
        if (!(*socket)->Send({.body = body}).ok()) {
          ++mismatches;
          return;
        }
        auto reply = (*socket)->Recv(Deadline());
        if (!reply.ok() || reply->body != body) {
          ++mismatches;
          return;
        }
      }
      ++completed;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(completed, kClients);
}

TEST_P(TransportConformanceTest, ServerCanSendSeveralMessagesPerRequest) {
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    auto request = socket->Recv(absl::InfiniteFuture());
    if (!request.ok()) return;
    for (int i = 0; i < 3; ++i) {
      socket->Send({.body = absl::StrCat(request->body, i)}).IgnoreError();
    }
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "part"}), IsOk());
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(socket->Recv(Deadline()),
                IsOkAndHolds(
                    ::testing::Field(&Message::body, absl::StrCat("part", i))));
  }
  // The handler returned: its socket closed, and the client hears it.
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(TransportConformanceTest, AcceptRunsTheHandlerOncePerSocket) {
  Collector<std::string> accepted;
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([&](std::unique_ptr<Socket> socket) {
    accepted.Add(socket->RemoteAddress());
    while (socket->Recv(absl::InfiniteFuture()).ok()) {
    }
  }),
              IsOk());
  auto a = Dial((*listener)->Address());
  auto b = Dial((*listener)->Address());
  auto c = Dial((*listener)->Address());
  for (auto* s : {a.get(), b.get(), c.get()}) {
    ASSERT_THAT(s->Send({.body = "x"}), IsOk());
  }
  ASSERT_TRUE(accepted.WaitForCount(3, kWait));
  auto remotes = accepted.Snapshot();
  EXPECT_THAT(remotes,
              ::testing::UnorderedElementsAre(
                  a->LocalAddress(), b->LocalAddress(), c->LocalAddress()));
  EXPECT_EQ((*listener)->OpenSockets(), 3u);
  EXPECT_THAT((*listener)->Accept([](std::unique_ptr<Socket>) {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(TransportConformanceTest, SocketsDialledBeforeAcceptWaitForIt) {
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "early"}), IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> s) {
    auto m = s->Recv(absl::InfiniteFuture());
    if (m.ok()) s->Send(*m).IgnoreError();
  }),
              IsOk());
  EXPECT_THAT(socket->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "early")));
}

TEST_P(TransportConformanceTest, AddressesNameBothEnds) {
  Collector<std::pair<std::string, std::string>> ends;
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([&](std::unique_ptr<Socket> socket) {
    ends.Add({socket->LocalAddress(), socket->RemoteAddress()});
    while (socket->Recv(absl::InfiniteFuture()).ok()) {
    }
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  ASSERT_TRUE(ends.WaitForCount(1, kWait));
  EXPECT_EQ(socket->RemoteAddress(), (*listener)->Address());
  EXPECT_EQ(ends.Snapshot()[0].first, (*listener)->Address());
  EXPECT_EQ(ends.Snapshot()[0].second, socket->LocalAddress());
  EXPECT_NE(socket->LocalAddress(), socket->RemoteAddress());
}

TEST_P(TransportConformanceTest, ListenOnAGivenAddress) {
  auto listener = server_->Listen("greeter.v1.node-1");
  ASSERT_THAT(listener, IsOk());
  EXPECT_EQ((*listener)->Address(), "greeter.v1.node-1");
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> s) {
    auto m = s->Recv(absl::InfiniteFuture());
    if (m.ok()) s->Send(*m).IgnoreError();
  }),
              IsOk());
  auto socket = Dial("greeter.v1.node-1");
  ASSERT_THAT(socket->Send({.body = "ping"}), IsOk());
  EXPECT_THAT(socket->Recv(Deadline()), IsOk());
}

TEST_P(TransportConformanceTest, ListenOnATakenAddressAsTheBackendStates) {
  auto first = server_->Listen("taken.address");
  ASSERT_THAT(first, IsOk());
  auto second = client_->Listen("taken.address");
  if (env_->exclusive_listen()) {
    EXPECT_THAT(second, StatusIs(absl::StatusCode::kAlreadyExists));
  } else {
    EXPECT_THAT(second, IsOk());  // stated: nobody can tell, see above
  }
}

TEST_P(TransportConformanceTest, GeneratedAddressesAreUnique) {
  auto a = server_->Listen("");
  auto b = server_->Listen("");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE((*a)->Address(), (*b)->Address());
}

TEST_P(TransportConformanceTest, InvalidAddressesAreRejected) {
  for (const char* address : {"a b", "a.*", "a.>", "a..b", "."}) {
    EXPECT_THAT(server_->Listen(address),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << address;
    EXPECT_THAT(client_->Dial(address),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << address;
  }
  EXPECT_THAT(client_->Dial(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(TransportConformanceTest, DialToNothingIsUnavailable) {
  EXPECT_THAT(client_->Dial("nobody.listens.here"),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_P(TransportConformanceTest, DialAfterListenerCloseIsUnavailable) {
  auto listener = EchoListener();
  const std::string address = listener->Address();
  ASSERT_THAT(listener->Close(), IsOk());
  EXPECT_THAT(client_->Dial(address), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_P(TransportConformanceTest, RecvHonoursItsDeadline) {
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    while (socket->Recv(absl::InfiniteFuture()).ok()) {
    }  // never answers
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "anyone?"}), IsOk());
  EXPECT_THAT(socket->Recv(absl::Now() + absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(socket->Recv(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_P(TransportConformanceTest, ClientCloseEndsTheServerSocketAtOnce) {
  Collector<absl::Status> ended;
  auto listener = server_->Listen("", {.idle_timeout = absl::Hours(1)});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([&](std::unique_ptr<Socket> socket) {
    while (true) {
      auto m = socket->Recv(absl::InfiniteFuture());
      if (!m.ok()) {
        ended.Add(m.status());
        return;
      }
      socket->Send(*m).IgnoreError();
    }
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  ASSERT_THAT(socket->Recv(Deadline()), IsOk());
  EXPECT_EQ((*listener)->OpenSockets(), 1u);
  ASSERT_THAT(socket->Close(), IsOk());
  ASSERT_TRUE(ended.WaitForCount(1, kWait));
  EXPECT_THAT(ended.Snapshot()[0], StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_TRUE(Eventually([&] { return (*listener)->OpenSockets() == 0; }, kWait,
                         "server socket freed"));
}

TEST_P(TransportConformanceTest, ServerCloseEndsTheClientSocket) {
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    auto m = socket->Recv(absl::InfiniteFuture());
    if (!m.ok()) return;
    socket->Send({.body = "last words"}).IgnoreError();
    socket->Close().IgnoreError();
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  EXPECT_THAT(socket->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "last words")));
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(socket->Send({.body = "too late"}),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_P(TransportConformanceTest, ListenerCloseEndsItsSockets) {
  auto listener = EchoListener();
  auto a = Dial(listener->Address());
  auto b = Dial(listener->Address());
  for (auto* s : {a.get(), b.get()}) {
    ASSERT_THAT(s->Send({.body = "x"}), IsOk());
    ASSERT_THAT(s->Recv(Deadline()), IsOk());
  }
  ASSERT_THAT(listener->Close(), IsOk());  // waits for both handlers
  EXPECT_EQ(listener->OpenSockets(), 0u);
  for (auto* s : {a.get(), b.get()}) {
    EXPECT_THAT(s->Recv(Deadline()), StatusIs(absl::StatusCode::kOutOfRange));
  }
  EXPECT_THAT(listener->Close(), IsOk());  // idempotent
}

TEST_P(TransportConformanceTest, UseAfterLocalCloseIsFailedPrecondition) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  ASSERT_THAT(socket->Close(), IsOk());
  EXPECT_THAT(socket->Send({.body = "x"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(socket->Close(), IsOk());  // idempotent
}

TEST_P(TransportConformanceTest, IdleServerSocketsAreReaped) {
  auto listener =
      server_->Listen("", {.idle_timeout = absl::Milliseconds(100)});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    while (socket->Recv(absl::InfiniteFuture()).ok()) {
    }
  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_THAT(socket->Send({.body = "then silence"}), IsOk());
  // The client never closes; the server gives the socket up and says so.
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ((*listener)->OpenSockets(), 0u);
}

// In both handler styles: the socket ends, the error is reported, and the
// listener goes on serving its other sockets.
TEST_P(TransportConformanceTest, AHandlerThatThrowsEndsOnlyItsSocket) {
  for (bool messages : {false, true}) {
    SCOPED_TRACE(messages ? "AcceptMessages" : "Accept");
    Collector<absl::Status> errors;
    auto listener = server_->Listen(
        "", {.on_error = [&](const absl::Status& s) { errors.Add(s); }});
    ASSERT_THAT(listener, IsOk());
    // Echoes, but throws on "bad".
    auto handle = [](Socket& socket, const Message& m) {
      if (m.body == "bad") throw std::runtime_error("boom");
      socket.Send(m).IgnoreError();
    };
    if (messages) {
      ASSERT_THAT((*listener)->AcceptMessages(
                      [handle](const std::shared_ptr<Socket>& socket,
                               Message m) { handle(*socket, m); }),
                  IsOk());
    } else {
      ASSERT_THAT((*listener)->Accept([handle](std::unique_ptr<Socket> s) {
        while (true) {
          auto m = s->Recv(absl::InfiniteFuture());
          if (!m.ok()) return;
          handle(*s, *m);
        }
      }),
                  IsOk());
    }
    auto bad = Dial((*listener)->Address());
    auto good = Dial((*listener)->Address());
    ASSERT_THAT(bad->Send({.body = "bad"}), IsOk());
    EXPECT_THAT(bad->Recv(Deadline()), StatusIs(absl::StatusCode::kOutOfRange));
    ASSERT_TRUE(errors.WaitForCount(1, kWait));
    EXPECT_THAT(errors.Snapshot()[0], StatusIs(absl::StatusCode::kInternal,
                                               ::testing::HasSubstr("boom")));
    ASSERT_THAT(good->Send({.body = "still served"}), IsOk());
    EXPECT_THAT(good->Recv(Deadline()),
                IsOkAndHolds(::testing::Field(&Message::body, "still served")));
  }
}

// Reads `socket` until it ends; the bodies read and how it ended.
struct ReadToEnd {
  std::vector<std::string> bodies;
  absl::Status end;
};

inline ReadToEnd ReadUntilEnd(Socket& socket, absl::Time deadline) {
  ReadToEnd result;
  while (true) {
    auto m = socket.Recv(deadline);
    if (!m.ok()) {
      result.end = m.status();
      return result;
    }
    result.bodies.push_back(m->body);
  }
}

// A client floods a server socket whose handler has not started reading:
// the backlog stops at its limit, the client hears the socket ended, and
// the handler reads what was held, then ResourceExhausted.
inline ReadToEnd FloodServerSocket(Transport& server, Transport& client,
                                   PendingLimits limits,
                                   const std::vector<std::string>& bodies) {
  Collector<ReadToEnd> read;
  auto listener = server.Listen("", {.max_pending = limits});
  EXPECT_THAT(listener, IsOk());
  if (!listener.ok()) return {};
  auto socket = client.Dial((*listener)->Address());
  EXPECT_THAT(socket, IsOk());
  if (!socket.ok()) return {};
  for (const std::string& body : bodies) {
    // Sends after the overflow may fail (OutOfRange) once the client knows.
    if (!(*socket)->Send({.body = body}).ok()) break;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  EXPECT_THAT((*socket)->Recv(deadline),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT((*socket)->Send({.body = "after"}),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT((*listener)->Accept([&](std::unique_ptr<Socket> server_socket) {
    read.Add(ReadUntilEnd(*server_socket, deadline));
  }),
              IsOk());
  EXPECT_TRUE(read.WaitForCount(1, absl::Seconds(10)));
  EXPECT_TRUE(Eventually([&] { return (*listener)->OpenSockets() == 0; },
                         absl::Seconds(10), "overflowed server socket freed"));
  return read.size() == 1 ? read.Snapshot()[0] : ReadToEnd{};
}

TEST_P(TransportConformanceTest, ServerSocketBacklogIsBoundedByCount) {
  const ReadToEnd got =
      FloodServerSocket(*server_, *client_, {.messages = 4, .bytes = 0},
                        {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"});
  EXPECT_THAT(got.bodies, ::testing::ElementsAre("m0", "m1", "m2", "m3"));
  EXPECT_THAT(got.end, StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_P(TransportConformanceTest, ServerSocketBacklogIsBoundedByBytes) {
  // 40 + 40 bytes fit in 100; a third 40 does not.
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  const ReadToEnd got = FloodServerSocket(
      *server_, *client_, {.messages = 0, .bytes = 100}, {a, b, c});
  EXPECT_THAT(got.bodies, ::testing::ElementsAre(a, b));
  EXPECT_THAT(got.end, StatusIs(absl::StatusCode::kResourceExhausted));
}

// A server floods a client that does not read: the client socket ends with
// ResourceExhausted after what it held, and the server hears it ended.
TEST_P(TransportConformanceTest, ClientSocketBacklogIsBounded) {
  Collector<absl::Status> server_end;
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([&](std::unique_ptr<Socket> server_socket) {
    if (!server_socket->Recv(absl::InfiniteFuture()).ok()) return;
    for (int i = 0; i < 10; ++i) {
      if (!server_socket->Send({.body = absl::StrCat("r", i)}).ok()) break;
    }
    server_end.Add(server_socket->Recv(Deadline()).status());
  }),
              IsOk());
  auto socket = client_->Dial((*listener)->Address(),
                              {.max_pending = {.messages = 4, .bytes = 0}});
  ASSERT_THAT(socket, IsOk());
  ASSERT_THAT((*socket)->Send({.body = "go"}), IsOk());
  ASSERT_TRUE(server_end.WaitForCount(1, kWait));
  EXPECT_THAT(server_end.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange));
  const ReadToEnd got = ReadUntilEnd(**socket, Deadline());
  EXPECT_THAT(got.bodies, ::testing::ElementsAre("r0", "r1", "r2", "r3"));
  EXPECT_THAT(got.end, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT((*socket)->Send({.body = "more"}),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// --- Bounded threads, the socket cap, busy sockets, dial failures --------

// A listener whose MessageHandler echoes every message.
inline std::unique_ptr<Listener> MessageEchoListener(
    Transport& transport, ListenOptions options = {}) {
  auto listener = transport.Listen("", std::move(options));
  EXPECT_TRUE(listener.ok()) << listener.status();
  if (!listener.ok()) return nullptr;
  EXPECT_THAT((*listener)->AcceptMessages(
                  [](const std::shared_ptr<Socket>& socket, Message message) {
                    socket->Send(message).IgnoreError();
                  }),
              IsOk());
  return std::move(listener).value();
}

TEST_P(TransportConformanceTest, MessageHandlerAnswersInOrder) {
  auto listener = MessageEchoListener(*server_);
  auto socket = Dial(listener->Address());
  ASSERT_NE(socket, nullptr);
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(socket->Send({.headers = {{"N", std::to_string(i)}},
                              .body = std::to_string(i)}),
                IsOk());
  }
  for (int i = 0; i < 200; ++i) {
    auto reply = socket->Recv(Deadline());
    ASSERT_THAT(reply, IsOk());
    ASSERT_EQ(reply->body, std::to_string(i));
    ASSERT_EQ(reply->headers["N"], std::to_string(i));
  }
}

TEST_P(TransportConformanceTest, MessageHandlerCallsForOneSocketNeverOverlap) {
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  auto listener = server_->Listen("", {.handler_threads = 4});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->AcceptMessages(
                  [&](const std::shared_ptr<Socket>& socket, Message message) {
                    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                    std::this_thread::yield();
                    inside.fetch_sub(1);
                    socket->Send(message).IgnoreError();
                  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_NE(socket, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  }
  for (int i = 0; i < 100; ++i) ASSERT_THAT(socket->Recv(Deadline()), IsOk());
  EXPECT_EQ(overlaps.load(), 0);
}

TEST_P(TransportConformanceTest, MessageHandlerSocketRefusesRecvAndCanClose) {
  Collector<absl::Status> recv;
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->AcceptMessages(
                  [&](const std::shared_ptr<Socket>& socket, Message) {
                    recv.Add(socket->Recv(absl::InfinitePast()).status());
                    socket->Send({.body = "bye"}).IgnoreError();
                    socket->Close().IgnoreError();
                  }),
              IsOk());
  auto socket = Dial((*listener)->Address());
  ASSERT_NE(socket, nullptr);
  ASSERT_THAT(socket->Send({.body = "hi"}), IsOk());
  EXPECT_THAT(socket->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "bye")));
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_TRUE(recv.WaitForCount(1, kWait));
  EXPECT_THAT(recv.Snapshot()[0],
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(Eventually([&] { return (*listener)->OpenSockets() == 0; }, kWait,
                         "closed socket forgotten"));
}

// A message handler that keeps its socket (a service stream) hears when it
// ends: its client closed, it was reaped idle, the listener closed; not
// after its own Close. Registered after the end, it hears at once.
TEST_P(TransportConformanceTest, MessageHandlerSocketTellsItsEnd) {
  Collector<absl::Status> ended;
  std::mutex mu;
  std::vector<std::shared_ptr<Socket>> kept;  // guarded by mu
  auto listener = server_->Listen("", {.idle_timeout = absl::Seconds(1)});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages([&](const std::shared_ptr<Socket>& socket,
                                      Message m) {
        if (m.body == "close yourself") {
          EXPECT_THAT(socket->NotifyOnEnd([&](const absl::Status&) {
            ended.Add(absl::InternalError("told of its own Close"));
          }),
                      IsOk());
          socket->Close().IgnoreError();
          return;
        }
        EXPECT_THAT(
            socket->NotifyOnEnd([&, body = m.body](const absl::Status& why) {
              ended.Add(absl::Status(why.code(), body));
            }),
            IsOk());
        {
          std::lock_guard<std::mutex> lock(mu);
          kept.push_back(socket);
        }
        socket->Send({.body = "kept"}).IgnoreError();
      }),
      IsOk());
  auto closing = Dial((*listener)->Address());
  auto idle = Dial((*listener)->Address());
  auto own = Dial((*listener)->Address());
  ASSERT_THAT(closing->Send({.body = "closing"}), IsOk());
  ASSERT_THAT(closing->Recv(Deadline()), IsOk());
  ASSERT_THAT(own->Send({.body = "close yourself"}), IsOk());
  EXPECT_THAT(own->Recv(Deadline()), StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_THAT(closing->Close(), IsOk());
  ASSERT_TRUE(ended.WaitForCount(1, kWait));
  EXPECT_THAT(ended.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange, "closing"));
  // Reaped idle (about a second).
  ASSERT_THAT(idle->Send({.body = "idle"}), IsOk());
  ASSERT_THAT(idle->Recv(Deadline()), IsOk());
  ASSERT_TRUE(ended.WaitForCount(2, kWait));
  EXPECT_THAT(ended.Snapshot()[1],
              StatusIs(absl::StatusCode::kOutOfRange, "idle"));
  // Ended already: told at once.
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_THAT(kept[0]->NotifyOnEnd([&](const absl::Status& why) {
      ended.Add(absl::Status(why.code(), "late"));
    }),
                IsOk());
  }
  ASSERT_TRUE(ended.WaitForCount(3, kWait));
  EXPECT_THAT(ended.Snapshot()[2],
              StatusIs(absl::StatusCode::kOutOfRange, "late"));
  // The listener closes with one left.
  auto last = Dial((*listener)->Address());
  ASSERT_THAT(last->Send({.body = "last"}), IsOk());
  ASSERT_THAT(last->Recv(Deadline()), IsOk());
  ASSERT_THAT((*listener)->Close(), IsOk());
  ASSERT_TRUE(ended.WaitForCount(4, kWait));
  EXPECT_THAT(ended.Snapshot()[3],
              StatusIs(absl::StatusCode::kOutOfRange, "last"));
  EXPECT_EQ(ended.Snapshot().size(), 4u);  // nothing of its own Close
  std::lock_guard<std::mutex> lock(mu);
  kept.clear();
}

// 1,000 client sockets, each used once and left open, on one listener:
// neither the client's transport nor the server's starts a thread per
// socket.
TEST_P(TransportConformanceTest, AThousandOpenSocketsAddFewThreads) {
  constexpr int kSockets = 1000;
  auto listener = MessageEchoListener(*server_, {.max_sockets = 2000});
  ASSERT_NE(listener, nullptr);
  // The first socket may start what every later one shares.
  auto first = Dial(listener->Address());
  ASSERT_NE(first, nullptr);
  ASSERT_THAT(first->Send({.body = "warm"}), IsOk());
  ASSERT_THAT(first->Recv(Deadline()), IsOk());
  const int before = ::micro_nats::testing::ThreadCount();
  ASSERT_GT(before, 0);
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < kSockets; ++i) {
    auto socket = client_->Dial(listener->Address());
    ASSERT_THAT(socket, IsOk()) << i;
    ASSERT_THAT((*socket)->Send({.body = std::to_string(i)}), IsOk());
    sockets.push_back(std::move(socket).value());
  }
  for (int i = 0; i < kSockets; ++i) {
    ASSERT_THAT(
        sockets[i]->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, std::to_string(i))));
  }
  EXPECT_EQ(listener->OpenSockets(), kSockets + 1u);
  EXPECT_LE(::micro_nats::testing::ThreadCount() - before, 16);
}

TEST_P(TransportConformanceTest, SocketsDialledAndNeverUsedHoldNoThread) {
  auto listener = EchoListener();  // the blocking style
  ASSERT_NE(listener, nullptr);
  const int before = ::micro_nats::testing::ThreadCount();
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < 300; ++i) {
    auto socket = client_->Dial(listener->Address());
    ASSERT_THAT(socket, IsOk()) << i;
    sockets.push_back(std::move(socket).value());
  }
  EXPECT_EQ(listener->OpenSockets(), 300u);
  EXPECT_LE(::micro_nats::testing::ThreadCount() - before, 16);
}

TEST_P(TransportConformanceTest, BlockingHandlersBeyondThePoolWaitTheirTurn) {
  // Two threads, four sockets: each is served once one before it ends.
  auto listener = server_->Listen("", {.handler_threads = 2});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    auto m = socket->Recv(absl::InfiniteFuture());
    if (m.ok()) socket->Send(*m).IgnoreError();
  }),
              IsOk());
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < 4; ++i) {
    sockets.push_back(Dial((*listener)->Address()));
    ASSERT_NE(sockets.back(), nullptr);
    ASSERT_THAT(sockets.back()->Send({.body = std::to_string(i)}), IsOk());
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(
        sockets[i]->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, std::to_string(i))));
  }
}

TEST_P(TransportConformanceTest,
       SocketsWaitingForAThreadAreReportedAndKeepTheirOwnAnswers) {
  // Two threads held by two sockets whose clients keep them: the other two
  // wait (said once through on_error), their first Recv times out, and
  // once served each socket reads its own late answer, never another's.
  Collector<std::string> errors;
  auto listener = server_->Listen(
      "", {.handler_threads = 2, .on_error = [&](const absl::Status& s) {
             errors.Add(std::string(s.message()));
           }});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT((*listener)->Accept([](std::unique_ptr<Socket> socket) {
    while (true) {
      auto m = socket->Recv(absl::InfiniteFuture());
      if (!m.ok() || !socket->Send(*m).ok()) return;
    }
  }),
              IsOk());
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < 4; ++i) {
    sockets.push_back(Dial((*listener)->Address()));
    ASSERT_NE(sockets.back(), nullptr);
    ASSERT_THAT(sockets.back()->Send({.body = absl::StrCat(i, "-1")}), IsOk());
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(
        sockets[i]->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, absl::StrCat(i, "-1"))));
  }
  for (int i = 2; i < 4; ++i) {
    EXPECT_THAT(sockets[i]->Recv(absl::Now() + absl::Milliseconds(200)),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
  }
  ASSERT_TRUE(errors.WaitForCount(1, kWait));
  EXPECT_THAT(errors.Snapshot()[0],
              ::testing::HasSubstr("waits for a handler thread"));
  sockets[0].reset();  // frees the threads
  sockets[1].reset();
  for (int i = 2; i < 4; ++i) {
    ASSERT_THAT(sockets[i]->Send({.body = absl::StrCat(i, "-2")}), IsOk());
    EXPECT_THAT(
        sockets[i]->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, absl::StrCat(i, "-1"))));
    EXPECT_THAT(
        sockets[i]->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, absl::StrCat(i, "-2"))));
  }
  EXPECT_EQ(errors.size(), 1u);
}

TEST_P(TransportConformanceTest, InlineHandlersAnswerAndKeepThePoolBound) {
  // One thread: with handlers run in place, still one call at a time.
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  auto listener =
      server_->Listen("", {.handler_threads = 1, .inline_handlers = true});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages(
          [&](const std::shared_ptr<Socket>& socket, Message message) {
            const int now = ++running;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            socket->Send({.body = "re:" + message.body}).IgnoreError();
            --running;
          }),
      IsOk());
  std::vector<std::thread> callers;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      auto socket = client_->Dial((*listener)->Address());
      if (!socket.ok()) return;
      for (int j = 0; j < 20; ++j) {
        const std::string body = absl::StrCat(i, "-", j);
        if (!(*socket)->Send({.body = body}).ok()) return;
        auto reply = (*socket)->Recv(Deadline());
        if (reply.ok() && reply->body == "re:" + body) ++answered;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(answered.load(), 160);
  EXPECT_EQ(most.load(), 1);
}

TEST_P(TransportConformanceTest,
       AHandlerBlockedOutsideTheTransportHoldsOnlyItsThread) {
  // Two threads; the first call blocks on something the transport cannot
  // see (a latch): the listener's other sockets are still served.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Collector<std::string> started;
  auto listener = server_->Listen("", {.handler_threads = 2});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages(
          [&](const std::shared_ptr<Socket>& socket, Message message) {
            started.Add(message.body);
            if (message.body == "block") {
              released.wait_for(std::chrono::seconds(60));
            }
            socket->Send({.body = "done:" + message.body}).IgnoreError();
          }),
      IsOk());
  auto blocked = Dial((*listener)->Address());
  auto other = Dial((*listener)->Address());
  ASSERT_TRUE(blocked && other);
  ASSERT_THAT(blocked->Send({.body = "block"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, kWait));
  for (int i = 0; i < 3; ++i) {
    const std::string body = absl::StrCat("call-", i);
    ASSERT_THAT(other->Send({.body = body}), IsOk());
    EXPECT_THAT(other->Recv(Deadline()),
                IsOkAndHolds(::testing::Field(&Message::body, "done:" + body)));
  }
  release.set_value();
  EXPECT_THAT(blocked->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:block")));
}

TEST_P(TransportConformanceTest, MessagesBeyondTheWaitingCapGoToOnOverload) {
  // One thread, held by the first message; one more may wait; the third
  // is handed to on_overload, which answers at once.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Collector<std::string> started;
  auto listener = server_->Listen(
      "", {.handler_threads = 1,
           .max_waiting_messages = 1,
           .on_overload = [](const std::shared_ptr<Socket>& socket,
                             Message message) {
             socket->Send({.body = "busy:" + message.body}).IgnoreError();
           }});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages(
          [&](const std::shared_ptr<Socket>& socket, Message message) {
            started.Add(message.body);
            if (message.body == "first") released.wait();
            socket->Send({.body = "done:" + message.body}).IgnoreError();
          }),
      IsOk());
  auto first = Dial((*listener)->Address());
  auto second = Dial((*listener)->Address());
  auto third = Dial((*listener)->Address());
  ASSERT_TRUE(first && second && third);
  ASSERT_THAT(first->Send({.body = "first"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, absl::Seconds(10)));
  ASSERT_THAT(second->Send({.body = "second"}), IsOk());
  // Both backends deliver one client's messages to a listener in the
  // order sent, so "second" waits before "third" arrives.
  ASSERT_THAT(third->Send({.body = "third"}), IsOk());
  EXPECT_THAT(third->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "busy:third")));
  release.set_value();
  EXPECT_THAT(first->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:first")));
  EXPECT_THAT(second->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:second")));
  // The third socket still works once there is room.
  ASSERT_THAT(third->Send({.body = "again"}), IsOk());
  EXPECT_THAT(third->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:again")));
}

TEST_P(TransportConformanceTest, MessageArrivedSaysWhenAQueuedMessageCame) {
  // One thread, held by the first message while the second waits for it:
  // the second's call sees when it arrived, the wait before it ran
  // included.
  EXPECT_EQ(MessageArrived(), absl::InfinitePast());  // not in a call
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Collector<std::string> started;
  std::mutex mu;
  absl::Time second_arrived = absl::InfinitePast();
  absl::Time second_started;
  auto listener = server_->Listen("", {.handler_threads = 1});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages(
          [&](const std::shared_ptr<Socket>& socket, Message message) {
            if (message.body == "second") {
              std::lock_guard<std::mutex> lock(mu);
              second_arrived = MessageArrived();
              second_started = concurrency::CoarseNow();
            }
            started.Add(message.body);
            if (message.body == "first") released.wait();
            socket->Send({.body = "done:" + message.body}).IgnoreError();
          }),
      IsOk());
  auto first = Dial((*listener)->Address());
  auto second = Dial((*listener)->Address());
  ASSERT_TRUE(first && second);
  ASSERT_THAT(first->Send({.body = "first"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(1, absl::Seconds(10)));
  const absl::Time sent = concurrency::CoarseNow();
  ASSERT_THAT(second->Send({.body = "second"}), IsOk());
  // The wait being measured, not a synchronisation: "second" arrives long
  // before it ends.
  absl::SleepFor(absl::Milliseconds(300));
  release.set_value();
  EXPECT_THAT(second->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:second")));
  EXPECT_THAT(first->Recv(Deadline()), IsOk());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_NE(second_arrived, absl::InfinitePast());
  EXPECT_GE(second_arrived, sent);
  EXPECT_GE(second_started - second_arrived, absl::Milliseconds(100));
  EXPECT_EQ(MessageArrived(), absl::InfinitePast());
}

TEST_P(TransportConformanceTest, AKeptSocketsMessagesAreNeverShedNorCounted) {
  // One thread, held by "block"; at most one message may wait. A socket
  // whose handler registered NotifyOnEnd (kept) gets every message, in
  // order, however many wait; they do not fill the cap either, so one
  // other message still waits and only the next is shed.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> shed{0};
  Collector<std::string> started;
  auto listener = server_->Listen(
      "", {.handler_threads = 1,
           .max_waiting_messages = 1,
           .on_overload = [&](const std::shared_ptr<Socket>& socket,
                              Message message) {
             shed.fetch_add(1);
             socket->Send({.body = "busy:" + message.body}).IgnoreError();
           }});
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(
      (*listener)->AcceptMessages([&](const std::shared_ptr<Socket>& socket,
                                      Message message) {
        started.Add(message.body);
        if (message.body == "keep") {
          EXPECT_THAT(socket->NotifyOnEnd([](const absl::Status&) {}), IsOk());
        }
        if (message.body == "block") released.wait();
        socket->Send({.body = "done:" + message.body}).IgnoreError();
      }),
      IsOk());
  auto kept = Dial((*listener)->Address());
  auto blocker = Dial((*listener)->Address());
  auto waiter = Dial((*listener)->Address());
  auto other = Dial((*listener)->Address());
  ASSERT_TRUE(kept && blocker && waiter && other);
  ASSERT_THAT(kept->Send({.body = "keep"}), IsOk());
  ASSERT_THAT(kept->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:keep")));
  ASSERT_THAT(blocker->Send({.body = "block"}), IsOk());
  ASSERT_TRUE(started.WaitForCount(2, absl::Seconds(10)));
  // One client's messages reach the listener in the order sent (both
  // backends), so all of these wait behind "block" in this order.
  constexpr int kKept = 100;
  for (int i = 0; i < kKept; ++i) {
    ASSERT_THAT(kept->Send({.body = absl::StrCat("k", i)}), IsOk());
  }
  ASSERT_THAT(waiter->Send({.body = "wait"}), IsOk());
  ASSERT_THAT(other->Send({.body = "shed"}), IsOk());
  EXPECT_THAT(other->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "busy:shed")));
  release.set_value();
  EXPECT_THAT(blocker->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:block")));
  for (int i = 0; i < kKept; ++i) {
    ASSERT_THAT(kept->Recv(Deadline()),
                IsOkAndHolds(::testing::Field(&Message::body,
                                              absl::StrCat("done:k", i))));
  }
  EXPECT_THAT(waiter->Recv(Deadline()),
              IsOkAndHolds(::testing::Field(&Message::body, "done:wait")));
  EXPECT_EQ(shed.load(), 1);
}

TEST_P(TransportConformanceTest, ASocketBeyondTheCapIsRefusedAtOnce) {
  auto listener = MessageEchoListener(*server_, {.max_sockets = 3});
  ASSERT_NE(listener, nullptr);
  std::vector<std::unique_ptr<Socket>> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.push_back(Dial(listener->Address()));
    ASSERT_NE(sockets.back(), nullptr);
  }
  const absl::Time start = absl::Now();
  EXPECT_THAT(client_->Dial(listener->Address()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("3 sockets")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // not the dial timeout
  EXPECT_EQ(listener->OpenSockets(), 3u);
  // The open ones still work; once one closes there is room again.
  ASSERT_THAT(sockets[0]->Send({.body = "x"}), IsOk());
  EXPECT_THAT(sockets[0]->Recv(Deadline()), IsOk());
  ASSERT_THAT(sockets[1]->Close(), IsOk());
  ASSERT_TRUE(Eventually([&] { return listener->OpenSockets() == 2; }, kWait,
                         "closed socket freed"));
  EXPECT_NE(Dial(listener->Address()), nullptr);
}

TEST_P(TransportConformanceTest, WithoutHandshakeAFullListenerEndsTheSocket) {
  auto listener = MessageEchoListener(*server_, {.max_sockets = 1});
  ASSERT_NE(listener, nullptr);
  auto taken = Dial(listener->Address());
  ASSERT_NE(taken, nullptr);
  auto socket = client_->Dial(listener->Address(), {.handshake = false});
  if (env_->knows_listeners_at_dial()) {
    EXPECT_THAT(socket, StatusIs(absl::StatusCode::kResourceExhausted));
    return;
  }
  ASSERT_THAT(socket, IsOk());
  ASSERT_THAT((*socket)->Send({.body = "x"}), IsOk());
  EXPECT_THAT((*socket)->Recv(Deadline()),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_P(TransportConformanceTest, WithoutHandshakeACallIsOneRoundTrip) {
  auto listener = MessageEchoListener(*server_);
  ASSERT_NE(listener, nullptr);
  auto socket = client_->Dial(listener->Address(), {.handshake = false});
  ASSERT_THAT(socket, IsOk());
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT((*socket)->Send({.body = std::to_string(i)}), IsOk());
    EXPECT_THAT(
        (*socket)->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, std::to_string(i))));
  }
  EXPECT_EQ(listener->OpenSockets(), 1u);
}

TEST_P(TransportConformanceTest, WithoutHandshakeNobodyListeningIsUnavailable) {
  auto listener = server_->Listen("");
  ASSERT_THAT(listener, IsOk());
  const std::string address = (*listener)->Address();
  (*listener)->Close().IgnoreError();
  auto socket = client_->Dial(address, {.handshake = false});
  if (env_->knows_listeners_at_dial()) {
    EXPECT_THAT(socket, StatusIs(absl::StatusCode::kUnavailable));
    return;
  }
  ASSERT_THAT(socket, IsOk());
  ASSERT_THAT((*socket)->Send({.body = "anyone?"}), IsOk());
  absl::StatusOr<Message> answer = (*socket)->Recv(Deadline());
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable));
  // Said so: a client may send it elsewhere without running it twice.
  EXPECT_EQ(DeliveryOf(answer.status()), Delivery::kNotDelivered);
}

// A handler that works longer than the idle timeout keeps its socket and
// answers; in both handler styles.
TEST_P(TransportConformanceTest, ABusySocketIsNotReaped) {
  const ListenOptions options = {.idle_timeout = absl::Milliseconds(200)};
  auto blocking = server_->Listen("", options);
  auto messages = server_->Listen("", options);
  ASSERT_THAT(blocking, IsOk());
  ASSERT_THAT(messages, IsOk());
  auto slow_echo = [](Socket& socket, const Message& message) {
    absl::SleepFor(absl::Milliseconds(600));  // the work itself, not a wait
    return socket.Send(message);
  };
  ASSERT_THAT((*blocking)->Accept([&](std::unique_ptr<Socket> socket) {
    auto m = socket->Recv(absl::InfiniteFuture());
    if (m.ok()) slow_echo(*socket, *m).IgnoreError();
    socket->Recv(absl::InfiniteFuture()).IgnoreError();
  }),
              IsOk());
  ASSERT_THAT((*messages)->AcceptMessages(
                  [&](const std::shared_ptr<Socket>& socket, Message m) {
                    slow_echo(*socket, m).IgnoreError();
                  }),
              IsOk());
  for (Listener* listener : {blocking->get(), messages->get()}) {
    auto socket = Dial(listener->Address());
    ASSERT_NE(socket, nullptr);
    ASSERT_THAT(socket->Send({.body = "take your time"}), IsOk());
    EXPECT_THAT(
        socket->Recv(Deadline()),
        IsOkAndHolds(::testing::Field(&Message::body, "take your time")));
    // Idle once answered: reaped as before.
    EXPECT_THAT(socket->Recv(Deadline()),
                StatusIs(absl::StatusCode::kOutOfRange));
  }
}

// A Dial that gave up leaves nothing open at the listener, even when its
// open arrives there after the Dial returned.
TEST_P(TransportConformanceTest, ADialThatTimedOutHoldsNothing) {
  auto listener = MessageEchoListener(*server_);
  ASSERT_NE(listener, nullptr);
  auto hasty =
      client_->Dial(listener->Address(), {.timeout = absl::ZeroDuration()});
  if (hasty.ok()) {
    (*hasty)->Close().IgnoreError();  // a backend that needs no wait
  } else {
    EXPECT_THAT(hasty, StatusIs(absl::StatusCode::kDeadlineExceeded));
  }
  // Whatever the hasty dial sent arrives before this socket's messages.
  auto socket = Dial(listener->Address());
  ASSERT_NE(socket, nullptr);
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  ASSERT_THAT(socket->Recv(Deadline()), IsOk());
  EXPECT_EQ(listener->OpenSockets(), 1u);
}

TEST_P(TransportConformanceTest, AnInfiniteDialTimeoutWaitsForTheAnswer) {
  auto listener = MessageEchoListener(*server_);
  ASSERT_NE(listener, nullptr);
  auto socket =
      client_->Dial(listener->Address(), {.timeout = absl::InfiniteDuration()});
  ASSERT_THAT(socket, IsOk());
  ASSERT_THAT((*socket)->Send({.body = "x"}), IsOk());
  EXPECT_THAT((*socket)->Recv(absl::InfiniteFuture()), IsOk());
}

// A handler stuck on something other than Recv does not hang Shutdown,
// Close or the destructor: they return by their deadline, say what was
// left, and the socket is ended for its client.
TEST_P(TransportConformanceTest,
       ShutdownReturnsByItsDeadlineWithAHandlerStuck) {
  for (bool messages : {false, true}) {
    SCOPED_TRACE(messages ? "AcceptMessages" : "Accept");
    auto gate = std::make_shared<std::mutex>();
    gate->lock();
    Collector<int> started;
    auto listener =
        server_->Listen("", {.close_timeout = absl::Milliseconds(100)});
    ASSERT_THAT(listener, IsOk());
    auto stuck = [gate, &started] {
      started.Add(1);
      std::lock_guard<std::mutex> wait(*gate);
    };
    if (messages) {
      ASSERT_THAT(
          (*listener)->AcceptMessages(
              [stuck](const std::shared_ptr<Socket>&, Message) { stuck(); }),
          IsOk());
    } else {
      ASSERT_THAT((*listener)->Accept([stuck](std::unique_ptr<Socket> s) {
        if (s->Recv(absl::InfiniteFuture()).ok()) stuck();
      }),
                  IsOk());
    }
    auto socket = Dial((*listener)->Address());
    ASSERT_NE(socket, nullptr);
    ASSERT_THAT(socket->Send({.body = "block"}), IsOk());
    ASSERT_TRUE(started.WaitForCount(1, kWait));
    EXPECT_THAT((*listener)->Shutdown(absl::Now() + absl::Milliseconds(100)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         ::testing::HasSubstr("1 handler")));
    EXPECT_THAT(socket->Recv(Deadline()),
                StatusIs(absl::StatusCode::kOutOfRange));
    EXPECT_THAT((*listener)->Close(),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    listener->reset();  // bounded by close_timeout too
    gate->unlock();
  }
}

TEST_P(TransportConformanceTest, ShutdownWaitsForHandlersThatFinish) {
  auto listener = EchoListener();
  auto socket = Dial(listener->Address());
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  ASSERT_THAT(socket->Recv(Deadline()), IsOk());
  EXPECT_THAT(listener->Shutdown(absl::InfiniteFuture()), IsOk());
  EXPECT_EQ(listener->OpenSockets(), 0u);
  EXPECT_THAT(socket->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
}

}  // namespace micro_nats::transport::testing

#endif  // MICRO_NATS_TRANSPORT_TESTING_CONFORMANCE_H_
