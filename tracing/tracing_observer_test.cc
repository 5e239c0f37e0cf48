// Copyright 2026 The micro-nats Authors.

#include "tracing/tracing_observer.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "service/observer.h"
#include "tracing/tracer.h"

namespace micro_nats::tracing {
namespace {

using service::CallKind;

const SpanData* Find(const std::vector<SpanData>& spans, absl::string_view name,
                     SpanKind kind) {
  for (const SpanData& s : spans) {
    if (s.name == name && s.kind == kind) return &s;
  }
  return nullptr;
}

std::string Str(const SpanData& span, absl::string_view key) {
  const OwnedAttributeValue* v = span.attribute(key);
  if (v == nullptr || !std::holds_alternative<std::string>(*v)) return "<none>";
  return std::get<std::string>(*v);
}

class TracingObserverTest : public ::testing::Test {
 protected:
  std::shared_ptr<InMemoryTracer> tracer_ = std::make_shared<InMemoryTracer>();
  std::shared_ptr<TracingObserver> observer_ =
      std::make_shared<TracingObserver>(tracer_);
};

TEST_F(TracingObserverTest, AClientCallStartsATraceAndSendsIt) {
  Headers headers = {{"tracestate", "stale=1"}};
  auto call = observer_->ClientCall(CallKind::kUnary, "greeter",
                                    "Greeter.Hello", &headers);
  ASSERT_NE(call, nullptr);
  call->Attempt("node-1", absl::UnavailableError("no route"));
  call->Attempt("node-2", absl::OkStatus());
  call->End(absl::OkStatus());
  // The last attempt's failure is the call's: no event for it.
  Headers other;
  auto failed =
      observer_->ClientCall(CallKind::kUnary, "greeter", "Greeter.Hi", &other);
  failed->Attempt("node-1", absl::NotFoundError("no"));
  failed->End(absl::NotFoundError("no"));

  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_TRUE(spans[1].events.empty());
  EXPECT_EQ(spans[1].status.code(), absl::StatusCode::kNotFound);
  const SpanData& span = spans[0];
  EXPECT_EQ(span.name, "greeter/Greeter.Hello");
  EXPECT_EQ(span.kind, SpanKind::kClient);
  EXPECT_FALSE(span.has_parent());
  EXPECT_TRUE(span.status.ok());
  EXPECT_EQ(Str(span, "rpc.system"), "micro-nats");
  EXPECT_EQ(Str(span, "rpc.service"), "greeter");
  EXPECT_EQ(Str(span, "rpc.method"), "Greeter.Hello");
  EXPECT_EQ(Str(span, "micro.node.id"), "node-2");
  ASSERT_EQ(span.events.size(), 1u);
  EXPECT_EQ(span.events[0].name, "attempt failed");
  EXPECT_EQ(std::get<std::string>(span.events[0].attributes[0].second),
            "node-1");

  EXPECT_EQ(headers["traceparent"], FormatTraceparent(span.context));
  // A tracestate that was not the trace's own is not sent on.
  EXPECT_EQ(headers.count("tracestate"), 0u);
}

TEST_F(TracingObserverTest, AServerContinuesTheTraceAndNestsCalls) {
  Headers outgoing;
  auto client = observer_->ClientCall(CallKind::kUnary, "a", "A.Do", &outgoing);
  outgoing["tracestate"] = "vendor=opaque, Bad Member";

  // Service A handles it and, inside, calls B and publishes a message.
  EXPECT_EQ(CurrentContext(), nullptr);
  auto server_a =
      observer_->ServerCall(CallKind::kUnary, "a", "A.Do", outgoing);
  ASSERT_NE(CurrentContext(), nullptr);
  const TraceContext a_context = *CurrentContext();
  EXPECT_EQ(a_context.tracestate, "vendor=opaque");
  EXPECT_EQ(observer_->stats().tracestate_dropped, 1);

  Headers to_b;
  auto client_b = observer_->ClientCall(CallKind::kUnary, "b", "B.Do", &to_b);
  EXPECT_EQ(to_b["tracestate"], "vendor=opaque");  // carried on
  {
    auto server_b = observer_->ServerCall(CallKind::kUnary, "b", "B.Do", to_b);
    EXPECT_NE(CurrentContext()->span_id, a_context.span_id);
    server_b->End(absl::NotFoundError("no such greeting"));
  }
  EXPECT_EQ(CurrentContext()->span_id, a_context.span_id);  // restored
  client_b->End(absl::NotFoundError("no such greeting"));

  Headers message;
  auto publish =
      observer_->ClientCall(CallKind::kMessage, "", "orders", &message);
  publish->End(absl::OkStatus());
  std::thread subscriber([&] {
    EXPECT_EQ(CurrentContext(), nullptr);  // per thread
    auto deliver =
        observer_->ServerCall(CallKind::kMessage, "c", "orders", message);
    deliver->End(absl::OkStatus());
  });
  subscriber.join();

  server_a->End(absl::OkStatus());
  EXPECT_EQ(CurrentContext(), nullptr);
  client->End(absl::OkStatus());

  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 6u);
  const SpanData* a_client = Find(spans, "a/A.Do", SpanKind::kClient);
  const SpanData* a_server = Find(spans, "a/A.Do", SpanKind::kServer);
  const SpanData* b_client = Find(spans, "b/B.Do", SpanKind::kClient);
  const SpanData* b_server = Find(spans, "b/B.Do", SpanKind::kServer);
  const SpanData* producer = Find(spans, "publish orders", SpanKind::kProducer);
  const SpanData* consumer = Find(spans, "process orders", SpanKind::kConsumer);
  for (const SpanData* s :
       {a_client, a_server, b_client, b_server, producer, consumer}) {
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->context.trace_id, a_client->context.trace_id) << s->name;
  }
  EXPECT_FALSE(a_client->has_parent());
  EXPECT_EQ(a_server->parent_span_id, a_client->context.span_id);
  EXPECT_EQ(b_client->parent_span_id, a_server->context.span_id);
  EXPECT_EQ(b_server->parent_span_id, b_client->context.span_id);
  EXPECT_EQ(producer->parent_span_id, a_server->context.span_id);
  EXPECT_EQ(consumer->parent_span_id, producer->context.span_id);

