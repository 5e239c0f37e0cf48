// Copyright 2026 The micro-nats Authors.

#include "transport/nats/nats_transport.h"

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "nats/message.h"
#include "status/status_macros.h"
#include "testing/nats_server.h"
#include "transport/testing/conformance.h"

namespace micro_nats::transport::testing {
namespace {

using ::micro_nats::testing::NatsServer;

// A real nats-server; every transport on its own connection.
class NatsEnvironment : public TransportEnvironment {
 public:
  explicit NatsEnvironment(std::unique_ptr<NatsServer> server)
      : server_(std::move(server)) {}

  absl::StatusOr<std::unique_ptr<Transport>> NewTransport() override {
    auto conn = nats::Connection::Connect({.servers = {server_->url()}});
    if (!conn.ok()) return conn.status();
    return NewNatsTransport(*conn);
  }
  size_t max_message_bytes() const override { return 1 << 20; }
  const NatsServer& server() const { return *server_; }

 private:
  std::unique_ptr<NatsServer> server_;
};

absl::StatusOr<std::unique_ptr<TransportEnvironment>> MakeNatsEnvironment() {
  auto server = NatsServer::Start();
  if (!server.ok()) return server.status();
  return std::make_unique<NatsEnvironment>(std::move(server).value());
}

INSTANTIATE_TEST_SUITE_P(Nats, TransportConformanceTest,
                         ::testing::Values(TransportBackend{
                             "Nats", &MakeNatsEnvironment}),
                         TransportBackendName);

class NatsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
    MN_ASSERT_OK_AND_ASSIGN(
        raw_, nats::Connection::Connect({.servers = {server_->url()}}));
    MN_ASSERT_OK_AND_ASSIGN(
        auto conn, nats::Connection::Connect({.servers = {server_->url()}}));
    MN_ASSERT_OK_AND_ASSIGN(transport_, NewNatsTransport(conn));
  }

  // The raw peer dials `address` from `inbox`, as the transport's Dial
  // would.
  absl::Status RawOpen(const std::string& address, const std::string& inbox) {
    return raw_->Publish(
        address, "",
        {.reply = inbox, .headers = {{kControlHeader, kControlOpen}}});
  }

  std::unique_ptr<NatsServer> server_;
  std::shared_ptr<nats::Connection> raw_;  // plays a peer written elsewhere
  std::unique_ptr<Transport> transport_;
};

TEST_F(NatsTransportTest, SendToAVanishedListenerIsUnavailableAtOnce) {
  // A listener that answers the open, then disappears without closing
  // (as a crashed process would).
  MN_ASSERT_OK_AND_ASSIGN(
      auto fake_listener,
      raw_->Subscribe("crashy.service", [this](natsMsg* msg) {
        raw_->Publish(nats::Reply(msg), "",
                      {.headers = {{kControlHeader, kControlOpenAck}}})
            .IgnoreError();
      }));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial("crashy.service"));
  ASSERT_THAT(fake_listener->Unsubscribe(), IsOk());
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());

  const absl::Duration deadline = absl::Seconds(30);
  const absl::Time start = absl::Now();
  ASSERT_THAT(socket->Send({.body = "anyone there?"}), IsOk());
  absl::StatusOr<Message> answer = socket->Recv(start + deadline);
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable,
                               ::testing::HasSubstr("crashy.service")));
  // Prompt: NATS answered "no responders"; the deadline was not waited out.
  EXPECT_LT(absl::Now() - start, deadline / 4);
  // To the request itself: nobody took it.
  EXPECT_EQ(DeliveryOf(answer.status()), Delivery::kNotDelivered);
}

TEST_F(NatsTransportTest, AListenerThatVanishesAfterTheRequestEndsRecvByProbe) {
  // A listener that takes the request, then disappears without answering
  // or closing (its process was killed).
  Collector<std::string> requests;
  MN_ASSERT_OK_AND_ASSIGN(auto fake_listener,
                          raw_->Subscribe("doomed.service", [&](natsMsg* msg) {
                            requests.Add(std::string(nats::Body(msg)));
                          }));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto socket,
      transport_->Dial(
          "doomed.service",
          {.handshake = false, .probe_interval = absl::Milliseconds(50)}));
  ASSERT_THAT(socket->Send({.body = "request"}), IsOk());
  ASSERT_TRUE(requests.WaitForCount(1, absl::Seconds(10)));
  ASSERT_THAT(fake_listener->Unsubscribe(), IsOk());
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());

  const absl::Duration deadline = absl::Seconds(30);
  const absl::Time start = absl::Now();
  absl::StatusOr<Message> answer = socket->Recv(start + deadline);
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kUnavailable,
                               ::testing::HasSubstr("doomed.service")));
  EXPECT_LT(absl::Now() - start, deadline / 4);
  // The probe found the listener gone after it took the request.
  EXPECT_EQ(DeliveryOf(answer.status()), Delivery::kMaybeDelivered);
}

