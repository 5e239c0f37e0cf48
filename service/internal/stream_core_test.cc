// Copyright 2026 The micro-nats Authors.

#include "service/internal/stream_core.h"

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/errors.h"
#include "status/status_matchers.h"
#include "testing/sync.h"
#include "transport/memory/memory_transport.h"

namespace micro_nats::service::service_internal {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(10);
absl::Time Deadline() { return absl::Now() + kWait; }

// --- Windows ---------------------------------------------------------------

TEST(WindowAdmitsTest, CountsMessagesAndBytes) {
  const StreamWindow w{.messages = 4, .bytes = 100};
  EXPECT_TRUE(WindowAdmits(w, 0, 0, 1000));  // one always passes
  EXPECT_TRUE(WindowAdmits(w, 3, 60, 40));
  EXPECT_FALSE(WindowAdmits(w, 4, 0, 0));  // four outstanding
  EXPECT_FALSE(WindowAdmits(w, 1, 60, 41));
  // Below half the bytes, a large one passes (credit comes per half
  // window: else it could wait for ever).
  EXPECT_TRUE(WindowAdmits(w, 1, 49, 1000));
  EXPECT_FALSE(WindowAdmits(w, 1, 50, 51));
}

TEST(SendWindowTest, CreditsFreeTheWindowAndHostileOnesAreRefused) {
  SendWindow send({.messages = 2, .bytes = 1000});
  EXPECT_TRUE(send.Admits(10));
  send.Sent(10);
  send.Sent(10);
  EXPECT_FALSE(send.Admits(10));
  EXPECT_THAT(send.Credit({.messages = 3, .bytes = 20}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(send.Credit({.messages = 1, .bytes = 21}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(send.Admits(10));
  ASSERT_THAT(send.Credit({.messages = 1, .bytes = 10}), IsOk());
  EXPECT_TRUE(send.Admits(10));
  // An older credit than the last is stale, not an error.
  ASSERT_THAT(send.Credit({.messages = 0, .bytes = 0}), IsOk());
  EXPECT_EQ(send.credited().messages, 1u);
  send.Sent(10);
  send.Unsent(10);
  EXPECT_EQ(send.sent().messages, 2u);
}

TEST(RecvWindowTest, CreditsEveryHalfWindowAndRefusesBeyond) {
  RecvWindow recv({.messages = 4, .bytes = 1 << 20});
  for (int i = 0; i < 4; ++i) ASSERT_THAT(recv.Arrived(10), IsOk());
  EXPECT_THAT(recv.Arrived(10),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("beyond the stream's window")));
  Counts credit;
  EXPECT_FALSE(recv.Read(10, &credit));
  EXPECT_TRUE(recv.Read(10, &credit));  // half of 4
  EXPECT_EQ(credit.messages, 2u);
  EXPECT_EQ(credit.bytes, 20u);
  EXPECT_EQ(recv.unread_messages(), 2u);
  ASSERT_THAT(recv.Arrived(10), IsOk());

  RecvWindow bytes({.messages = 100, .bytes = 100});
  ASSERT_THAT(bytes.Arrived(60), IsOk());
  EXPECT_THAT(bytes.Arrived(41),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(bytes.Read(60, &credit));      // over half the bytes
  ASSERT_THAT(bytes.Arrived(1000), IsOk());  // nothing unread: passes
}

// --- Frames from the peer are hostile -------------------------------------

TEST(FrameTest, KindsParseAndUnknownOnesAreRefused) {
  for (FrameKind kind :
       {FrameKind::kOpen, FrameKind::kAccept, FrameKind::kMsg,
        FrameKind::kCredit, FrameKind::kHalfClose, FrameKind::kEnd,
        FrameKind::kCancel, FrameKind::kPing}) {
    EXPECT_THAT(KindOf(Frame(kind).headers), IsOk());
    EXPECT_EQ(*KindOf(Frame(kind).headers), kind);
  }
  EXPECT_THAT(KindOf({}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(KindOf({{kStreamHeader, "MSG"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KindOf({{kStreamHeader, std::string(10000, 'x')}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FrameTest, WindowsAndCountsAreBoundedNumbers) {
  auto window = [](std::string messages, std::string bytes) {
    return ParseWindow({{kStreamMessagesHeader, std::move(messages)},
                        {kStreamBytesHeader, std::move(bytes)}});
  };
  EXPECT_THAT(window("16", "1024"), IsOk());
  for (auto [m, b] : std::vector<std::pair<std::string, std::string>>{
           {"0", "1024"},
           {"16", "0"},
           {"-1", "1024"},
           {"+16", "1024"},
           {" 16", "1024"},
           {"16x", "1024"},
           {"", "1024"},
           {"99999999999999999999999", "1024"},
           {"18446744073709551616", "1024"},
           {absl::StrCat(kMaxWindowMessages + 1), "1024"},
           {"16", absl::StrCat(kMaxWindowBytes + 1)}}) {
    EXPECT_THAT(window(m, b), StatusIs(absl::StatusCode::kInvalidArgument))
        << m << " " << b;
  }
  EXPECT_THAT(ParseWindow({{kStreamMessagesHeader, "16"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCounts({{kStreamMessagesHeader, "18446744073709551615"},
                           {kStreamBytesHeader, "0"}}),
              IsOk());
  EXPECT_THAT(ParseCounts({{kStreamMessagesHeader, "18446744073709551616"},
                           {kStreamBytesHeader, "0"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseKeepalive({}),
              ::micro_nats::testing::IsOkAndHolds(absl::ZeroDuration()));
  EXPECT_THAT(ParseKeepalive({{kStreamKeepaliveHeader, "1"}}),
              ::micro_nats::testing::IsOkAndHolds(kMinKeepalive));
  // A hostile server asking for 100 Hz pings gets 10 Hz at most.
  EXPECT_THAT(ParseKeepalive({{kStreamKeepaliveHeader, "10000000"}}),
              ::micro_nats::testing::IsOkAndHolds(absl::Milliseconds(100)));
  EXPECT_THAT(ParseKeepalive({{kStreamKeepaliveHeader, "99999999999999999"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FrameTest, OurHeadersAreNotTheUsers) {
  EXPECT_THAT(CheckUserHeaders({{"Trace", "1"}, {"Micro-Id", "x"}}), IsOk());
  EXPECT_THAT(CheckUserHeaders({{"Micro-Stream-Bytes", "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Headers headers{{"A", "1"},
                  {kStreamHeader, "msg"},
                  {kStreamBytesHeader, "1"},
                  {"Z", "2"}};
  StripStreamHeaders(&headers);
  EXPECT_EQ(headers, (Headers{{"A", "1"}, {"Z", "2"}}));
}

// --- Two ends over the memory transport -----------------------------------

// A server end fed by a message-mode listener; the test drives the client
// side with a raw socket (hostile) or a client StreamCore.
class StreamCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    transport_ = transport::NewMemoryTransport();
    auto listener = transport_->Listen("");
    ASSERT_THAT(listener, IsOk());
    listener_ = std::move(listener).value();
    ASSERT_THAT(listener_->AcceptMessages(
                    [this](const std::shared_ptr<transport::Socket>& socket,
                           Message frame) {
                      std::shared_ptr<StreamCore> server;
                      {
                        std::lock_guard<std::mutex> lock(mu_);
                        server = server_;
                        if (server == nullptr) {
                          server_ = std::make_shared<StreamCore>(
                              StreamCore::Role::kServer, socket, server_window_,
                              *ParseWindow(frame.headers),
                              absl::InfiniteFuture(), "test");
                          socket
                              ->NotifyOnEnd([weak = std::weak_ptr(server_)](
                                                const absl::Status& why) {
                                if (auto s = weak.lock()) s->OnSocketEnd(why);
                              })
                              .IgnoreError();
                          Message accept = Frame(FrameKind::kAccept);
                          SetWindow(&accept.headers, server_window_);
                          socket->Send(std::move(accept)).IgnoreError();
                          opened_.Add(true);
                          return;
                        }
                      }
                      server->OnFrame(std::move(frame));
                    }),
                IsOk());
  }

  void TearDown() override {
    std::lock_guard<std::mutex> lock(mu_);
    server_.reset();
  }

  // A raw socket that opened a stream with `window` and read the accept.
  std::unique_ptr<transport::Socket> OpenRaw(StreamWindow window) {
    auto socket = transport_->Dial(listener_->Address());
    EXPECT_THAT(socket, IsOk());
    Message open = Frame(FrameKind::kOpen);
    SetWindow(&open.headers, window);
    EXPECT_THAT((*socket)->Send(open), IsOk());
    auto accept = (*socket)->Recv(Deadline());
    EXPECT_THAT(accept, IsOk());
    EXPECT_TRUE(opened_.WaitForCount(++opens_, kWait));
    return std::move(socket).value();
  }

  std::shared_ptr<StreamCore> OpenClient(StreamWindow window) {
    auto socket = OpenRaw(window);
    return std::make_shared<StreamCore>(
        StreamCore::Role::kClient,
        std::shared_ptr<transport::Socket>(std::move(socket)), window,
        server_window_, absl::InfiniteFuture(), "test");
  }

  std::shared_ptr<StreamCore> server() {
    std::lock_guard<std::mutex> lock(mu_);
    return server_;
  }

  // The end frame the raw client reads next, skipping credits.
  static absl::Status EndOf(transport::Socket& socket) {
    for (;;) {
      auto frame = socket.Recv(Deadline());
      if (!frame.ok()) return frame.status();
      auto kind = KindOf(frame->headers);
      if (!kind.ok()) return kind.status();
      if (*kind != FrameKind::kEnd) continue;
      auto error = frame->headers.find(kErrorHeader);
      return error == frame->headers.end() ? absl::OkStatus()
                                           : ErrorFromJson(error->second);
    }
  }

  StreamWindow server_window_{.messages = 4, .bytes = 1 << 20};
  std::unique_ptr<transport::Transport> transport_;
  std::unique_ptr<transport::Listener> listener_;
  ::micro_nats::testing::Collector<bool> opened_;
  size_t opens_ = 0;
  std::mutex mu_;
  std::shared_ptr<StreamCore> server_;  // guarded by mu_
};

Message Msg(std::string body) {
  Message m = Frame(FrameKind::kMsg);
  m.body = std::move(body);
  return m;
}

TEST_F(StreamCoreTest, MessagesBeyondTheWindowEndTheStream) {
  auto raw = OpenRaw({.messages = 4, .bytes = 1 << 20});
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(raw->Send(Msg(absl::StrCat(i))), IsOk());
  }
  EXPECT_THAT(EndOf(*raw), StatusIs(absl::StatusCode::kResourceExhausted,
                                    HasSubstr("beyond the stream's window")));
  // The handler's end hears it at once, queued messages or not.
  EXPECT_THAT(server()->Recv(Deadline()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(server()->failed_flag()->load());
}

TEST_F(StreamCoreTest, BadCreditsEndTheStream) {
  for (auto [messages, bytes] :
       std::vector<std::pair<std::string, std::string>>{
           {"1", "0"}, {"x", "0"}, {"-1", "0"}}) {
    SCOPED_TRACE(messages);
    TearDown();
    auto raw = OpenRaw({.messages = 4, .bytes = 1 << 20});
    Message credit = Frame(FrameKind::kCredit);
    credit.headers[kStreamMessagesHeader] = messages;  // nothing was sent
    credit.headers[kStreamBytesHeader] = bytes;
    ASSERT_THAT(raw->Send(credit), IsOk());
    EXPECT_THAT(EndOf(*raw), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(server()->Send({.body = "x"}, Deadline()),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(StreamCoreTest, UnknownKindsAndASecondOpenEndTheStream) {
  for (Message bad : {Message{.headers = {{kStreamHeader, "reboot"}}},
                      Message{.body = "no kind"}, Frame(FrameKind::kOpen),
                      Frame(FrameKind::kEnd)}) {
    TearDown();
    auto raw = OpenRaw({.messages = 4, .bytes = 1 << 20});
    ASSERT_THAT(raw->Send(bad), IsOk());
    EXPECT_THAT(EndOf(*raw), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(server()->Recv(Deadline()),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(StreamCoreTest, HalfCloseEndsTheServersRecvAfterWhatWasSent) {
  auto raw = OpenRaw({.messages = 4, .bytes = 1 << 20});
  ASSERT_THAT(raw->Send(Msg("a")), IsOk());
  ASSERT_THAT(raw->Send(Frame(FrameKind::kHalfClose)), IsOk());
  auto a = server()->Recv(Deadline());
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->body, "a");
  EXPECT_EQ(a->headers.count(kStreamHeader), 0u);
  EXPECT_THAT(server()->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  // A message after the half-close is a protocol error.
  ASSERT_THAT(raw->Send(Msg("late")), IsOk());
  EXPECT_THAT(EndOf(*raw), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(StreamCoreTest, ASenderWaitsForCreditAndNothingIsLost) {
  server_window_ = {.messages = 2, .bytes = 1 << 20};
  auto client = OpenClient({.messages = 3, .bytes = 1 << 20});
  // Nobody reads: the third Send waits until its deadline, unsent.
  ASSERT_THAT(client->Send({.body = "0"}, Deadline()), IsOk());
  ASSERT_THAT(client->Send({.body = "1"}, Deadline()), IsOk());
  EXPECT_THAT(
      client->Send({.body = "x"}, absl::Now() + absl::Milliseconds(50)),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("not sent")));
  constexpr int kCount = 1000;
  std::thread reader([&] {
    for (int i = 0; i < kCount; ++i) {
      auto m = server()->Recv(Deadline());
      ASSERT_THAT(m, IsOk());
      ASSERT_EQ(m->body, absl::StrCat(i));
      // And back the other way, through the client's window of 3.
      ASSERT_THAT(server()->Send({.body = m->body}, Deadline()), IsOk());
    }
  });
  std::thread echo_reader([&] {
    for (int i = 0; i < kCount; ++i) {
      auto m = client->Recv(Deadline());
      ASSERT_THAT(m, IsOk());
      ASSERT_EQ(m->body, absl::StrCat(i));
    }
  });
  for (int i = 2; i < kCount; ++i) {
    ASSERT_THAT(client->Send({.body = absl::StrCat(i)}, Deadline()), IsOk());
  }
  reader.join();
  echo_reader.join();
  ASSERT_THAT(client->CloseSend(), IsOk());
  EXPECT_THAT(server()->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  server()->Finish(absl::OkStatus(), {{"Served-By", "test"}});
  EXPECT_THAT(client->Recv(Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(client->Send({.body = "after"}, Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(StreamCoreTest, CancelReachesTheServerAndAClientVanishingToo) {
  auto client = OpenClient({.messages = 3, .bytes = 1 << 20});
  std::thread waiting([&] {
    // The cancel, or the socket's end right after it (the end may be told
    // before the frames queued ahead of it are handed in).
    EXPECT_THAT(server()->Recv(Deadline()),
                StatusIs(absl::StatusCode::kCancelled));
  });
  EXPECT_TRUE(client->Abort(absl::CancelledError("bye"), true));
  waiting.join();
  EXPECT_TRUE(server()->failed_flag()->load());
  EXPECT_THAT(client->Recv(Deadline()),
              StatusIs(absl::StatusCode::kCancelled, "bye"));

  // A raw client that closes without a word.
  TearDown();
  auto raw = OpenRaw({.messages = 4, .bytes = 1 << 20});
  ASSERT_THAT(raw->Close(), IsOk());
  EXPECT_THAT(server()->Recv(Deadline()),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("went away")));
}

TEST_F(StreamCoreTest, TheEndCarriesTheHandlersErrorAfterItsMessages) {
  auto client = OpenClient({.messages = 3, .bytes = 1 << 20});
  ASSERT_THAT(server()->Send({.body = "one"}, Deadline()), IsOk());
  server()->Finish(absl::NotFoundError("no more"), {});
  auto one = client->Recv(Deadline());
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->body, "one");
  EXPECT_THAT(client->Recv(Deadline()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no more")));
  EXPECT_TRUE(client->Ended());
  // Destroying it now ends nothing: no cancel, the end stays the word.
  EXPECT_FALSE(client->Abort(absl::CancelledError("destroyed"), true));
  EXPECT_FALSE(client->failed_flag()->load());
  EXPECT_THAT(client->Recv(Deadline()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no more")));
}

// Recv gives "0" ... count-1, then the clean end.
::testing::AssertionResult ReadsThenEnds(StreamCore& client, int count) {
  for (int i = 0; i < count; ++i) {
    auto m = client.Recv(Deadline());
    if (!m.ok() || m->body != absl::StrCat(i)) {
      return ::testing::AssertionFailure()
             << "response " << i << ": "
             << (m.ok() ? m->body : m.status().ToString());
    }
  }
  absl::Status end = client.Recv(Deadline()).status();
  if (!absl::IsOutOfRange(end)) {
    return ::testing::AssertionFailure() << "then " << end;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(StreamCoreTest, ASendRefusedByTheServersEndLosesNoResponse) {
  // More frames wait on the socket than the client's window of default
  // size (1024) holds: a Send that finds the socket closed must leave them
  // all, and the handler's OK, to Recv.
  constexpr int kResponses = 1024 + 10;
  auto client = OpenClient({.messages = 2048, .bytes = 1 << 20});
  for (int i = 0; i < kResponses; ++i) {
    ASSERT_THAT(server()->Send({.body = absl::StrCat(i)}, Deadline()), IsOk());
  }
  server()->Finish(absl::OkStatus(), {});
  EXPECT_THAT(client->Send({.body = "late"}, Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(client->Send({.body = "later"}, Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(client->CloseSend(), IsOk());
  EXPECT_TRUE(ReadsThenEnds(*client, kResponses));
  EXPECT_FALSE(client->failed_flag()->load());
}

TEST_F(StreamCoreTest, ASendBlockedByTheWindowEndsWithTheServersEnd) {
  // The client waits in Send (the server's window is full, its handler
  // does not read); the handler sends, returns OK: Send says the end,
  // Recv reads every response, then OutOfRange.
  server_window_ = {.messages = 2, .bytes = 1 << 20};
  constexpr int kResponses = 16 + 10;
  auto client = OpenClient({.messages = 64, .bytes = 1 << 20});
  ASSERT_THAT(client->Send({.body = "0"}, Deadline()), IsOk());
  ASSERT_THAT(client->Send({.body = "1"}, Deadline()), IsOk());
  std::thread handler([&] {
    for (int i = 0; i < kResponses; ++i) {
      ASSERT_THAT(server()->Send({.body = absl::StrCat(i)}, Deadline()),
                  IsOk());
    }
    server()->Finish(absl::OkStatus(), {});
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(client->Send({.body = "blocked"}, Deadline()),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_LT(absl::Now() - start, kWait / 2);
  handler.join();
  EXPECT_TRUE(ReadsThenEnds(*client, kResponses));
}

// A hostile server: beyond the client's window, or a frame a server never
// sends. The client ends the stream and tells it (cancel).
TEST(HostileServerTest, TheClientEndsTheStreamAndSaysWhy) {
  struct Case {
    std::vector<Message> frames;
    absl::StatusCode code;
  };
  Message big_credit = Frame(FrameKind::kCredit);
  SetCounts(&big_credit.headers, {.messages = 5, .bytes = 5});
  for (Case c : std::vector<Case>{
           {{Msg("1"), Msg("2"), Msg("3")},
            absl::StatusCode::kResourceExhausted},
           {{Frame(FrameKind::kHalfClose)}, absl::StatusCode::kInvalidArgument},
           {{Frame(FrameKind::kAccept)}, absl::StatusCode::kInvalidArgument},
           {{big_credit}, absl::StatusCode::kInvalidArgument},
           {{Message{.body = "plain"}}, absl::StatusCode::kInvalidArgument}}) {
    auto transport = transport::NewMemoryTransport();
    auto listener = transport->Listen("");
    ASSERT_THAT(listener, IsOk());
    ::micro_nats::testing::Collector<std::string> heard;
    ASSERT_THAT(
        (*listener)->AcceptMessages(
            [&](const std::shared_ptr<transport::Socket>& socket,
                Message frame) {
              auto kind = KindOf(frame.headers);
              if (kind.ok() && *kind == FrameKind::kMsg) return;
              heard.Add(kind.ok() ? std::string(FrameKindName(*kind)) : "?");
              if (!kind.ok() || *kind != FrameKind::kOpen) return;
              for (const Message& m : c.frames) {
                socket->Send(m).IgnoreError();
              }
            }),
        IsOk());
    auto socket = transport->Dial((*listener)->Address());
    ASSERT_THAT(socket, IsOk());
    ASSERT_THAT((*socket)->Send(Frame(FrameKind::kOpen)), IsOk());
    StreamCore client(StreamCore::Role::kClient,
                      std::shared_ptr<transport::Socket>(std::move(*socket)),
                      {.messages = 2, .bytes = 1 << 20},
                      {.messages = 1, .bytes = 1 << 20}, absl::InfiniteFuture(),
                      "test");
    // The second Send waits for credit, reading the server's frames
    // (nobody reads the messages: they queue, up to the window).
    ASSERT_THAT(client.Send({.body = "a"}, Deadline()), IsOk());
    EXPECT_THAT(client.Send({.body = "b"}, Deadline()), StatusIs(c.code));
    EXPECT_THAT(client.Recv(Deadline()), StatusIs(c.code));
    EXPECT_TRUE(client.Ended());
    ASSERT_TRUE(heard.WaitForCount(2, kWait));
    EXPECT_EQ(heard.Snapshot()[1], "cancel");
  }
}

// A scripted server: on the open, sends `frames`; the first refused
// send's status goes to `refused`.
struct ScriptedServer {
  explicit ScriptedServer(std::vector<Message> frames)
      : transport(transport::NewMemoryTransport()) {
    auto l = transport->Listen("");
    EXPECT_THAT(l, IsOk());
    listener = std::move(l).value();
    EXPECT_THAT(listener->AcceptMessages(
                    [this, frames = std::move(frames)](
                        const std::shared_ptr<transport::Socket>& socket,
                        Message frame) {
                      auto kind = KindOf(frame.headers);
                      if (!kind.ok() || *kind != FrameKind::kOpen) return;
                      for (const Message& m : frames) {
                        absl::Status sent = socket->Send(m);
                        if (!sent.ok()) {
                          // A rep of its own, not shared with `sent`: its
                          // last Unref would be on this thread, in Debian's
                          // uninstrumented absl (a TSan false positive).
                          refused.Add(absl::Status(
                              sent.code(), std::string(sent.message())));
                          return;
                        }
                      }
                    }),
                IsOk());
  }
  std::unique_ptr<StreamCore> Client(StreamWindow own, StreamWindow peer,
                                     transport::DialOptions options = {}) {
    auto socket = transport->Dial(listener->Address(), options);
    EXPECT_THAT(socket, IsOk());
    EXPECT_THAT((*socket)->Send(Frame(FrameKind::kOpen)), IsOk());
    return std::make_unique<StreamCore>(
        StreamCore::Role::kClient,
        std::shared_ptr<transport::Socket>(std::move(*socket)), own, peer,
        absl::InfiniteFuture(), "test");
  }
  std::unique_ptr<transport::Transport> transport;
  std::unique_ptr<transport::Listener> listener;
  ::micro_nats::testing::Collector<absl::Status> refused;
};

TEST(HostileServerTest, AFloodIsCaughtWhileTheClientReadsPromptly) {
  // Window 4: the client read one (credit is due at two, so none was
  // told); a fifth beyond what it credited ends the stream, however few
  // are unread.
  ScriptedServer server({Msg("1"), Msg("2"), Msg("3"), Msg("4"), Msg("5")});
  auto client = server.Client({.messages = 4, .bytes = 1 << 20},
                              {.messages = 1, .bytes = 1 << 20});
  ASSERT_THAT(client->Send({.body = "a"}, Deadline()), IsOk());
  auto first = client->Recv(Deadline());
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->body, "1");
  // Waiting for credit, the client reads the rest.
  EXPECT_THAT(client->Send({.body = "b"}, Deadline()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("not credited")));
}

TEST(HostileServerTest, TheTransportEndsAFloodBeforeItIsRead) {
  const StreamWindow window{.messages = 4, .bytes = 1 << 20};
  const transport::PendingLimits limits = StreamPendingLimits(window);
  EXPECT_EQ(limits.messages, 4 + kStreamControlFrames);
  EXPECT_GE(limits.bytes, window.bytes + kStreamLargestMessage);
  EXPECT_LT(limits.bytes, size_t{64} << 20);  // the transport's default
  std::vector<Message> flood(limits.messages + 2, Msg("x"));
  ScriptedServer server(flood);
  auto client = server.Client(window, {.messages = 1, .bytes = 1 << 20},
                              {.max_pending = limits});
  // Nobody reads: the client's transport ends the socket at its limit,
  // and the server hears it closed.
  ASSERT_TRUE(server.refused.WaitForCount(1, kWait));
  EXPECT_THAT(server.refused.Snapshot()[0],
              StatusIs(absl::StatusCode::kOutOfRange));
  // What was queued before the limit reads (it was sent within credit,
  // read promptly), then the transport's word.
  absl::StatusOr<Message> m;
  size_t read = 0;
  while ((m = client->Recv(Deadline())).ok()) ++read;
  EXPECT_LE(read, limits.messages);
  EXPECT_THAT(
      m, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("unread")));
}

}  // namespace
}  // namespace micro_nats::service::service_internal