  EXPECT_EQ(b_server->status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Str(*b_server, "error.type"), "NOT_FOUND");
  EXPECT_EQ(std::get<int64_t>(*b_server->attribute("micro.code")), 404);
  EXPECT_EQ(Str(*producer, "messaging.system"), "nats");
  EXPECT_EQ(Str(*producer, "messaging.destination.name"), "orders");
  EXPECT_EQ(Str(*consumer, "messaging.operation.type"), "process");
  EXPECT_EQ(producer->attribute("rpc.system"), nullptr);
}

TEST_F(TracingObserverTest, EventsAreProducerAndConsumer) {
  Headers headers;
  observer_->ClientCall(CallKind::kEvent, "", "orders.created", &headers)
      ->End(absl::OkStatus());
  observer_->ServerCall(CallKind::kEvent, "c", "orders.created", headers)
      ->End(absl::OkStatus());
  observer_->ClientCall(CallKind::kStream, "g", "G.Repeat", &headers)
      ->End(absl::OkStatus());
  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].kind, SpanKind::kProducer);
  EXPECT_EQ(spans[1].kind, SpanKind::kConsumer);
  EXPECT_EQ(spans[1].parent_span_id, spans[0].context.span_id);
  EXPECT_EQ(spans[2].kind, SpanKind::kClient);
  EXPECT_EQ(spans[2].name, "g/G.Repeat");
}

TEST_F(TracingObserverTest, AConsumerNamesItsPatternAndTheTopicGiven) {
  Headers headers = {{"Micro-Topic", "orders.eu"}};
  observer_->ServerCall(CallKind::kMessage, "c", "orders.>", headers)
      ->End(absl::OkStatus());
  headers["Micro-Topic"] = std::string(1000, 'x');  // hostile: capped
  observer_->ServerCall(CallKind::kEvent, "c", "orders", headers)
      ->End(absl::OkStatus());
  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "process orders.>");
  EXPECT_EQ(Str(spans[0], "messaging.destination.name"), "orders.eu");
  EXPECT_EQ(Str(spans[0], "messaging.destination.template"), "orders.>");
  EXPECT_EQ(Str(spans[1], "messaging.destination.name"), std::string(256, 'x'));
  EXPECT_EQ(spans[1].attribute("messaging.destination.template"), nullptr);
}

