// Copyright 2026 The micro-nats Authors.
//
// One trace across services (issue 27): a caller calls service A, whose
// handler calls service B and publishes a broker message that service C's
// subscriber gets. Every span is in the caller's trace, each the child of
// the one that caused it — on NATS (a real nats-server) and in memory.

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/memory/memory_service.h"
#include "service/nats/nats_service.h"
#include "status/status_matchers.h"
#include "testing/nats_server.h"
#include "testing/sync.h"
#include "tracing/tracer.h"
#include "tracing/tracing_observer.h"

namespace micro_nats::tracing {
namespace {

using ::micro_nats::testing::IsOk;
using service::ClientOptions;
using service::Context;
using service::ServerOptions;
using service::Service;

// Makes services of one system; each is given the observer.
class Stack {
 public:
  virtual ~Stack() = default;
  // `events`: durable events too (Server::ConsumeRaw, Client::EmitRaw) on
  // topics "traced.>".
  virtual absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, std::shared_ptr<service::Observer> observer,
      bool events = false) = 0;
};

class NatsStack : public Stack {
 public:
  explicit NatsStack(service::NatsServiceOptions::Discovery discovery)
      : discovery_(discovery) {}
  absl::Status Start() {
    auto server = ::micro_nats::testing::NatsServer::Start({.jetstream = true});
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, std::shared_ptr<service::Observer> observer,
      bool events) override {
    service::NatsServiceOptions options;
    if (events) {
      options.events = events::JetStreamEventsOptions{
          .events = {.streams = {{.name = "TRACED", .subjects = {"traced.>"}},
                                 {.name = "DEAD", .subjects = {"dead.>"}}}}};
    }
    options.servers = {server_->url()};
    options.identity.name = name;
    options.discovery = discovery_;
    options.server.observer = observer;
    options.client.observer = observer;
    // Every service of this test answers lookups on one process' NATS
    // threads: a wider window than separate processes need.
    options.registry.timeout = absl::Seconds(2);
    options.registry.idle_gap = absl::Milliseconds(100);
    options.srv_registry.timeout = absl::Seconds(2);
    options.srv_registry.idle_gap = absl::Milliseconds(100);
    return service::NewNatsService(std::move(options));
  }

 private:
  const service::NatsServiceOptions::Discovery discovery_;
  std::unique_ptr<::micro_nats::testing::NatsServer> server_;
};

class MemoryStack : public Stack {
 public:
  absl::StatusOr<std::unique_ptr<Service>> NewService(
      const std::string& name, std::shared_ptr<service::Observer> observer,
      bool) override {
    service::MemoryServiceOptions options;
    options.identity.name = name;
    options.network = network_;
    options.server.observer = observer;
    options.client.observer = observer;
    return service::NewMemoryService(std::move(options));
  }