TEST_F(NatsTransportTest, AProbeBeforeTheLastRequestLeavesItNotDelivered) {
  // A reused socket: its first request is answered after probes ran; the
  // listener then vanishes, and the second request's "no responders" says
  // it reached nobody (the earlier probes do not count).
  Collector<std::string> replies;  // of data messages
  std::atomic<int> pings{0};
  MN_ASSERT_OK_AND_ASSIGN(auto fake_listener,
                          raw_->Subscribe("slow.service", [&](natsMsg* msg) {
                            const Headers headers = nats::ReadHeaders(msg);
                            auto control = headers.find(kControlHeader);
                            if (control == headers.end()) {
                              replies.Add(std::string(nats::Reply(msg)));
                            } else if (control->second == kControlPing) {
                              ++pings;
                            }
                          }));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto socket,
      transport_->Dial(
          "slow.service",
          {.handshake = false, .probe_interval = absl::Milliseconds(20)}));
  ASSERT_THAT(socket->Send({.body = "first"}), IsOk());
  ASSERT_TRUE(replies.WaitForCount(1, absl::Seconds(10)));
  absl::StatusOr<Message> first = absl::UnknownError("not received");
  std::thread receiver(
      [&] { first = socket->Recv(absl::Now() + absl::Seconds(30)); });
  ASSERT_TRUE(::micro_nats::testing::Eventually(
      [&] { return pings.load() > 0; }, absl::Seconds(10), "a probe"));
  ASSERT_THAT(raw_->Publish(replies.Snapshot()[0], "answer"), IsOk());
  receiver.join();
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(fake_listener->Unsubscribe(), IsOk());
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  ASSERT_THAT(socket->Send({.body = "second"}), IsOk());
  absl::StatusOr<Message> second =
      socket->Recv(absl::Now() + absl::Seconds(30));
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(DeliveryOf(second.status()), Delivery::kNotDelivered);
}

TEST_F(NatsTransportTest, SendToAVanishedClientEndsTheServerSocketAtOnce) {
  std::promise<void> client_gone;
  std::shared_future<void> gone = client_gone.get_future().share();
  const absl::Duration deadline = absl::Seconds(30);
  Collector<std::pair<absl::Status, absl::Duration>> ended;
  MN_ASSERT_OK_AND_ASSIGN(
      auto listener,
      transport_->Listen("served", {.idle_timeout = absl::Hours(1)}));
  ASSERT_THAT(listener->Accept([&](std::unique_ptr<Socket> socket) {
    if (!socket->Recv(absl::InfiniteFuture()).ok()) return;
    gone.wait();
    const absl::Time start = absl::Now();
    socket->Send({.body = "reply"}).IgnoreError();
    ended.Add({socket->Recv(start + deadline).status(), absl::Now() - start});
  }),
              IsOk());
  // A client written elsewhere, whose process dies after its request.
  Collector<int> acks;
  MN_ASSERT_OK_AND_ASSIGN(
      auto inbox,
      raw_->Subscribe("_INBOX.doomed", [&](natsMsg*) { acks.Add(1); }));
  ASSERT_THAT(RawOpen("served", "_INBOX.doomed"), IsOk());
  ASSERT_TRUE(acks.WaitForCount(1, absl::Seconds(10)));
  ASSERT_THAT(raw_->Publish("served", "request", {.reply = "_INBOX.doomed"}),
              IsOk());
  ASSERT_THAT(inbox->Unsubscribe(), IsOk());
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  client_gone.set_value();

  ASSERT_TRUE(ended.WaitForCount(1, absl::Seconds(20)));
  EXPECT_THAT(ended.Snapshot()[0].first,
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("_INBOX.doomed")));
  EXPECT_LT(ended.Snapshot()[0].second, deadline / 4);
  ASSERT_TRUE(Eventually([&] { return listener->OpenSockets() == 0; },
                         absl::Seconds(10), "server socket freed"));
}