TEST_F(TracingObserverTest, ABadTraceparentStartsANewTraceAndIsCounted) {
  const std::vector<std::string> bad = {
      "garbage",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      std::string(1 << 16, '0'),
  };
  for (const std::string& value : bad) {
    Headers headers = {{"traceparent", value}, {"tracestate", "a=1"}};
    auto call =
        observer_->ServerCall(CallKind::kUnary, "s", "unknown", headers);
    ASSERT_NE(call, nullptr);
    EXPECT_TRUE(CurrentContext()->valid());
    EXPECT_TRUE(CurrentContext()->tracestate.empty());  // not without a parent
    call->End(absl::OkStatus());
  }
  EXPECT_EQ(observer_->stats().bad_traceparent, 5);
  EXPECT_EQ(observer_->stats().tracestate_dropped, 0);
  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 5u);
  for (const SpanData& s : spans) EXPECT_FALSE(s.has_parent());
  // No header at all: a new trace, not counted.
  observer_->ServerCall(CallKind::kUnary, "s", "S.Do", {})
      ->End(absl::OkStatus());
  EXPECT_EQ(observer_->stats().bad_traceparent, 5);
}

TEST_F(TracingObserverTest, ReadsGoCanonicalHeaderNames) {
  Headers headers = {
      {"Traceparent",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"Tracestate", "congo=t61rcWkgMzE"}};
  observer_->ServerCall(CallKind::kUnary, "s", "S.Do", headers)
      ->End(absl::OkStatus());
  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(ToHex(spans[0].context.trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(spans[0].parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(spans[0].context.tracestate, "congo=t61rcWkgMzE");
}

TEST_F(TracingObserverTest, AClientContinuesATraceparentItWasGiven) {
  // No current span, but the caller passes one on (a gateway).
  Headers headers = {
      {"traceparent",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"tracestate", "congo=t61rcWkgMzE"}};
  observer_->ClientCall(CallKind::kUnary, "s", "S.Do", &headers)
      ->End(absl::OkStatus());
  const auto spans = tracer_->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(ToHex(spans[0].parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(headers["tracestate"], "congo=t61rcWkgMzE");
  auto sent = ParseTraceparent(headers["traceparent"]);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->span_id, spans[0].context.span_id);
}

TEST_F(TracingObserverTest, AnUnsampledTraceIsCarriedNotRecorded) {
  Headers headers = {
      {"traceparent",
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}};
  auto server = observer_->ServerCall(CallKind::kUnary, "s", "S.Do", headers);
  Headers out;
  observer_->ClientCall(CallKind::kUnary, "t", "T.Do", &out)
      ->End(absl::OkStatus());
  server->End(absl::OkStatus());
  EXPECT_TRUE(tracer_->spans().empty());
  EXPECT_EQ(out["traceparent"].substr(0, 35),
            "00-4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(out["traceparent"].substr(53), "00");
}

TEST(ContextScopeTest, NestsAndSurvivesOutOfOrderEnds) {
  TraceContext a, b, c;
  a.span_id = NewSpanId();
  b.span_id = NewSpanId();
  c.span_id = NewSpanId();
  EXPECT_EQ(CurrentContext(), nullptr);
  {
    ContextScope sa(&a);
    {
      ContextScope sb(&b);
      EXPECT_EQ(CurrentContext(), &b);
    }
    EXPECT_EQ(CurrentContext(), &a);
  }
  EXPECT_EQ(CurrentContext(), nullptr);

  // Server observations ended out of order: the chain stays right.
  auto tracer = std::make_shared<InMemoryTracer>();
  TracingObserver observer(tracer);
  auto first = observer.ServerCall(CallKind::kUnary, "s", "S.A", {});
  const TraceContext* first_context = CurrentContext();
  auto second = observer.ServerCall(CallKind::kUnary, "s", "S.B", {});
  first->End(absl::OkStatus());
  first.reset();
  EXPECT_NE(CurrentContext(), nullptr);
  EXPECT_NE(CurrentContext(), first_context);
  second->End(absl::OkStatus());
  EXPECT_EQ(CurrentContext(), nullptr);
}

TEST(NewTracingObserverTest, NullTracerIsANoop) {
  auto observer = NewTracingObserver(nullptr);
  Headers headers;
  auto call = observer->ClientCall(CallKind::kUnary, "s", "S.Do", &headers);
  ASSERT_NE(call, nullptr);
  call->End(absl::OkStatus());
  EXPECT_TRUE(ParseTraceparent(headers["traceparent"]).ok());
}

TEST(NewTracingObserverTest, CombinesWithOtherObservers) {
  auto tracer = std::make_shared<InMemoryTracer>();
  auto observer = service::CombineObservers(
      {NewTracingObserver(tracer), std::make_shared<service::Observer>()});
  Headers headers;
  observer->ClientCall(CallKind::kUnary, "s", "S.Do", &headers)
      ->End(absl::OkStatus());
  EXPECT_EQ(tracer->spans().size(), 1u);
}

}  // namespace
}  // namespace micro_nats::tracing