 private:
  std::shared_ptr<service::MemoryNetwork> network_ =
      service::NewMemoryNetwork();
};

struct StackParam {
  std::string name;
  std::function<std::unique_ptr<Stack>()> make;
  friend void PrintTo(const StackParam& param, std::ostream* os) {
    *os << param.name;
  }
};

class TraceEndToEndTest : public ::testing::TestWithParam<StackParam> {};

const SpanData* Find(const std::vector<SpanData>& spans, absl::string_view name,
                     SpanKind kind) {
  const SpanData* found = nullptr;
  for (const SpanData& s : spans) {
    if (s.name == name && s.kind == kind) {
      EXPECT_EQ(found, nullptr) << "two spans " << name;
      found = &s;
    }
  }
  EXPECT_NE(found, nullptr) << "no " << SpanKindName(kind) << " span " << name;
  return found;
}

TEST_P(TraceEndToEndTest, ATraceCrossesTwoServicesAndABrokerMessage) {
  std::unique_ptr<Stack> stack = GetParam().make();
  ASSERT_NE(stack, nullptr);
  auto tracer = std::make_shared<InMemoryTracer>();
  // One observer per service, as separate processes would have; one
  // recorder so the test sees every span.
  auto a = stack->NewService("trace-a", NewTracingObserver(tracer));
  auto b = stack->NewService("trace-b", NewTracingObserver(tracer));
  auto c = stack->NewService("trace-c", NewTracingObserver(tracer));
  auto caller = stack->NewService("trace-caller", NewTracingObserver(tracer));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(caller, IsOk());

  ASSERT_THAT((*b)->server().Handle(
                  "B.Do",
                  [](Context&, const Message& request, Message* response) {
                    response->body = "b:" + request.body;
                    return absl::OkStatus();
                  }),
              IsOk());
  ::micro_nats::testing::Collector<std::string> delivered;
  ASSERT_THAT((*c)->server().SubscribeRaw(
                  "trace.orders",
                  [&delivered](Context&, const Message& message) {
                    delivered.Add(message.body);
                    return absl::OkStatus();
                  }),
              IsOk());
  Service* a_service = a->get();
  ASSERT_THAT(
      (*a)->server().Handle(
          "A.Do",
          [a_service](Context&, const Message& request, Message* response) {
            auto from_b =
                a_service->client().CallRaw("trace-b", "B.Do", {.body = "x"});
            if (!from_b.ok()) return from_b.status();
            if (absl::Status s = a_service->client().PublishRaw(
                    "trace.orders", {.body = "order"});
                !s.ok()) {
              return s;
            }
            response->body =
                absl::StrCat("a:", request.body, "+", from_b->body);
            return absl::OkStatus();
          }),
      IsOk());
  ASSERT_THAT((*b)->Start(), IsOk());
  ASSERT_THAT((*c)->Start(), IsOk());
  ASSERT_THAT((*a)->Start(), IsOk());

  auto answer = (*caller)->client().CallRaw("trace-a", "A.Do", {.body = "hi"});
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->body, "a:hi+b:x");
  ASSERT_TRUE(delivered.WaitForCount(1, absl::Seconds(10)));
  // The consumer's span ends after the subscriber returned.
  ASSERT_TRUE(tracer->WaitForSpans(6, absl::Seconds(10)))
      << tracer->spans().size() << " spans";

  const std::vector<SpanData> all = tracer->spans();
  const SpanData* root = Find(all, "trace-a/A.Do", SpanKind::kClient);
  ASSERT_NE(root, nullptr);
  std::vector<SpanData> spans;  // the caller's trace
  for (const SpanData& s : all) {
    if (s.context.trace_id == root->context.trace_id) spans.push_back(s);
  }
  root = Find(spans, "trace-a/A.Do", SpanKind::kClient);
  const SpanData* a_server = Find(spans, "trace-a/A.Do", SpanKind::kServer);
  const SpanData* a_client = Find(spans, "trace-b/B.Do", SpanKind::kClient);
  const SpanData* b_server = Find(spans, "trace-b/B.Do", SpanKind::kServer);
  const SpanData* producer =
      Find(spans, "publish trace.orders", SpanKind::kProducer);
  const SpanData* consumer =
      Find(spans, "process trace.orders", SpanKind::kConsumer);
  ASSERT_TRUE(root && a_server && a_client && b_server && producer && consumer);
  EXPECT_EQ(spans.size(), 6u);

  EXPECT_FALSE(root->has_parent());
  EXPECT_EQ(a_server->parent_span_id, root->context.span_id);
  EXPECT_EQ(a_client->parent_span_id, a_server->context.span_id);
  EXPECT_EQ(b_server->parent_span_id, a_client->context.span_id);
  EXPECT_EQ(producer->parent_span_id, a_server->context.span_id);
  EXPECT_EQ(consumer->parent_span_id, producer->context.span_id);
  for (const SpanData* s :
       {root, a_server, a_client, b_server, producer, consumer}) {
    EXPECT_TRUE(s->status.ok()) << s->name << ": " << s->status;
  }
  // Each span inside the one that caused it (one clock, one process).
  EXPECT_LE(root->start, a_server->start);
  EXPECT_LE(a_server->end, root->end);
  EXPECT_LE(a_client->start, b_server->start);
  EXPECT_LE(b_server->end, a_client->end);
  auto text = [](const SpanData* s, absl::string_view key) -> std::string {
    const OwnedAttributeValue* v = s->attribute(key);
    return v != nullptr && std::holds_alternative<std::string>(*v)
               ? std::get<std::string>(*v)
               : "<none>";
  };
  EXPECT_EQ(text(b_server, "rpc.system"), "micro-nats");
  EXPECT_EQ(text(b_server, "rpc.service"), "trace-b");
  EXPECT_EQ(text(b_server, "rpc.method"), "B.Do");
  EXPECT_NE(text(a_client, "micro.node.id"), "<none>");
  EXPECT_EQ(text(consumer, "messaging.system"), "nats");
  EXPECT_EQ(text(consumer, "messaging.destination.name"), "trace.orders");