// Anyone can publish "open" messages from made-up reply subjects. They
// start no thread (a socket holds none until it has a message), and past
// max_sockets they are refused, each told so.
TEST_F(NatsTransportTest, ForgedOpensAddFewThreadsAndAreRefusedPastTheCap) {
  constexpr int kForged = 500;
  constexpr size_t kCap = 100;
  for (bool blocking : {true, false}) {
    SCOPED_TRACE(blocking ? "Accept" : "AcceptMessages");
    MN_ASSERT_OK_AND_ASSIGN(auto listener,
                            transport_->Listen("", {.max_sockets = kCap}));
    if (blocking) {
      ASSERT_THAT(listener->Accept([](std::unique_ptr<Socket> socket) {
        while (socket->Recv(absl::InfiniteFuture()).ok()) {
        }
      }),
                  IsOk());
    } else {
      ASSERT_THAT(listener->AcceptMessages(
                      [](const std::shared_ptr<Socket>&, Message) {}),
                  IsOk());
    }
    const std::string prefix = nats::Connection::NewInbox();
    Collector<std::string> answers;
    MN_ASSERT_OK_AND_ASSIGN(
        auto inboxes, raw_->Subscribe(prefix + ".*", [&](natsMsg* msg) {
          const char* control = nullptr;
          natsMsgHeader_Get(msg, kControlHeader, &control);
          answers.Add(control == nullptr ? "data" : control);
        }));
    ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
    const int before = ::micro_nats::testing::ThreadCount();
    for (int i = 0; i < kForged; ++i) {
      ASSERT_THAT(RawOpen(listener->Address(), absl::StrCat(prefix, ".", i)),
                  IsOk());
    }
    ASSERT_TRUE(answers.WaitForCount(kForged, absl::Seconds(20)));
    std::map<std::string, int> counts;
    for (const std::string& a : answers.Snapshot()) ++counts[a];
    EXPECT_EQ(counts[kControlOpenAck], static_cast<int>(kCap));
    EXPECT_EQ(counts[kControlRefused], kForged - static_cast<int>(kCap));
    EXPECT_EQ(listener->OpenSockets(), kCap);
    EXPECT_LE(::micro_nats::testing::ThreadCount() - before, 16);
  }
}

// When NATS drops messages for a listener (its subscription fell behind),
// the sockets it serves may have lost some: they end, saying so, rather
// than go on with a gap.
TEST_F(NatsTransportTest, MessagesNatsDroppedForAListenerEndItsSockets) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn,
      nats::Connection::Connect({.servers = {server_->url()},
                                 .max_pending_msgs_per_subscription = 100}));
  MN_ASSERT_OK_AND_ASSIGN(auto server, NewNatsTransport(conn));
  MN_ASSERT_OK_AND_ASSIGN(
      auto listener,
      server->Listen("", {.max_pending = {.messages = 0, .bytes = 0}}));
  Collector<absl::Status> ended;
  Collector<int> serving;
  ASSERT_THAT(listener->Accept([&](std::unique_ptr<Socket> socket) {
    serving.Add(1);
    while (true) {
      auto m = socket->Recv(absl::InfiniteFuture());
      if (!m.ok()) {
        ended.Add(m.status());
        return;
      }
    }
  }),
              IsOk());
  const std::string inbox = nats::Connection::NewInbox();
  ASSERT_THAT(RawOpen(listener->Address(), inbox), IsOk());
  ASSERT_THAT(raw_->Publish(listener->Address(), "first", {.reply = inbox}),
              IsOk());
  ASSERT_TRUE(serving.WaitForCount(1, absl::Seconds(10)));
  for (int round = 0; round < 20 && ended.size() == 0; ++round) {
    for (int i = 0; i < 5000; ++i) {
      ASSERT_THAT(
          raw_->Publish(listener->Address(), "x",
                        {.reply = inbox, .delivery = nats::Delivery::kBatched}),
          IsOk());
    }
    ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
    ended.WaitForCount(1, absl::Milliseconds(200));
  }
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_THAT(ended.Snapshot()[0],
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("lost messages")));
}

