// Copyright 2026 The micro-nats Authors.
//
// The server's side of issues 26 and 27, on the memory and NATS stacks:
// deadlines that count the time a request waited for a handler thread,
// per-endpoint concurrency limits, Context::Current, idempotent endpoints
// in the registry, readiness, and what an observer is told.

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "concurrency/coarse_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/memory/memory_service.h"
#include "service/nats/testing/nats_services.h"
#include "service/observer.h"
#include "service/server.h"
#include "service/service.h"
#include "status/status_matchers.h"
#include "testing/sync.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::Collector;
using ::micro_nats::testing::Eventually;
using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(10);

// Makes services on one stack.
class Stack {
 public:
  virtual ~Stack() = default;
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server) = 0;
};

class MemoryStack : public Stack {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server) override {
    return NewMemoryService({.identity = {.name = name},
                             .network = network_,
                             .server = std::move(server)});
  }

 private:
  const std::shared_ptr<MemoryNetwork> network_ = NewMemoryNetwork();
};

class NatsStack : public Stack, public NatsServices {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, ServerOptions server) override {
    return NewOnServer(
        {.identity = {.name = name}, .server = std::move(server)});
  }
};

struct StackParam {
  std::string name;
  std::function<std::unique_ptr<Stack>()> make;
};

// A handler that holds its thread until released.
class Blocker {
 public:
  Handler handler() {
    return [this](Context&, const Message&, Message*) {
      entered_.Add(1);
      released_.wait();
      return absl::OkStatus();
    };
  }
  ::testing::AssertionResult WaitEntered(size_t n) {
    return entered_.WaitForCount(n, kWait);
  }
  void Release() {
    if (!released_once_.exchange(true)) release_.set_value();
  }

 private:
  Collector<int> entered_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::atomic<bool> released_once_{false};
};

// What an observer was told, in order.
class RecordingObserver : public Observer {
 public:
  struct Call {
    CallKind kind;
    std::string service;
    std::string endpoint;
    std::thread::id began_on;
    std::thread::id ended_on;
    bool ended = false;
    absl::StatusCode code = absl::StatusCode::kUnknown;
  };

  std::unique_ptr<Observation> ServerCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          const Headers&) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({kind, std::string(service), std::string(endpoint),
                      std::this_thread::get_id()});
    return std::make_unique<Ending>(this, calls_.size() - 1);
  }

  void Count(Counter counter, absl::string_view service, int64_t n,
             absl::string_view) override {
    std::lock_guard<std::mutex> lock(mu_);
    counts_.push_back({counter, n});
  }

  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // The ended calls of `endpoint`.
  std::vector<Call> Ended(const std::string& endpoint) const {
    std::vector<Call> ended;
    for (const Call& call : calls()) {
      if (call.ended && call.endpoint == endpoint) ended.push_back(call);
    }
    return ended;
  }
  int64_t Counted(Counter counter) const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = 0;
    for (const auto& [c, count] : counts_) {
      if (c == counter) n += count;
    }
    return n;
  }

 private:
  class Ending : public Observation {
   public:
    Ending(RecordingObserver* observer, size_t index)
        : observer_(observer), index_(index) {}
    void End(const absl::Status& status) override {
      std::lock_guard<std::mutex> lock(observer_->mu_);
      Call& call = observer_->calls_[index_];
      call.ended = true;
      call.code = status.code();
      call.ended_on = std::this_thread::get_id();
    }

   private:
    RecordingObserver* const observer_;
    const size_t index_;
  };

  mutable std::mutex mu_;
  std::vector<Call> calls_;                          // mu_
  std::vector<std::pair<Counter, int64_t>> counts_;  // mu_
};

class ServerResilienceTest : public ::testing::TestWithParam<StackParam> {
 protected:
  void SetUp() override {
    stack_ = GetParam().make();
    ASSERT_NE(stack_, nullptr);
    auto caller = stack_->NewService("caller", {});
    ASSERT_THAT(caller, IsOk());
    caller_ = std::move(caller).value();
  }