  // The trace as the JSON-lines exporter writes it, kept with the test's
  // outputs (bazel-testlogs/.../test.outputs) for a look.
  if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream out(absl::StrCat(dir, "/trace_", GetParam().name, ".jsonl"));
    for (const SpanData& s : spans) out << SpanToJson(s) << "\n";
  }
}

TEST_P(TraceEndToEndTest, AnErrorEndsTheSpansWithItsCode) {
  std::unique_ptr<Stack> stack = GetParam().make();
  ASSERT_NE(stack, nullptr);
  auto tracer = std::make_shared<InMemoryTracer>();
  auto b = stack->NewService("trace-err", NewTracingObserver(tracer));
  auto caller =
      stack->NewService("trace-err-caller", NewTracingObserver(tracer));
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(caller, IsOk());
  ASSERT_THAT(
      (*b)->server().Handle("B.Fail",
                            [](Context&, const Message&, Message*) {
                              return absl::NotFoundError("no such order");
                            }),
      IsOk());
  ASSERT_THAT((*b)->Start(), IsOk());
  EXPECT_FALSE((*caller)->client().CallRaw("trace-err", "B.Fail", {}).ok());
  ASSERT_TRUE(tracer->WaitForSpans(2, absl::Seconds(10)));
  const std::vector<SpanData> spans = tracer->spans();
  const SpanData* client = Find(spans, "trace-err/B.Fail", SpanKind::kClient);
  const SpanData* server = Find(spans, "trace-err/B.Fail", SpanKind::kServer);
  ASSERT_TRUE(client && server);
  EXPECT_EQ(server->parent_span_id, client->context.span_id);
  EXPECT_EQ(server->status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->status.code(), absl::StatusCode::kNotFound);
  ASSERT_NE(client->attribute("micro.code"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*client->attribute("micro.code")), 404);
}

TEST_P(TraceEndToEndTest, AStreamAndADurableEventCarryTheTrace) {
  if (GetParam().name == "NatsServiceApi") {
    GTEST_SKIP() << "the NATS Service API has no streams";
  }
  std::unique_ptr<Stack> stack = GetParam().make();
  ASSERT_NE(stack, nullptr);
  auto tracer = std::make_shared<InMemoryTracer>();
  auto b = stack->NewService("trace-stream", NewTracingObserver(tracer), true);
  auto caller = stack->NewService("trace-stream-caller",
                                  NewTracingObserver(tracer), true);
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(caller, IsOk());
  ASSERT_THAT((*b)->server().HandleStream(
                  "B.Echo",
                  [](Context&, service::ServerStream& stream) -> absl::Status {
                    while (true) {
                      absl::StatusOr<Message> in = stream.Recv();
                      if (absl::IsOutOfRange(in.status())) break;
                      if (!in.ok()) return in.status();
                      if (absl::Status s = stream.Send({.body = in->body});
                          !s.ok()) {
                        return s;
                      }
                    }
                    return absl::OkStatus();
                  }),
              IsOk());
  ::micro_nats::testing::Collector<std::string> consumed;
  ASSERT_THAT((*b)->server().ConsumeRaw(
                  "traced.>",
                  [&consumed](Context&, const events::Event& event) {
                    consumed.Add(event.body);
                    return absl::OkStatus();
                  },
                  {.group = "tracers", .start = events::Start::All()}),
              IsOk());
  ASSERT_THAT((*b)->Start(), IsOk());

  {
    auto stream = (*caller)->client().StreamRaw("trace-stream", "B.Echo");
    ASSERT_THAT(stream, IsOk());
    ASSERT_THAT((*stream)->Send({.body = "one"}), IsOk());
    ASSERT_THAT((*stream)->CloseSend(), IsOk());
    auto echoed = (*stream)->Recv(absl::Now() + absl::Seconds(10));
    ASSERT_THAT(echoed, IsOk());
    EXPECT_EQ(echoed->body, "one");
    EXPECT_TRUE(absl::IsOutOfRange(
        (*stream)->Recv(absl::Now() + absl::Seconds(10)).status()));
  }
  ASSERT_THAT((*caller)->client().EmitRaw("traced.created", {.body = "e1"}),
              IsOk());
  ASSERT_TRUE(consumed.WaitForCount(1, absl::Seconds(10)));
  ASSERT_TRUE(tracer->WaitForSpans(4, absl::Seconds(10)))
      << tracer->spans().size() << " spans";

  const std::vector<SpanData> spans = tracer->spans();
  const SpanData* client =
      Find(spans, "trace-stream/B.Echo", SpanKind::kClient);
  const SpanData* server =
      Find(spans, "trace-stream/B.Echo", SpanKind::kServer);
  const SpanData* producer =
      Find(spans, "publish traced.created", SpanKind::kProducer);
  // Named after what was consumed (a pattern), the topic an attribute.
  const SpanData* consumer =
      Find(spans, "process traced.>", SpanKind::kConsumer);
  ASSERT_TRUE(client && server && producer && consumer);
  ASSERT_NE(consumer->attribute("messaging.destination.name"), nullptr);
  EXPECT_EQ(
      std::get<std::string>(*consumer->attribute("messaging.destination.name")),
      "traced.created");
  ASSERT_NE(consumer->attribute("messaging.destination.template"), nullptr);
  EXPECT_EQ(std::get<std::string>(
                *consumer->attribute("messaging.destination.template")),
            "traced.>");
  EXPECT_EQ(server->context.trace_id, client->context.trace_id);
  EXPECT_EQ(server->parent_span_id, client->context.span_id);
  EXPECT_EQ(consumer->context.trace_id, producer->context.trace_id);
  EXPECT_EQ(consumer->parent_span_id, producer->context.span_id);
  EXPECT_TRUE(server->status.ok()) << server->status;
  EXPECT_TRUE(consumer->status.ok()) << consumer->status;
}