// The same on the client side: NATS dropped messages for the process's
// inboxes, so its sockets end with ResourceExhausted.
TEST_F(NatsTransportTest, MessagesNatsDroppedForClientInboxesEndTheirSockets) {
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport_->Listen(""));
  ASSERT_THAT(listener->Accept([](std::unique_ptr<Socket> socket) {
    if (!socket->Recv(absl::InfiniteFuture()).ok()) return;
    for (int i = 0; i < 100000; ++i) {
      if (!socket->Send({.body = "flood"}).ok()) return;
    }
    socket->Recv(absl::InfiniteFuture()).IgnoreError();
  }),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn,
      nats::Connection::Connect({.servers = {server_->url()},
                                 .max_pending_msgs_per_subscription = 1}));
  MN_ASSERT_OK_AND_ASSIGN(auto client, NewNatsTransport(conn));
  MN_ASSERT_OK_AND_ASSIGN(
      auto socket, client->Dial(listener->Address(),
                                {.max_pending = {.messages = 0, .bytes = 0}}));
  ASSERT_THAT(socket->Send({.body = "go"}), IsOk());
  absl::Status end;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    auto m = socket->Recv(deadline);
    if (!m.ok()) {
      end = m.status();
      break;
    }
  }
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kResourceExhausted,
                            ::testing::HasSubstr("lost")));
}