  void TearDown() override {
    caller_.reset();
    services_.clear();
    stack_.reset();
  }

  // A service named `name`, set up by `setup` (handlers) and started; the
  // caller knows it once this returns.
  Service* Start(const std::string& name, ServerOptions options,
                 const std::function<void(Server&)>& setup) {
    auto service = stack_->NewService(name, std::move(options));
    EXPECT_THAT(service, IsOk());
    if (!service.ok()) return nullptr;
    setup((*service)->server());
    EXPECT_THAT((*service)->Start(), IsOk());
    services_.push_back(std::move(service).value());
    EXPECT_TRUE(Eventually(
        [&] {
          auto found = caller_->registry().GetService(name);
          return found.ok() && !found->empty() && !(*found)[0].nodes.empty();
        },
        kWait, "the service is registered"));
    return services_.back().get();
  }

  absl::StatusOr<Message> Call(const std::string& service,
                               const std::string& endpoint,
                               CallOptions options = {}) {
    return caller_->client().CallRaw(service, endpoint, {.body = "x"},
                                     std::move(options));
  }

  // Holds `service`'s one handler thread with a call to `slow` (held by
  // `blocker`), lets a call to `fast` wait past its caller's deadline
  // (DeadlineExceeded at the caller), then frees the thread: the late call
  // is taken after its deadline.
  void ExpireACallInTheQueue(const std::string& service,
                             const std::string& slow, const std::string& fast,
                             Blocker& blocker) {
    std::thread slow_caller(
        [&] { EXPECT_THAT(Call(service, slow, {.timeout = kWait}), IsOk()); });
    const bool entered = blocker.WaitEntered(1);
    EXPECT_TRUE(entered);
    if (entered) {
      EXPECT_THAT(Call(service, fast,
                       {.timeout = absl::Milliseconds(200), .retries = 0}),
                  StatusIs(absl::StatusCode::kDeadlineExceeded));
      // Past the caller's deadline by more than the coarse clock's tick
      // the wait is measured with: a margin, not a synchronisation.
      absl::SleepFor(absl::Milliseconds(50));
    }
    blocker.Release();
    slow_caller.join();
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Service> caller_;
  std::vector<std::unique_ptr<Service>> services_;
};

TEST_P(ServerResilienceTest, ARequestWhoseDeadlinePassedInTheQueueIsNotRun) {
  // One handler thread, held: the second request waits past its caller's
  // deadline, and is dropped when the thread frees, not run.
  ServerOptions options;
  options.listen.handler_threads = 1;
  Blocker blocker;
  std::atomic<int> fast_runs{0};
  Service* service = Start("queued", std::move(options), [&](Server& server) {
    ASSERT_THAT(server.Handle("Q.Slow", blocker.handler()), IsOk());
    ASSERT_THAT(server.Handle("Q.Fast",
                              [&](Context&, const Message&, Message*) {
                                ++fast_runs;
                                return absl::OkStatus();
                              }),
                IsOk());
  });
  ASSERT_NE(service, nullptr);
  ASSERT_THAT(Call("queued", "Q.Fast"), IsOk());  // warm: node known
  ASSERT_EQ(fast_runs.load(), 1);
  ExpireACallInTheQueue("queued", "Q.Slow", "Q.Fast", blocker);
  EXPECT_TRUE(Eventually(
      [&] { return service->server().stats().expired_in_queue == 1; }, kWait,
      "the expired request counted"));
  EXPECT_EQ(fast_runs.load(), 1);
  // Served again as usual.
  EXPECT_THAT(Call("queued", "Q.Fast"), IsOk());
  EXPECT_EQ(fast_runs.load(), 2);
}

TEST_P(ServerResilienceTest, AHandlersDeadlineShrinksByItsQueueing) {
  ServerOptions options;
  options.listen.handler_threads = 1;
  Blocker blocker;
  std::mutex mu;
  absl::Duration queued;
  absl::Duration left;
  Service* service = Start("shrinks", std::move(options), [&](Server& server) {
    ASSERT_THAT(server.Handle("S.Slow", blocker.handler()), IsOk());
    ASSERT_THAT(server.Handle("S.Fast",
                              [&](Context& ctx, const Message&, Message*) {
                                std::lock_guard<std::mutex> lock(mu);
                                queued = ctx.queued();
                                left = ctx.deadline() - absl::Now();
                                return absl::OkStatus();
                              }),
                IsOk());
  });
  ASSERT_NE(service, nullptr);
  ASSERT_THAT(Call("shrinks", "S.Fast"), IsOk());  // warm
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_LT(queued, absl::Milliseconds(100));  // waited for nothing
  }
  std::thread slow_caller(
      [&] { Call("shrinks", "S.Slow", {.timeout = kWait}).IgnoreError(); });
  ASSERT_TRUE(blocker.WaitEntered(1));
  absl::StatusOr<Message> fast = absl::UnknownError("not called");
  const absl::Duration timeout = absl::Seconds(5);
  std::thread fast_caller(
      [&] { fast = Call("shrinks", "S.Fast", {.timeout = timeout}); });
  // The wait being measured, not a synchronisation: the request is queued
  // long before it ends.
  absl::SleepFor(absl::Milliseconds(400));
  blocker.Release();
  fast_caller.join();
  slow_caller.join();
  ASSERT_THAT(fast, IsOk());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GE(queued, absl::Milliseconds(200));
  // The Timeout counts from the arrival: what is left lacks the wait.
  EXPECT_LE(left, timeout - queued + absl::Milliseconds(10));
  EXPECT_GT(left, absl::Seconds(3));
}