// A JSON-lines tracer writes what is queued when it goes, which is when
// the last service holding its observer goes: a service must let go of it
// (not keep it in a cycle, or a closure left on a shared pool).
TEST_P(TraceEndToEndTest, AServiceLetsGoOfItsObserver) {
  std::unique_ptr<Stack> stack = GetParam().make();
  ASSERT_NE(stack, nullptr);
  auto tracer = std::make_shared<InMemoryTracer>();
  std::shared_ptr<service::Observer> observer = NewTracingObserver(tracer);
  std::weak_ptr<service::Observer> watched = observer;
  {
    auto b = stack->NewService("trace-release", observer);
    auto caller = stack->NewService("trace-release-caller", observer);
    observer.reset();
    ASSERT_THAT(b, IsOk());
    ASSERT_THAT(caller, IsOk());
    ASSERT_THAT((*b)->server().Handle("B.Do",
                                      [](Context&, const Message&, Message*) {
                                        return absl::OkStatus();
                                      }),
                IsOk());
    ASSERT_THAT((*b)->server().SubscribeRaw(
                    "trace.release",
                    [](Context&, const Message&) { return absl::OkStatus(); }),
                IsOk());
    ASSERT_THAT((*b)->Start(), IsOk());
    ASSERT_THAT((*caller)->client().CallRaw("trace-release", "B.Do", {}),
                IsOk());
    ASSERT_THAT((*caller)->client().PublishRaw("trace.release", {}), IsOk());
    ASSERT_THAT((*b)->Stop(absl::Now() + absl::Seconds(10)), IsOk());
  }
  // Soon, not at once: the memory stack's deliveries finish on its
  // network's threads (seen 1 ms after the services went).
  EXPECT_TRUE(::micro_nats::testing::Eventually(
      [&] { return watched.expired(); }, absl::Seconds(10),
      "the observer released"));
}

using Discovery = service::NatsServiceOptions::Discovery;

std::function<std::unique_ptr<Stack>()> StartNats(Discovery discovery) {
  return [discovery]() -> std::unique_ptr<Stack> {
    auto stack = std::make_unique<NatsStack>(discovery);
    absl::Status started = stack->Start();
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    return stack;
  };
}

INSTANTIATE_TEST_SUITE_P(
    Stacks, TraceEndToEndTest,
    ::testing::Values(
        StackParam{"Nats", StartNats(Discovery::kMicroRegistry)},
        // Found and called through the NATS Service API: requests on the
        // endpoints' own subjects, not the transport.
        StackParam{"NatsServiceApi", StartNats(Discovery::kServiceApi)},
        StackParam{"Memory",
                   [] { return std::unique_ptr<Stack>(new MemoryStack); }}),
    [](const ::testing::TestParamInfo<StackParam>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace micro_nats::tracing