// Anyone who may publish to a listener's address can send it a close with
// another client's inbox as the reply subject, and end that client's
// socket: NATS does not say who published a message. Subject permissions
// are the defence. Here the deployment lets only its clients publish to
// the service's subjects; a connection without that right (mallory) has
// its forged close refused by the server, and the socket carries on.
TEST(NatsTransportPermissionsTest, SubjectPermissionsStopAForgedClose) {
  MN_ASSERT_OK_AND_ASSIGN(auto server, NatsServer::Start({.extra_config = R"(
authorization {
  users = [
    {user: svc, password: svc}
    {user: client, password: client, permissions: {
      publish: ["micro.svc.>"], subscribe: ["_INBOX.>"]}}
    {user: mallory, password: mallory, permissions: {
      publish: {deny: ["micro.svc.>"]}, subscribe: ["_INBOX.>"]}}
  ]
}
)"}));
  auto connect = [&](const std::string& who) {
    return nats::Connection::Connect(
        {.servers = {server->url()}, .user = who, .password = who});
  };
  MN_ASSERT_OK_AND_ASSIGN(auto svc_conn, connect("svc"));
  MN_ASSERT_OK_AND_ASSIGN(auto client_conn, connect("client"));
  MN_ASSERT_OK_AND_ASSIGN(auto mallory, connect("mallory"));
  MN_ASSERT_OK_AND_ASSIGN(auto svc, NewNatsTransport(svc_conn));
  MN_ASSERT_OK_AND_ASSIGN(auto client, NewNatsTransport(client_conn));
  MN_ASSERT_OK_AND_ASSIGN(auto listener, svc->Listen("micro.svc.echo"));
  ASSERT_THAT(listener->AcceptMessages(
                  [](const std::shared_ptr<Socket>& socket, Message m) {
                    socket->Send(m).IgnoreError();
                  }),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto socket, client->Dial("micro.svc.echo"));
  ASSERT_THAT(socket->Send({.body = "before"}), IsOk());
  ASSERT_THAT(socket->Recv(absl::Now() + absl::Seconds(10)), IsOk());

  // The forgery: a close "from" the victim's inbox.
  ASSERT_THAT(mallory->Publish("micro.svc.echo", "",
                               {.reply = socket->LocalAddress(),
                                .headers = {{kControlHeader, kControlClose}}}),
              IsOk());
  mallory->Flush(absl::Seconds(5)).IgnoreError();  // the server refused it
  ASSERT_THAT(socket->Send({.body = "after"}), IsOk());
  EXPECT_THAT(socket->Recv(absl::Now() + absl::Seconds(10)),
              IsOkAndHolds(::testing::Field(&Message::body, "after")));
  EXPECT_EQ(listener->OpenSockets(), 1u);
}

// A peer that may publish to the listener (any client of the service) and
// learns another client's inbox cannot end that socket: a close must carry
// the token the socket started with. The owner's own close still works.
TEST_F(NatsTransportTest, AForgedCloseWithoutTheSocketsTokenIsIgnored) {
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport_->Listen("token.echo"));
  ASSERT_THAT(listener->AcceptMessages(
                  [](const std::shared_ptr<Socket>& socket, Message m) {
                    // The token is the transport's: handlers never see it.
                    if (m.headers.count(kTokenHeader) != 0) m.body = "leaked";
                    socket->Send(m).IgnoreError();
                  }),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto client_conn, nats::Connection::Connect(
                                                {.servers = {server_->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(auto client, NewNatsTransport(client_conn));
  // With the handshake (token on the open) and without (on the first data
  // message, as the service client dials).
  for (bool handshake : {true, false}) {
    MN_ASSERT_OK_AND_ASSIGN(
        auto socket, client->Dial("token.echo", {.handshake = handshake}));
    ASSERT_THAT(socket->Send({.body = "before"}), IsOk());
    ASSERT_THAT(socket->Recv(absl::Now() + absl::Seconds(10)),
                IsOkAndHolds(::testing::Field(&Message::body, "before")));
    // The forgeries: a close "from" the victim's inbox, without a token
    // and with a wrong one.
    for (const nats::Headers& headers :
         {nats::Headers{{kControlHeader, kControlClose}},
          nats::Headers{{kControlHeader, kControlClose},
                        {kTokenHeader, "0123456789abcdef0123456789abcdef"}}}) {
      ASSERT_THAT(
          raw_->Publish("token.echo", "",
                        {.reply = socket->LocalAddress(), .headers = headers}),
          IsOk());
    }
    ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
    ASSERT_THAT(socket->Send({.body = "after"}), IsOk());
    EXPECT_THAT(socket->Recv(absl::Now() + absl::Seconds(10)),
                IsOkAndHolds(::testing::Field(&Message::body, "after")))
        << "handshake " << handshake;
    EXPECT_EQ(listener->OpenSockets(), 1u);
    ASSERT_THAT(socket->Close(), IsOk());
    EXPECT_TRUE(Eventually([&] { return listener->OpenSockets() == 0; },
                           absl::Seconds(10),
                           "the real close ended the server's socket"));
  }
}

// nats.c reconnects and resubscribes on its own: a listener serves new
// sockets again, and a socket dialled before the restart carries on.
TEST_F(NatsTransportTest, ListenersAndSocketsWorkAgainAfterTheServerRestarts) {
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport_->Listen("survives.echo"));
  ASSERT_THAT(listener->Accept([](std::unique_ptr<Socket> socket) {
    while (true) {
      auto m = socket->Recv(absl::InfiniteFuture());
      if (!m.ok() || !socket->Send(*m).ok()) return;
    }
  }),
              IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto client_conn, nats::Connection::Connect(
                                                {.servers = {server_->url()}}));
  MN_ASSERT_OK_AND_ASSIGN(auto client, NewNatsTransport(client_conn));
  MN_ASSERT_OK_AND_ASSIGN(auto before, client->Dial("survives.echo"));
  ASSERT_THAT(server_->Restart(), IsOk());

  // OK once `body` came back; DeadlineExceeded while nothing did (a message
  // sent around the restart may be lost with the old server); otherwise how
  // the socket ended.
  auto echo = [](Socket& socket, const std::string& body) -> absl::Status {
    MN_RETURN_IF_ERROR(socket.Send({.body = body}));
    while (true) {
      auto reply = socket.Recv(absl::Now() + absl::Milliseconds(200));
      if (!reply.ok()) return reply.status();
      if (reply->body == body) return absl::OkStatus();
    }
  };
  int attempt = 0;
  EXPECT_TRUE(Eventually(
      [&] {
        auto after =
            client->Dial("survives.echo", {.timeout = absl::Milliseconds(200)});
        return after.ok() &&
               echo(**after, absl::StrCat("new ", ++attempt)).ok();
      },
      absl::Seconds(15), "a new socket after the restart"));
  // The old socket carries on, unless it sent while its listener was still
  // reconnecting: NATS then said "no responders", and the socket ended with
  // Unavailable at once, as for a listener that is gone. Never a hang.
  absl::Status old;
  EXPECT_TRUE(Eventually(
      [&] {
        old = echo(*before, absl::StrCat("old ", ++attempt));
        return !absl::IsDeadlineExceeded(old);
      },
      absl::Seconds(15), "the old socket's answer after the restart"));
  EXPECT_TRUE(old.ok() || absl::IsUnavailable(old)) << old;
}

TEST_F(NatsTransportTest, DialToNothingIsUnavailableAtOnce) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(transport_->Dial("nobody.here", {.timeout = absl::Seconds(30)}),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("no responders")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(7));
}

TEST_F(NatsTransportTest, MalformedWireMessagesAreIgnoredAndServingGoesOn) {
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport_->Listen("robust.echo"));
  ASSERT_THAT(listener->Accept([](std::unique_ptr<Socket> socket) {
    while (true) {
      auto m = socket->Recv(absl::InfiniteFuture());
      if (!m.ok() || !socket->Send(*m).ok()) return;
    }
  }),
              IsOk());
  // No reply subject: nobody to answer, and no socket.
  ASSERT_THAT(raw_->Publish("robust.echo", "orphan"), IsOk());
  // An unknown control value.
  ASSERT_THAT(raw_->Publish("robust.echo", "",
                            {.reply = "_INBOX.someone",
                             .headers = {{kControlHeader, "explode"}}}),
              IsOk());
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial("robust.echo"));
  ASSERT_THAT(socket->Send({.body = "still serving"}), IsOk());
  EXPECT_THAT(socket->Recv(absl::Now() + absl::Seconds(10)),
              IsOkAndHolds(::testing::Field(&Message::body, "still serving")));
  EXPECT_EQ(listener->OpenSockets(), 1u);
}

TEST_F(NatsTransportTest, HeadersAndBodyTravelRawOnTheWire) {
  // A peer written elsewhere sees plain NATS headers and the raw body.
  Collector<std::pair<nats::Headers, std::string>> seen;
  MN_ASSERT_OK_AND_ASSIGN(
      auto peer, raw_->Subscribe("raw.peer", [&, this](natsMsg* msg) {
        const char* control = nullptr;
        if (natsMsgHeader_Get(msg, kControlHeader, &control) == NATS_OK) {
          raw_->Publish(nats::Reply(msg), "",
                        {.headers = {{kControlHeader, kControlOpenAck}}})
              .IgnoreError();
          return;
        }
        seen.Add({nats::ReadHeaders(msg), std::string(nats::Body(msg))});
      }));
  ASSERT_THAT(raw_->Flush(absl::Seconds(5)), IsOk());
  MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial("raw.peer"));
  ASSERT_THAT(socket->Send({.headers = {{"Micro-Endpoint", "Greeter.Hello"}},
                            .body = std::string("\x08\x96\x01", 3)}),
              IsOk());
  ASSERT_TRUE(seen.WaitForCount(1, absl::Seconds(10)));
  EXPECT_EQ(seen.Snapshot()[0].first,
            (nats::Headers{{"Micro-Endpoint", "Greeter.Hello"}}));
  EXPECT_EQ(seen.Snapshot()[0].second, std::string("\x08\x96\x01", 3));
}