TEST_P(ServerResilienceTest, CurrentIsTheRunningHandlersContext) {
  EXPECT_EQ(Context::Current(), nullptr);
  std::mutex mu;
  std::vector<std::string> seen;  // mu
  absl::Time outer_deadline;      // mu
  absl::Time inner_deadline;      // mu
  auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(what);
  };
  Start("inner", {}, [&](Server& server) {
    ASSERT_THAT(server.Handle("I.Call",
                              [&](Context& ctx, const Message&, Message*) {
                                note(Context::Current() == &ctx
                                         ? "inner:self"
                                         : "inner:other");
                                std::lock_guard<std::mutex> lock(mu);
                                inner_deadline = ctx.deadline();
                                return absl::OkStatus();
                              }),
                IsOk());
  });
  Service* outer = nullptr;
  outer = Start("outer", {}, [&](Server& server) {
    ASSERT_THAT(
        server.Handle("O.Call",
                      [&](Context& ctx, const Message&, Message*) {
                        note(Context::Current() == &ctx ? "outer:self"
                                                        : "outer:other");
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          outer_deadline = ctx.deadline();
                        }
                        absl::StatusOr<Message> inner = outer->client().CallRaw(
                            "inner", "I.Call", {.body = "nested"});
                        note(Context::Current() == &ctx ? "outer:self again"
                                                        : "outer:other after");
                        return inner.status();
                      }),
        IsOk());
  });
  ASSERT_NE(outer, nullptr);
  // Shorter than the client's default: the nested call inherits it.
  EXPECT_THAT(Call("outer", "O.Call", {.timeout = absl::Seconds(2)}), IsOk());
  EXPECT_EQ(Context::Current(), nullptr);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(seen, ::testing::ElementsAre("outer:self", "inner:self",
                                           "outer:self again"));
  EXPECT_LT(outer_deadline, absl::Now() + absl::Seconds(2));
  // Sent as a Timeout and counted from the arrival again: the same
  // deadline, within the coarse clock's tick.
  EXPECT_LE(inner_deadline, outer_deadline + absl::Milliseconds(10));
}

