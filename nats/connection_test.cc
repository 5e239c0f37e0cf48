// Copyright 2026 The micro-nats Authors.

#include "nats/connection.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nats/will_block.h"
#include "status/error_sink.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"

namespace micro_nats::nats {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::NatsServer;
using ::micro_nats::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr absl::Duration kWait = absl::Seconds(5);

// The count in a drop report ("...: dropped N message(s)..."), else 0.
int64_t DroppedIn(const absl::Status& status) {
  const std::string text(status.message());
  const size_t at = text.find("dropped ");
  if (at == std::string::npos) return 0;
  return std::strtoll(text.c_str() + at + 8, nullptr, 10);
}

// A one-shot event, waited for with a deadline.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }
  bool WaitFor(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return concurrency::WaitFor(cv_, lock, timeout, [&] { return notified_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MN_ASSERT_OK_AND_ASSIGN(server_, NatsServer::Start());
  }

  std::shared_ptr<Connection> Connect() {
    auto conn = Connection::Connect({.servers = {server_->url()},
                                     .reconnect_wait = absl::Milliseconds(50)});
    EXPECT_THAT(conn, IsOk());
    return conn.ok() ? *conn : nullptr;
  }

  std::unique_ptr<NatsServer> server_;
};

TEST_F(ConnectionTest, ConnectsAndReportsTheServer) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(conn->IsConnected());
  EXPECT_EQ(conn->ConnectedUrl(), server_->url());
  EXPECT_EQ(conn->max_payload(), 1 << 20);
}

TEST(ConnectionErrorsTest, UnreachableServerIsUnavailableNamingTheUrl) {
  MN_ASSERT_OK_AND_ASSIGN(int port, testing::PickFreeLoopbackPort());
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  EXPECT_THAT(Connection::Connect({.servers = {url}}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(url)));
}

TEST(ConnectionErrorsTest, MalformedUrlIsAnError) {
  auto conn = Connection::Connect({.servers = {"nats://"}});
  EXPECT_FALSE(conn.ok());
  EXPECT_THAT(conn.status().message(), HasSubstr("nats://"));
}

TEST(ConnectionErrorsTest, NoServersIsInvalidArgument) {
  EXPECT_THAT(Connection::Connect({.servers = {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectionTest, RequestGetsTheAnswerAndEveryWaitEnds) {
  auto server_side = Connect();
  auto client = Connect();
  ASSERT_NE(server_side, nullptr);
  ASSERT_NE(client, nullptr);
  auto echo = server_side->Subscribe("echo", [&](natsMsg* msg) {
    Headers headers = ReadHeaders(msg);
    server_side->Publish(Reply(msg), absl::StrCat(Body(msg), "/", headers["K"]))
        .IgnoreError();
  });
  ASSERT_THAT(echo, IsOk());
  auto silent = server_side->Subscribe("silent", [](natsMsg*) {});
  ASSERT_THAT(silent, IsOk());
  ASSERT_THAT(server_side->Flush(absl::Seconds(5)), IsOk());

  auto answer = client->Request("echo", "hi", {{"K", "v"}},
                                absl::Now() + absl::Seconds(5));
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(Body(answer->get()), "hi/v");
  EXPECT_THAT(client->Request("nobody", "", {}, absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(
      client->Request("silent", "", {}, absl::Now() + absl::Milliseconds(50)),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(client->Request("echo", "", {}, absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(ConnectionTest, PublishSubscribeRoundTripWithHeaders) {
  auto pub = Connect();
  auto sub_conn = Connect();
  Collector<std::pair<std::string, Headers>> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub,
                          sub_conn->Subscribe("greet", [&](natsMsg* msg) {
                            got.Add({std::string(Body(msg)), ReadHeaders(msg)});
                          }));
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  ASSERT_THAT(pub->Publish("greet", std::string("hi\0there", 8),
                           {.headers = {{"Micro-Id", "7"}}}),
              IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  auto [body, headers] = got.Snapshot().front();
  EXPECT_EQ(body, std::string("hi\0there", 8));
  EXPECT_THAT(headers, ElementsAre(Pair("Micro-Id", "7")));
  EXPECT_EQ(sub->subject(), "greet");
}

TEST_F(ConnectionTest, PublishWithReplyAndHeadersByReference) {
  auto pub = Connect();
  auto sub_conn = Connect();
  Collector<std::pair<std::string, Headers>> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto sub, sub_conn->Subscribe("ask", [&](natsMsg* msg) {
        got.Add({std::string(Reply(msg)), ReadHeaders(msg)});
      }));
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  const Headers headers = {{"Micro-Id", "7"}};
  // The reply is a view into a longer buffer: only its bytes are sent.
  const std::string buffer = "back.here and more";
  const absl::string_view reply = absl::string_view(buffer).substr(0, 9);
  ASSERT_THAT(pub->Publish("ask", "hi", reply, headers), IsOk());
  ASSERT_THAT(pub->Publish("ask", "hi", reply, {}), IsOk());
  ASSERT_TRUE(got.WaitForCount(2, kWait));
  auto snapshot = got.Snapshot();
  EXPECT_EQ(snapshot[0].first, "back.here");
  EXPECT_THAT(snapshot[0].second, ElementsAre(Pair("Micro-Id", "7")));
  EXPECT_EQ(snapshot[1].first, "back.here");
  EXPECT_THAT(snapshot[1].second, ::testing::IsEmpty());
  EXPECT_THAT(pub->Publish("ask", "hi", "bad reply", headers),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pub->Publish("ask", "hi", "bad reply", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectionTest, BatchedPublishesArriveInOrderAfterFlush) {
  auto pub = Connect();
  auto sub_conn = Connect();
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub,
                          sub_conn->Subscribe("bulk", [&](natsMsg* msg) {
                            got.Add(std::string(Body(msg)));
                          }));
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_THAT(pub->Publish("bulk", std::to_string(i),
                             {.delivery = Delivery::kBatched}),
                IsOk());
  }
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(got.WaitForCount(1000, kWait));
  auto items = got.Snapshot();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(items[i], std::to_string(i));
}

TEST_F(ConnectionTest, QueueGroupDeliversEachMessageOnce) {
  auto pub = Connect();
  auto sub_conn = Connect();
  Collector<int> got;
  std::vector<std::unique_ptr<Subscription>> subs;
  for (int member = 0; member < 3; ++member) {
    MN_ASSERT_OK_AND_ASSIGN(
        auto sub, sub_conn->Subscribe(
                      "work", [&got, member](natsMsg*) { got.Add(member); },
                      {.queue = "workers"}));
    subs.push_back(std::move(sub));
  }
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  for (int i = 0; i < 300; ++i) ASSERT_THAT(pub->Publish("work", "x"), IsOk());
  ASSERT_TRUE(got.WaitForCount(300, kWait));
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  EXPECT_EQ(got.size(), 300u);
}

TEST_F(ConnectionTest, UnsubscribeStopsDeliveryBeforeReturning) {
  auto conn = Connect();
  std::atomic<int> calls{0};
  std::atomic<bool> unsubscribed{false};
  std::atomic<bool> late{false};
  MN_ASSERT_OK_AND_ASSIGN(auto sub, conn->Subscribe("stop", [&](natsMsg*) {
    if (unsubscribed) late = true;
    ++calls;
  }));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  std::thread publisher([&] {
    for (int i = 0; i < 2000; ++i) conn->Publish("stop", "x").IgnoreError();
  });
  ASSERT_TRUE(Eventually([&] { return calls > 0; }, kWait, "first message"));
  ASSERT_THAT(sub->Unsubscribe(), IsOk());
  unsubscribed = true;
  publisher.join();
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  EXPECT_FALSE(late);
  EXPECT_THAT(sub->Unsubscribe(), IsOk());  // twice is fine
}

TEST_F(ConnectionTest, HandlerMayUnsubscribeItself) {
  auto conn = Connect();
  Collector<int> got;
  std::unique_ptr<Subscription> sub;
  MN_ASSERT_OK_AND_ASSIGN(sub, conn->Subscribe("self", [&](natsMsg*) {
    EXPECT_THAT(sub->Unsubscribe(), IsOk());
    got.Add(1);  // after: the test may destroy `sub` once it sees this
  }));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  for (int i = 0; i < 5; ++i) ASSERT_THAT(conn->Publish("self", "x"), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(ConnectionTest, SlowConsumerIsReportedToTheSubscription) {
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn,
      Connection::Connect({.servers = {server_->url()},
                           .max_pending_msgs_per_subscription = 10}));
  // Shared: the last drop report may come after the subscription is gone
  // (the counts reported add up to every message lost).
  auto errors = std::make_shared<Collector<absl::Status>>();
  std::mutex gate;
  gate.lock();  // the handler blocks until the test opens the gate
  MN_ASSERT_OK_AND_ASSIGN(
      auto sub,
      conn->Subscribe(
          "slow", [&](natsMsg*) { std::lock_guard<std::mutex> wait(gate); },
          {.on_error = [errors](const absl::Status& s) { errors->Add(s); }}));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  auto pub = Connect();
  for (int i = 0; i < 1000; ++i) pub->Publish("slow", "x").IgnoreError();
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(
      Eventually([&] { return errors->size() > 0 || sub->dropped() > 0; },
                 kWait, "slow consumer"));
  gate.unlock();
  ASSERT_TRUE(errors->WaitForCount(1, kWait));
  EXPECT_THAT(
      errors->Snapshot().front(),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("slow")));
}

// kAdaptive: a call over its budget (as a call preempted on a busy machine
// looks) sends the handler back to the pool to prove itself again, not for
// good; a call that waits in our code does.
TEST_F(ConnectionTest, AdaptiveHandlerComesBackAfterALongCallNotAfterAWait) {
  auto conn = Connect();
  auto pub = Connect();
  constexpr absl::Duration kBudget = absl::Milliseconds(20);
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(
      auto sub,
      conn->Subscribe(
          "adaptive",
          [&](natsMsg* msg) {
            const std::string body(Body(msg));
            if (body == "long") {
              // Works past its budget (without waiting in our code).
              const absl::Time end = absl::Now() + 3 * kBudget;
              while (absl::Now() < end) {
              }
            } else if (body == "wait") {
              WillBlock();
            }
            got.Add(body);
          },
          {.run_on = HandlerThread::kAdaptive, .inline_budget = kBudget}));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  size_t sent = 0;
  // Quick calls until the handler runs on the delivery thread. Each quick
  // message is waited for: a message published while the pool holds calls
  // stays on the pool.
  auto quick_until_inline = [&] {
    for (int i = 0; i < 1000 && !sub->RunsOnDeliveryThread(); ++i) {
      if (!pub->Publish("adaptive", "quick").ok()) return false;
      if (!got.WaitForCount(++sent, kWait)) return false;
    }
    return sub->RunsOnDeliveryThread();
  };
  ASSERT_TRUE(quick_until_inline());
  ASSERT_THAT(pub->Publish("adaptive", "long"), IsOk());
  ASSERT_TRUE(got.WaitForCount(++sent, kWait));
  ASSERT_TRUE(Eventually([&] { return !sub->RunsOnDeliveryThread(); }, kWait,
                         "back on the pool"));
  EXPECT_TRUE(quick_until_inline()) << "a long call kept it on the pool";
  ASSERT_THAT(pub->Publish("adaptive", "wait"), IsOk());
  ASSERT_TRUE(got.WaitForCount(++sent, kWait));
  ASSERT_TRUE(Eventually([&] { return !sub->RunsOnDeliveryThread(); }, kWait,
                         "back on the pool"));
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(pub->Publish("adaptive", "quick"), IsOk());
    ASSERT_TRUE(got.WaitForCount(++sent, kWait));
  }
  EXPECT_FALSE(sub->RunsOnDeliveryThread()) << "a wait is for good";
}

// Unsubscribe's return is the end of a subscription's error reports, as
// of its handler calls: the drops not yet reported are reported before it
// returns, none after (here the queued messages' tasks run after it).
TEST_F(ConnectionTest, NoErrorReportAfterUnsubscribeReturns) {
  auto conn = Connect();
  auto pub = Connect();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> unsubscribed{false};
  std::atomic<int64_t> reported{0};
  std::atomic<int> late_reports{0};
  Collector<absl::Status> errors;
  std::unique_ptr<Subscription> sub;
  std::atomic<bool> handler_done{false};
  auto on_error = [&](const absl::Status& status) {
    if (unsubscribed.load()) ++late_reports;
    reported += DroppedIn(status);
    errors.Add(status);
  };
  MN_ASSERT_OK_AND_ASSIGN(
      sub, conn->Subscribe("late",
                           [&](natsMsg*) {
                             if (unsubscribed.load()) return;
                             {
                               std::unique_lock<std::mutex> lock(mu);
                               cv.wait_for(lock, absl::ToChronoSeconds(kWait),
                                           [&] { return release; });
                             }
                             // From its own handler: this call finishes, no
                             // later one starts; the queued messages' tasks
                             // still run after it.
                             EXPECT_THAT(sub->Unsubscribe(), IsOk());
                             unsubscribed = true;
                             handler_done = true;
                           },
                           {.on_error = on_error,
                            .max_pending_msgs = 2,
                            .run_on = HandlerThread::kHandlerPool}));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  // One runs (blocked), two wait, the rest are dropped; the first drop is
  // reported at once.
  for (int i = 0; i < 20; ++i) ASSERT_THAT(pub->Publish("late", "x"), IsOk());
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(errors.WaitForCount(1, kWait));
  // More drops after that report: unreported when the handler goes on.
  for (int i = 0; i < 10; ++i) ASSERT_THAT(pub->Publish("late", "x"), IsOk());
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(
      Eventually([&] { return sub->dropped() >= 27; }, kWait, "27 dropped"));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(Eventually([&] { return handler_done.load(); }, kWait,
                         "the handler unsubscribed"));
  // Every drop is reported (the counts add up), and none after the return.
  ASSERT_TRUE(Eventually([&] { return reported.load() == sub->dropped(); },
                         kWait, "every drop reported"));
  EXPECT_EQ(late_reports.load(), 0);
}

// A delivery thread of a subscription's own is micro-nats' own (the
// InboxMux's, one per Connection): no HandlerThread gives one, so nobody
// can make a thread per subscription.
template <typename T>
concept HasOwnThreadOption = requires {
  T::kOwnThread;
};
static_assert(!HasOwnThreadOption<HandlerThread>);

TEST_F(ConnectionTest, NoHandlerThreadBeyondTheThreeIsAccepted) {
  auto conn = Connect();
  for (int run_on : {3, 4, -1}) {
    EXPECT_THAT(conn->Subscribe("x", [](natsMsg*) {},
                                {.run_on = static_cast<HandlerThread>(run_on)})
                    .status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("no such HandlerThread")));
  }
}

// DestroyNow frees in place what natsMsg_Destroy hands to nats.c's
// collector: built messages with headers and delivered ones (ASan checks
// the freeing; a request's answer and the subscriptions' messages go
// through NatsMsgPtr).
TEST_F(ConnectionTest, DestroyNowFreesBuiltAndDeliveredMessages) {
  DestroyNow(nullptr);
  MN_ASSERT_OK_AND_ASSIGN(NatsMsgPtr built,
                          BuildMessage("a.b", "c.d", {{"K", "v"}}, "body"));
  DestroyNow(built.release());
  auto conn = Connect();
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub, conn->Subscribe("kept", [&](natsMsg* msg) {
    got.Add(std::string(Body(msg)));
  }));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  ASSERT_THAT(conn->Publish("kept", "x", "", {{"K", "v"}}), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot().front(), "x");
}

// A handler unsubscribes itself while on_error, on another thread, is
// reporting the first drops and unsubscribes too once the handler's
// Unsubscribe has reported the later drops (on the handler's thread). That
// Unsubscribe waits for the running report; the one from on_error returns
// at once. Before, each waited for the other: a deadlock.
TEST_F(ConnectionTest, OnErrorAndHandlerBothUnsubscribingDoNotDeadlock) {
  auto conn = Connect();
  auto pub = Connect();
  Signal handler_in, first_report, final_report, handler_go;
  std::mutex mu;
  std::thread::id handler_thread;  // guarded by mu
  std::atomic<int> handler_calls{0};
  std::atomic<bool> first{true};
  std::atomic<int64_t> reported{0};
  std::atomic<bool> handler_unsubscribed{false};
  Collector<absl::Status> from_on_error;  // its Unsubscribe's status
  std::unique_ptr<Subscription> sub;
  auto on_error = [&](const absl::Status& status) {
    reported += DroppedIn(status);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (std::this_thread::get_id() == handler_thread) {
        final_report.Notify();  // inside the handler's Unsubscribe
        return;
      }
    }
    if (!first.exchange(false)) return;
    first_report.Notify();
    if (!final_report.WaitFor(kWait)) return;
    from_on_error.Add(sub->Unsubscribe());
  };
  MN_ASSERT_OK_AND_ASSIGN(
      sub, conn->Subscribe("both",
                           [&](natsMsg*) {
                             if (handler_calls++ > 0) return;
                             {
                               std::lock_guard<std::mutex> lock(mu);
                               handler_thread = std::this_thread::get_id();
                             }
                             handler_in.Notify();
                             if (!handler_go.WaitFor(kWait)) return;
                             EXPECT_THAT(sub->Unsubscribe(), IsOk());
                             handler_unsubscribed = true;
                           },
                           {.on_error = on_error,
                            .max_pending_msgs = 1,
                            .run_on = HandlerThread::kHandlerPool}));
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  // One runs (blocked), then one waits, three are dropped and the first
  // drop is reported at once, on another pool thread.
  ASSERT_THAT(pub->Publish("both", "x"), IsOk());
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(handler_in.WaitFor(kWait));
  for (int i = 0; i < 4; ++i) ASSERT_THAT(pub->Publish("both", "x"), IsOk());
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(first_report.WaitFor(kWait));
  // Dropped after that report took its count: the handler's Unsubscribe
  // reports them.
  for (int i = 0; i < 3; ++i) ASSERT_THAT(pub->Publish("both", "x"), IsOk());
  ASSERT_THAT(pub->Flush(kWait), IsOk());
  ASSERT_TRUE(
      Eventually([&] { return sub->dropped() == 6; }, kWait, "6 dropped"));
  handler_go.Notify();
  if (!Eventually([&] { return handler_unsubscribed.load(); }, kWait,
                  "the handler's Unsubscribe returned")) {
    // Both threads wait for ever: nothing could end this test.
    std::fprintf(stderr,
                 "deadlock: Unsubscribe in the handler and in "
                 "on_error wait for each other\n");
    std::abort();
  }
  EXPECT_TRUE(final_report.WaitFor(absl::ZeroDuration()))
      << "the last drops were reported on the unsubscribing thread";
  ASSERT_TRUE(from_on_error.WaitForCount(1, kWait));
  EXPECT_THAT(from_on_error.Snapshot()[0], IsOk());
  EXPECT_EQ(reported.load(), 6);
  EXPECT_EQ(sub->dropped(), 6);
}

// An on_error call that does not return holds up Drain only to its
// deadline, and Unsubscribe only for its bound (2 s), which tells the
// process sink. Before, both waited as long as on_error ran.
class StuckOnErrorTest : public ConnectionTest {
 protected:
  // Subscribes with a handler that falls behind until on_error, which
  // blocks until `release_`, has been called for the first drop on a pool
  // thread of its own.
  void SubscribeAndDrop() {
    conn_ = Connect();
    pub_ = Connect();
    auto on_error = [this](const absl::Status&) {
      if (!first_.exchange(false)) return;
      in_on_error_.Notify();
      release_.WaitFor(4 * kWait);
    };
    MN_ASSERT_OK_AND_ASSIGN(
        sub_, conn_->Subscribe("stuck",
                               [this](natsMsg*) {
                                 if (handler_calls_++ > 0) return;
                                 handler_in_.Notify();
                                 in_on_error_.WaitFor(kWait);
                               },
                               {.on_error = on_error,
                                .max_pending_msgs = 1,
                                .run_on = HandlerThread::kHandlerPool}));
    ASSERT_THAT(conn_->Flush(kWait), IsOk());
    // The handler runs first, so the first drop is reported by another
    // pool thread, not by the queue's next task (which would hold it up).
    ASSERT_THAT(pub_->Publish("stuck", "x"), IsOk());
    ASSERT_THAT(pub_->Flush(kWait), IsOk());
    ASSERT_TRUE(handler_in_.WaitFor(kWait));
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(pub_->Publish("stuck", "x"), IsOk());
    }
    ASSERT_THAT(pub_->Flush(kWait), IsOk());
    ASSERT_TRUE(in_on_error_.WaitFor(kWait));
  }

  // Runs `close` on another thread; its status if it returned within
  // kWait. on_error is released in any case before this returns.
  std::optional<absl::Status> CloseWhileStuck(
      std::function<absl::Status()> close) {
    Collector<absl::Status> closed;
    std::thread closer([&] { closed.Add(close()); });
    const bool returned = closed.WaitForCount(1, kWait);
    release_.Notify();
    closer.join();
    if (!returned) return std::nullopt;
    return closed.Snapshot()[0];
  }

  // Before the subscription: its calls use them until it is gone.
  std::atomic<bool> first_{true};
  std::atomic<int> handler_calls_{0};
  Signal handler_in_, in_on_error_, release_;
  std::shared_ptr<Connection> conn_;
  std::shared_ptr<Connection> pub_;
  std::unique_ptr<Subscription> sub_;
};

TEST_F(StuckOnErrorTest, DrainReturnsByItsDeadline) {
  ASSERT_NO_FATAL_FAILURE(SubscribeAndDrop());
  auto drained =
      CloseWhileStuck([&] { return sub_->Drain(absl::Milliseconds(1500)); });
  ASSERT_TRUE(drained.has_value()) << "Drain waited for on_error";
  EXPECT_THAT(*drained, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                 HasSubstr("on_error was still running")));
}

TEST_F(StuckOnErrorTest, UnsubscribeReturnsAfterItsBoundAndSaysSo) {
  Collector<absl::Status> sink_reports;
  ScopedErrorSink sink(
      [&](const ErrorReport& report) { sink_reports.Add(report.status); });
  ASSERT_NO_FATAL_FAILURE(SubscribeAndDrop());
  auto unsubscribed = CloseWhileStuck([&] { return sub_->Unsubscribe(); });
  ASSERT_TRUE(unsubscribed.has_value()) << "Unsubscribe waited for on_error";
  EXPECT_THAT(*unsubscribed, IsOk());
  bool told = false;
  for (const absl::Status& status : sink_reports.Snapshot()) {
    told = told || absl::StrContains(status.message(),
                                     "on_error was still running after 2s");
  }
  EXPECT_TRUE(told) << "the process sink was told";
}

TEST_F(ConnectionTest, ReconnectsAndResubscribesAfterServerRestart) {
  std::atomic<int> disconnects{0};
  std::atomic<int> reconnects{0};
  auto conn_or = Connection::Connect({.servers = {server_->url()},
                                      .reconnect_wait = absl::Milliseconds(50),
                                      .on_disconnected = [&] { ++disconnects; },
                                      .on_reconnected = [&] { ++reconnects; }});
  ASSERT_THAT(conn_or, IsOk());
  auto conn = *conn_or;
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub, conn->Subscribe("again", [&](natsMsg* m) {
    got.Add(std::string(Body(m)));
  }));
  ASSERT_THAT(conn->Flush(kWait), IsOk());

  ASSERT_THAT(server_->Restart(), IsOk());
  ASSERT_TRUE(Eventually([&] { return reconnects > 0 && conn->IsConnected(); },
                         absl::Seconds(10), "reconnect"));
  EXPECT_GE(disconnects, 1);
  ASSERT_THAT(conn->Flush(kWait), IsOk());
  auto pub = Connect();
  ASSERT_THAT(pub->Publish("again", "after restart"), IsOk());
  ASSERT_TRUE(got.WaitForCount(1, kWait));
  EXPECT_EQ(got.Snapshot().front(), "after restart");
}

TEST_F(ConnectionTest, OversizedPayloadIsInvalidArgument) {
  auto conn = Connect();
  std::string big(conn->max_payload() + 1, 'x');
  EXPECT_THAT(conn->Publish("big", big),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectionTest, InvalidSubjectIsInvalidArgument) {
  auto conn = Connect();
  EXPECT_THAT(conn->Publish("", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Subscribe("", [](natsMsg*) {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectionTest, EverySubjectIsCheckedAlsoAfterAValidOne) {
  // The publish path remembers the last valid subject per thread: one of
  // the same length, or a changed buffer, is still checked.
  auto conn = Connect();
  std::string subject = "a.b";
  EXPECT_THAT(conn->Publish(subject, "x", Delivery::kImmediate), IsOk());
  subject[1] = '\n';
  EXPECT_THAT(conn->Publish(subject, "x", Delivery::kImmediate),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Publish("a b", "x", Delivery::kBatched),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Publish("a.*", "x", Delivery::kBatched),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Publish("a.b", "x", {.reply = "r\r"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Publish("", "x", Delivery::kBatched),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string longest(255, 'x');  // kMaxSubjectLength
  EXPECT_THAT(conn->Publish(longest, "x", Delivery::kBatched), IsOk());
  EXPECT_THAT(conn->Publish(longest + "x", "x", Delivery::kBatched),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(conn->Publish("a.b.c.d.e.f.g.h.i", "x", Delivery::kBatched),
              IsOk());
  EXPECT_THAT(conn->Publish("a.b.c.d.e.f.g.h.>", "x", Delivery::kBatched),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ConnectionTest, BatchedBurstIsSentWhenPublishingPauses) {
  // No Flush: the tail of each burst goes out once publishing pauses
  // (ConnectionOptions::batched_idle_flush), and in order.
  MN_ASSERT_OK_AND_ASSIGN(
      auto pub,
      Connection::Connect({.servers = {server_->url()},
                           .batched_idle_flush = absl::Microseconds(20)}));
  auto sub_conn = Connect();
  Collector<std::string> got;
  MN_ASSERT_OK_AND_ASSIGN(auto sub,
                          sub_conn->Subscribe("burst", [&](natsMsg* msg) {
                            got.Add(std::string(Body(msg)));
                          }));
  ASSERT_THAT(sub_conn->Flush(kWait), IsOk());
  int sent = 0;
  for (int burst = 1; burst <= 20; ++burst) {
    for (int i = 0; i < burst * 7; ++i) {
      ASSERT_THAT(
          pub->Publish("burst", std::to_string(sent++), Delivery::kBatched),
          IsOk());
    }
    ASSERT_TRUE(got.WaitForCount(sent, kWait));
  }
  auto items = got.Snapshot();
  ASSERT_EQ(items.size(), static_cast<size_t>(sent));
  for (int i = 0; i < sent; ++i) ASSERT_EQ(items[i], std::to_string(i));
}

TEST_F(ConnectionTest, InboxesAreUnique) {
  EXPECT_NE(Connection::NewInbox(), Connection::NewInbox());
  EXPECT_THAT(Connection::NewInbox(), ::testing::StartsWith("_INBOX."));
}

TEST(ConnectionFailoverTest, MovesToAnotherClusterMember) {
  MN_ASSERT_OK_AND_ASSIGN(auto cluster, testing::NatsCluster::Start(3));
  std::atomic<int> reconnects{0};
  MN_ASSERT_OK_AND_ASSIGN(
      auto conn,
      Connection::Connect({.servers = {cluster->urls()[0]},
                           .reconnect_wait = absl::Milliseconds(50),
                           .on_reconnected = [&] { ++reconnects; }}));
  // nats.c learns the other members from the server's INFO.
  ASSERT_TRUE(Eventually(
      [&] {
        char** servers = nullptr;
        int count = 0;
        if (natsConnection_GetServers(conn->get(), &servers, &count) !=
            NATS_OK) {
          return false;
        }
        for (int i = 0; i < count; ++i) free(servers[i]);
        free(servers);
        return count >= 3;
      },
      kWait, "cluster discovery"));
  const std::string first = conn->ConnectedUrl();
  ASSERT_THAT(cluster->server(0).Stop(), IsOk());
  ASSERT_TRUE(Eventually([&] { return reconnects > 0 && conn->IsConnected(); },
                         absl::Seconds(10), "failover"));
  EXPECT_NE(conn->ConnectedUrl(), first);
}

}  // namespace
}  // namespace micro_nats::nats