TEST_F(NatsTransportTest, LateMessagesForAnEndedSocketDoNotStartANewOne) {
  Collector<std::string> sockets;  // remote address of each accepted socket
  MN_ASSERT_OK_AND_ASSIGN(auto listener, transport_->Listen("one.shot"));
  ASSERT_THAT(listener->Accept([&](std::unique_ptr<Socket> socket) {
    sockets.Add(socket->RemoteAddress());
    socket->Recv(absl::InfiniteFuture()).IgnoreError();  // then closes
  }),
              IsOk());
  // A client written elsewhere, on inbox "_INBOX.late".
  Collector<std::string> controls;
  MN_ASSERT_OK_AND_ASSIGN(auto inbox,
                          raw_->Subscribe("_INBOX.late", [&](natsMsg* msg) {
                            const char* control = "";
                            natsMsgHeader_Get(msg, kControlHeader, &control);
                            controls.Add(control);
                          }));
  ASSERT_THAT(RawOpen("one.shot", "_INBOX.late"), IsOk());
  ASSERT_TRUE(controls.WaitForCount(1, absl::Seconds(10)));
  ASSERT_THAT(raw_->Publish("one.shot", "first", {.reply = "_INBOX.late"}),
              IsOk());
  ASSERT_TRUE(controls.WaitForCount(2, absl::Seconds(10)));  // closed
  // Sent before the client heard: refused with another close, no socket.
  ASSERT_THAT(raw_->Publish("one.shot", "late", {.reply = "_INBOX.late"}),
              IsOk());
  ASSERT_TRUE(controls.WaitForCount(3, absl::Seconds(10)));
  EXPECT_THAT(
      controls.Snapshot(),
      ::testing::ElementsAre(kControlOpenAck, kControlClose, kControlClose));
  MN_ASSERT_OK_AND_ASSIGN(auto socket, transport_->Dial("one.shot"));
  ASSERT_THAT(socket->Send({.body = "x"}), IsOk());
  ASSERT_TRUE(sockets.WaitForCount(2, absl::Seconds(10)));
  EXPECT_THAT(sockets.Snapshot(),
              ::testing::ElementsAre("_INBOX.late", socket->LocalAddress()));
}

}  // namespace
}  // namespace micro_nats::transport::testing