TEST_P(ServerResilienceTest, MaxConcurrencyRefusesTheCallBeyond) {
  Blocker blocker;
  Service* service = Start("limited", {}, [&](Server& server) {
    ASSERT_THAT(
        server.Handle("L.Call", blocker.handler(), {.max_concurrency = 2}),
        IsOk());
  });
  ASSERT_NE(service, nullptr);
  std::vector<std::thread> callers;
  std::vector<absl::Status> results(2);
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&, i] {
      results[i] = Call("limited", "L.Call", {.timeout = kWait}).status();
    });
  }
  ASSERT_TRUE(blocker.WaitEntered(2));
  EXPECT_THAT(Call("limited", "L.Call", {.retries = 0}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_concurrency")));
  EXPECT_EQ(service->server().stats().overloaded, 1);
  blocker.Release();
  for (std::thread& t : callers) t.join();
  EXPECT_THAT(results, ::testing::Each(IsOk()));
  // A slot is free again.
  EXPECT_THAT(Call("limited", "L.Call"), IsOk());
  EXPECT_EQ(service->server().stats().overloaded, 1);
}

TEST_P(ServerResilienceTest, IdempotentEndpointsSayItInTheRegistry) {
  auto ok = [](Context&, const Message&, Message*) { return absl::OkStatus(); };
  Start("marked", {}, [&](Server& server) {
    ASSERT_THAT(server.Handle("M.Get", ok, {.idempotent = true}), IsOk());
    ASSERT_THAT(server.Handle("M.Post", ok), IsOk());
  });
  auto found = caller_->registry().GetService("marked");
  ASSERT_THAT(found, IsOk());
  ASSERT_FALSE(found->empty());
  std::map<std::string, Metadata> metadata;
  for (const registry::Endpoint& e : (*found)[0].endpoints) {
    metadata[e.name] = e.metadata;
  }
  EXPECT_EQ(metadata["M.Get"]["idempotent"], "true");
  EXPECT_EQ(metadata["M.Post"].count("idempotent"), 0u);
}

TEST_P(ServerResilienceTest, TheObserverSeesEveryServerCall) {
  auto observer = std::make_shared<RecordingObserver>();
  ServerOptions options;
  options.observer = observer;
  std::mutex mu;
  std::thread::id handled_on;  // mu
  Service* service = Start("observed", std::move(options), [&](Server& server) {
    ASSERT_THAT(server.Handle("Ob.Ok",
                              [&](Context&, const Message&, Message*) {
                                std::lock_guard<std::mutex> lock(mu);
                                handled_on = std::this_thread::get_id();
                                return absl::OkStatus();
                              }),
                IsOk());
    ASSERT_THAT(server.Handle("Ob.Fails",
                              [](Context&, const Message&, Message*) {
                                return absl::InvalidArgumentError("no");
                              }),
                IsOk());
    ASSERT_THAT(server.SubscribeRaw(
                    "observed.*",
                    [](Context&, const Message&) { return absl::OkStatus(); }),
                IsOk());
  });
  ASSERT_NE(service, nullptr);
  ASSERT_THAT(Call("observed", "Ob.Ok"), IsOk());
  EXPECT_THAT(Call("observed", "Ob.Fails"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Call("observed", "Ob.NoSuch", {.retries = 0}),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(Eventually(
      [&] {
        return observer->Ended("Ob.Ok").size() == 1 &&
               observer->Ended("Ob.Fails").size() == 1 &&
               observer->Ended("unknown").size() == 1;
      },
      kWait, "three calls observed"));
  const auto ok = observer->Ended("Ob.Ok")[0];
  EXPECT_EQ(ok.kind, CallKind::kUnary);
  EXPECT_EQ(ok.service, "observed");
  EXPECT_EQ(ok.code, absl::StatusCode::kOk);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(ok.began_on, handled_on);
    EXPECT_EQ(ok.ended_on, handled_on);
  }
  EXPECT_EQ(observer->Ended("Ob.Fails")[0].code,
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(observer->Ended("unknown")[0].code, absl::StatusCode::kNotFound);
  for (const auto& call : observer->calls()) {
    EXPECT_NE(call.endpoint, "Ob.NoSuch");  // never the name sent
  }
  // A subscriber's delivery, under the subscribed topic.
  ASSERT_THAT(caller_->client().PublishRaw("observed.created", {.body = "x"}),
              IsOk());
  ASSERT_TRUE(
      Eventually([&] { return observer->Ended("observed.*").size() == 1; },
                 kWait, "the delivery observed"));
  EXPECT_EQ(observer->Ended("observed.*")[0].kind, CallKind::kMessage);
  EXPECT_EQ(observer->Ended("observed.*")[0].code, absl::StatusCode::kOk);
}

TEST_P(ServerResilienceTest, TheObserverCountsRefusalsAndExpiries) {
  auto observer = std::make_shared<RecordingObserver>();
  ServerOptions options;
  options.observer = observer;
  options.listen.handler_threads = 1;
  Blocker blocker;
  Service* service = Start("refusing", std::move(options), [&](Server& server) {
    ASSERT_THAT(
        server.Handle("R.Slow", blocker.handler(), {.max_concurrency = 1}),
        IsOk());
    ASSERT_THAT(
        server.Handle("R.Fast", [](Context&, const Message&,
                                   Message*) { return absl::OkStatus(); }),
        IsOk());
  });
  ASSERT_NE(service, nullptr);
  ASSERT_THAT(Call("refusing", "R.Fast"), IsOk());  // warm
  ExpireACallInTheQueue("refusing", "R.Slow", "R.Fast", blocker);
  ASSERT_TRUE(Eventually(
      [&] { return observer->Counted(Counter::kExpiredInQueue) == 1; }, kWait,
      "the expiry counted"));
  ASSERT_TRUE(Eventually(
      [&] {
        auto fast = observer->Ended("R.Fast");
        return fast.size() == 2 &&
               fast[1].code == absl::StatusCode::kDeadlineExceeded;
      },
      kWait, "the expired call ended DeadlineExceeded"));
  EXPECT_EQ(service->server().stats().expired_in_queue, 1);
}

TEST_P(ServerResilienceTest, StreamsKeepTheLimitAndAreObserved) {
  auto observer = std::make_shared<RecordingObserver>();
  ServerOptions options;
  options.observer = observer;
  Blocker blocker;
  std::atomic<bool> current_was_self{false};
  Service* service =
      Start("streaming", std::move(options), [&](Server& server) {
        ASSERT_THAT(
            server.HandleStream("St.Hold",
                                [&](Context& ctx, ServerStream&) {
                                  current_was_self = Context::Current() == &ctx;
                                  Message unused;
                                  return blocker.handler()(ctx, {}, &unused);
                                },
                                {.max_concurrency = 1}),
            IsOk());
      });
  ASSERT_NE(service, nullptr);
  StreamOptions stream_options;
  stream_options.call.retries = 0;
  auto first =
      caller_->client().StreamRaw("streaming", "St.Hold", stream_options);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(blocker.WaitEntered(1));
  auto second =
      caller_->client().StreamRaw("streaming", "St.Hold", stream_options);
  const absl::Status refused =
      second.ok() ? (*second)->Recv(absl::Now() + kWait).status()
                  : second.status();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("max_concurrency")));
  blocker.Release();
  EXPECT_THAT((*first)->Recv(absl::Now() + kWait),
              StatusIs(absl::StatusCode::kOutOfRange));  // ended OK
  EXPECT_TRUE(current_was_self.load());
  EXPECT_EQ(service->server().stats().overloaded, 1);
  ASSERT_TRUE(Eventually([&] { return observer->Ended("St.Hold").size() == 2; },
                         kWait, "both streams observed"));
  std::vector<absl::StatusCode> codes;
  for (const auto& call : observer->Ended("St.Hold")) {
    EXPECT_EQ(call.kind, CallKind::kStream);
    codes.push_back(call.code);
  }
  EXPECT_THAT(codes,
              ::testing::UnorderedElementsAre(
                  absl::StatusCode::kOk, absl::StatusCode::kResourceExhausted));
}

INSTANTIATE_TEST_SUITE_P(
    Stacks, ServerResilienceTest,
    ::testing::Values(
        StackParam{"Memory", [] { return std::make_unique<MemoryStack>(); }},
        StackParam{"Nats",
                   []() -> std::unique_ptr<Stack> {
                     return NatsServices::Start<NatsStack>();
                   }}),
    [](const ::testing::TestParamInfo<StackParam>& info) {
      return info.param.name;
    });

// --- What does not depend on the stack: a server on memory blocks. ---

// Captures what a server gives its frontends, and whether the server was
// ready when the frontend was stopped.
class CapturingFrontend : public Frontend {
 public:
  explicit CapturingFrontend(const Server** server) : server_(server) {}
  absl::Status Start(ServedService service) override {
    served = std::move(service);
    return absl::OkStatus();
  }
  absl::Status Stop(absl::Time) override {
    ready_at_stop = (*server_)->ready();
    return absl::OkStatus();
  }
  ServedService served;
  bool ready_at_stop = true;

 private:
  const Server** const server_;
};

// Records whether the server was ready at each Register and Deregister.
class ReadinessRegistry : public registry::Registry {
 public:
  ReadinessRegistry(std::shared_ptr<registry::Registry> inner,
                    const Server** server)
      : inner_(std::move(inner)), server_(server) {}
  absl::Status Register(const registry::Service& service,
                        registry::RegisterOptions options) override {
    std::lock_guard<std::mutex> lock(mu);
    ready_at.push_back(absl::StrCat("register:", (*server_)->ready()));
    if (fail) return absl::UnavailableError("the registry is down");
    return inner_->Register(service, options);
  }
  absl::Status Deregister(const registry::Service& service) override {
    std::lock_guard<std::mutex> lock(mu);
    ready_at.push_back(absl::StrCat("deregister:", (*server_)->ready()));
    return inner_->Deregister(service);
  }
  absl::StatusOr<std::vector<registry::Service>> GetService(
      absl::string_view name) override {
    return inner_->GetService(name);
  }
  absl::StatusOr<std::vector<registry::Service>> ListServices() override {
    return inner_->ListServices();
  }
  absl::StatusOr<std::unique_ptr<registry::Watcher>> Watch(
      registry::WatchOptions options) override {
    return inner_->Watch(options);
  }
  std::mutex mu;
  std::vector<std::string> ready_at;  // mu
  bool fail = false;                  // mu: Register fails

 private:
  const std::shared_ptr<registry::Registry> inner_;
  const Server** const server_;
};

struct BareServer {
  // What the frontend and registry read the server through; first, so it
  // goes last.
  std::shared_ptr<const Server*> holder =
      std::make_shared<const Server*>(nullptr);
  std::shared_ptr<CapturingFrontend> frontend;
  std::shared_ptr<ReadinessRegistry> registry;
  std::unique_ptr<Server> server;
};

BareServer NewBareServer(
    absl::Duration register_interval = ServerOptions().register_interval) {
  auto network = NewMemoryNetwork();
  BareServer bare;
  bare.frontend = std::make_shared<CapturingFrontend>(bare.holder.get());
  bare.registry =
      std::make_shared<ReadinessRegistry>(network->registry, bare.holder.get());
  ServerOptions options;
  options.identity.name = "bare";
  options.register_interval = register_interval;
  options.on_error = [](const absl::Status&) {};  // the failed renewals
  options.frontends.push_back(bare.frontend);
  auto server = Server::Create(std::move(options), bare.registry,
                               network->transport, nullptr);
  EXPECT_THAT(server, IsOk());
  if (server.ok()) {
    bare.server = std::move(server).value();
    *bare.holder = bare.server.get();
  }
  return bare;
}

TEST(ServerReadinessTest, ReadyFromRegistrationUntilStopBegins) {
  BareServer bare = NewBareServer();
  ASSERT_NE(bare.server, nullptr);
  EXPECT_FALSE(bare.server->ready());
  ASSERT_THAT(bare.server->Start(), IsOk());
  EXPECT_TRUE(bare.server->ready());
  ASSERT_THAT(bare.server->Stop(absl::Now() + kWait), IsOk());
  EXPECT_FALSE(bare.server->ready());
  EXPECT_FALSE(bare.frontend->ready_at_stop);
  std::lock_guard<std::mutex> lock(bare.registry->mu);
  // Not ready while registering (ready once registered), nor when the
  // entry goes.
  EXPECT_THAT(bare.registry->ready_at,
              ::testing::ElementsAre("register:0", "deregister:0"));
}

TEST(ServerReadinessTest, NotReadyWhileRenewingTheRegistrationFails) {
  BareServer bare = NewBareServer(absl::Milliseconds(10));
  ASSERT_NE(bare.server, nullptr);
  ASSERT_THAT(bare.server->Start(), IsOk());
  EXPECT_TRUE(bare.server->ready());
  {
    std::lock_guard<std::mutex> lock(bare.registry->mu);
    bare.registry->fail = true;
  }
  EXPECT_TRUE(Eventually([&] { return !bare.server->ready(); }, kWait,
                         "not ready once a renewal failed"));
  {
    std::lock_guard<std::mutex> lock(bare.registry->mu);
    bare.registry->fail = false;
  }
  EXPECT_TRUE(Eventually([&] { return bare.server->ready(); }, kWait,
                         "ready again once a renewal held"));
  ASSERT_THAT(bare.server->Stop(absl::Now() + kWait), IsOk());
  EXPECT_FALSE(bare.server->ready());
}

TEST(ServerServeTest, ServeRefusesBeyondMaxConcurrencyWithTheRefusalMark) {
  BareServer bare = NewBareServer();
  ASSERT_NE(bare.server, nullptr);
  Blocker blocker;
  ASSERT_THAT(
      bare.server->Handle("B.Call", blocker.handler(), {.max_concurrency = 1}),
      IsOk());
  ASSERT_THAT(bare.server->Start(), IsOk());
  const ServedService& served = bare.frontend->served;
  std::thread first([&] {
    Message response;
    EXPECT_THAT(served.serve("B.Call", {}, &response), IsOk());
  });
  ASSERT_TRUE(blocker.WaitEntered(1));
  Message response;
  EXPECT_THAT(served.serve("B.Call", {}, &response),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(response.headers[kRefusedHeader], "overloaded");
  EXPECT_EQ(bare.server->stats().overloaded, 1);
  blocker.Release();
  first.join();
  EXPECT_THAT(bare.server->Stop(absl::Now() + kWait), IsOk());
}

TEST(ServerServeTest, ServeSinceCountsTheWaitInTheDeadline) {
  BareServer bare = NewBareServer();
  ASSERT_NE(bare.server, nullptr);
  std::atomic<int> runs{0};
  absl::Duration queued;
  absl::Duration left;
  ASSERT_THAT(bare.server->Handle("B.Call",
                                  [&](Context& ctx, const Message&, Message*) {
                                    ++runs;
                                    queued = ctx.queued();
                                    left = ctx.deadline() - absl::Now();
                                    return absl::OkStatus();
                                  }),
              IsOk());
  ASSERT_THAT(bare.server->Start(), IsOk());
  const ServedService& served = bare.frontend->served;
  const absl::Time now = concurrency::CoarseNow();
  Message response;
  // Waited 2 s for a 1 s Timeout: dropped, not run.
  EXPECT_THAT(served.serve_since("B.Call",
                                 {.headers = {{kTimeoutHeader, "1000000000"}}},
                                 now - absl::Seconds(2), &response),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(bare.server->stats().expired_in_queue, 1);
  EXPECT_EQ(response.headers.count(kRefusedHeader), 0u);
  // Waited 300 ms of a 5 s Timeout: runs with what is left.
  EXPECT_THAT(served.serve_since("B.Call",
                                 {.headers = {{kTimeoutHeader, "5000000000"}}},
                                 now - absl::Milliseconds(300), &response),
              IsOk());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_GE(queued, absl::Milliseconds(300));
  EXPECT_LE(left, absl::Milliseconds(4700) + absl::Milliseconds(10));
  EXPECT_THAT(bare.server->Stop(absl::Now() + kWait), IsOk());
}

TEST(ServerStatsTest, EachHandlerCallIsInItsEndpointsLatency) {
  BareServer bare = NewBareServer();
  ASSERT_NE(bare.server, nullptr);
  ASSERT_THAT(bare.server->Handle("B.Call",
                                  [](Context&, const Message&, Message*) {
                                    absl::SleepFor(absl::Milliseconds(2));
                                    return absl::OkStatus();
                                  }),
              IsOk());
  ASSERT_THAT(bare.server->Start(), IsOk());
  const ServedService& served = bare.frontend->served;
  for (int i = 0; i < 3; ++i) {
    Message response;
    EXPECT_THAT(served.serve("B.Call", {}, &response), IsOk());
  }
  Message response;
  EXPECT_THAT(served.serve("B.None", {}, &response),
              StatusIs(absl::StatusCode::kNotFound));
  std::vector<EndpointStats> stats = bare.server->endpoint_stats();
  ASSERT_EQ(stats.size(), 1u);
  const LatencyHistogram::Snapshot& latency = stats[0].latency;
  EXPECT_EQ(latency.total, 3);
  int64_t counted = 0;
  for (int64_t n : latency.counts) counted += n;
  EXPECT_EQ(counted, 3);
  EXPECT_GE(latency.Percentile(0.5), 0.0015);  // a bucket is <= 25 % wide
  EXPECT_NEAR(latency.sum_seconds,
              absl::ToDoubleSeconds(stats[0].processing_time), 1e-6);
  EXPECT_THAT(bare.server->Stop(absl::Now() + kWait), IsOk());
}

TEST(ServerObserverTest, AConsumersDeliveriesAreObservedAsEvents) {
  auto network = NewMemoryNetwork();
  auto observer = std::make_shared<RecordingObserver>();
  ServerOptions options;
  options.observer = observer;
  auto service = NewMemoryService({.identity = {.name = "consuming"},
                                   .network = network,
                                   .server = std::move(options)});
  ASSERT_THAT(service, IsOk());
  std::atomic<bool> current_was_self{false};
  ASSERT_THAT((*service)->server().ConsumeRaw(
                  "orders.placed",
                  [&](Context& ctx, const events::Event&) {
                    current_was_self = Context::Current() == &ctx;
                    return absl::OkStatus();
                  },
                  {.start = events::Start::All()}),
              IsOk());
  ASSERT_THAT((*service)->Start(), IsOk());
  ASSERT_THAT(
      (*service)->client().EmitRaw("orders.placed", {.body = "one"}).status(),
      IsOk());
  ASSERT_TRUE(
      Eventually([&] { return observer->Ended("orders.placed").size() == 1; },
                 kWait, "the delivery observed"));
  const auto delivery = observer->Ended("orders.placed")[0];
  EXPECT_EQ(delivery.kind, CallKind::kEvent);
  EXPECT_EQ(delivery.service, "consuming");
  EXPECT_EQ(delivery.code, absl::StatusCode::kOk);
  EXPECT_EQ(delivery.began_on, delivery.ended_on);
  EXPECT_TRUE(current_was_self.load());
}

TEST(ServerOptionsTest, NegativeMaxConcurrencyIsInvalid) {
  BareServer bare = NewBareServer();
  ASSERT_NE(bare.server, nullptr);
  EXPECT_THAT(bare.server->Handle("B.Call",
                                  [](Context&, const Message&, Message*) {
                                    return absl::OkStatus();
                                  },
                                  {.max_concurrency = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_concurrency")));
}

}  // namespace
}  // namespace micro_nats::service
