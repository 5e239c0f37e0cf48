// Copyright 2026 The micro-nats Authors.

#include "tracing/tracer.h"

#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace micro_nats::tracing {
namespace {

// The spec's example (trace-context-1, section 3.2.2.5).
constexpr absl::string_view kExample =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(ParseTraceparentTest, ReadsTheSpecsExample) {
  auto context = ParseTraceparent(kExample);
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(ToHex(context->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(context->span_id), "00f067aa0ba902b7");
  EXPECT_EQ(context->flags, 0x01);
  EXPECT_TRUE(context->sampled());
  EXPECT_TRUE(context->valid());
  EXPECT_EQ(FormatTraceparent(*context), kExample);
}

TEST(ParseTraceparentTest, KeepsVersion00sFlagsAsSent) {
  auto context = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(context.ok());
  EXPECT_FALSE(context->sampled());
  context = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(context.ok());
  EXPECT_EQ(context->flags, 0x03);
}

TEST(ParseTraceparentTest, RefusesEachMalformedForm) {
  const std::string good(kExample);
  const std::vector<std::string> bad = {
      "",
      "00",
      good.substr(0, 54),                                         // short
      good + "0",                                                 // v00 long
      good + "-00",                                               // v00 long
      " " + good.substr(1),                                       // space
      "0-" + good.substr(2),                                      // version
      "ff" + good.substr(2),                                      // ff
      "0g" + good.substr(2),                                      // not hex
      "00_" + good.substr(3),                                     // separator
      good.substr(0, 35) + "_" + good.substr(36),                 // separator
      good.substr(0, 52) + "_" + good.substr(53),                 // separator
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  // upper
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",  // upper
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero id
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  // shifted
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",  // flags
      std::string("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\0",
                  55),
  };
  for (const std::string& value : bad) {
    auto context = ParseTraceparent(value);
    EXPECT_FALSE(context.ok()) << "accepted '" << value << "'";
    if (!context.ok()) {
      EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseTraceparentTest, ReadsAFutureVersionsKnownPrefix) {
  // A later version may be longer; what follows the flags starts with '-'.
  auto context = ParseTraceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-"
      "holds");
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(ToHex(context->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->flags, kSampled);  // only the bit known to mean the same
  // Exactly 55 is fine too; we answer with version 00.
  context = ParseTraceparent(
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(context.ok());
  EXPECT_EQ(FormatTraceparent(*context), kExample);
  // But not without the dash, nor with a broken known part.
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-"
                                "00f067aa0ba902b7-01x")
                   .ok());
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-"
                                "00f067aa0ba902b7-1-")
                   .ok());
  EXPECT_FALSE(ParseTraceparent("cc-00000000000000000000000000000000-"
                                "00f067aa0ba902b7-01-x")
                   .ok());
}

TEST(FormatTraceparentTest, RoundTripsNewIds) {
  for (int i = 0; i < 100; ++i) {
    TraceContext context;
    context.trace_id = NewTraceId();
    context.span_id = NewSpanId();
    context.flags = static_cast<uint8_t>(i);
    const std::string formatted = FormatTraceparent(context);
    EXPECT_EQ(formatted.size(), 55u);
    auto parsed = ParseTraceparent(formatted);
    ASSERT_TRUE(parsed.ok()) << formatted;
    EXPECT_EQ(parsed->trace_id, context.trace_id);
    EXPECT_EQ(parsed->span_id, context.span_id);
    EXPECT_EQ(parsed->flags, context.flags);
  }
}

TEST(NewIdsTest, DifferAcrossCallsAndThreads) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(ToHex(NewSpanId()));
  std::vector<std::string> other(1000);
  std::thread t([&] {
    for (auto& id : other) id = ToHex(NewSpanId());
  });
  t.join();
  ids.insert(other.begin(), other.end());
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(ParseTracestateTest, KeepsWellFormedMembers) {
  int dropped = -1;
  EXPECT_EQ(
      ParseTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", &dropped),
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(dropped, 0);
  // Spaces and tabs around members, empty members, multi-tenant keys.
  EXPECT_EQ(
      ParseTracestate(" a=1 ,\t, tenant@vendor=x y ,, b_-*/9=~", &dropped),
      "a=1,tenant@vendor=x y,b_-*/9=~");
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(ParseTracestate("", &dropped), "");
  EXPECT_EQ(dropped, 0);
}

TEST(ParseTracestateTest, DropsMalformedMembersOnly) {
  int dropped = 0;
  EXPECT_EQ(ParseTracestate("Upper=1,ok=1,noequals,=v,k=,9digit=1,"
                            "k2=a=b,@v=1,t@=1,t@UP=1,t@toolongsystemid=1,"
                            "ctl=\x01,dup=1,dup=2,9t@v=1,tail=sp ",
                            &dropped),
            "ok=1,dup=1,9t@v=1,tail=sp");
  // Upper, noequals, =v, k=, 9digit (a simple key starts with a letter; a
  // tenant may start with a digit), k2=a=b, @v, t@, t@UP, t@toolong... (a
  // system id is at most 14), ctl, the second dup: 12. The space after
  // "sp" is the list's, not the value's.
  EXPECT_EQ(dropped, 12);
}

TEST(ParseTracestateTest, KeepsAt32Members) {
  std::string value;
  for (int i = 0; i < 40; ++i)
    absl::StrAppend(&value, i ? "," : "", "k", i, "=v");
  int dropped = 0;
  const std::string kept = ParseTracestate(value, &dropped);
  EXPECT_EQ(dropped, 8);
  const std::vector<std::string> members = absl::StrSplit(kept, ',');
  ASSERT_EQ(members.size(), 32u);
  EXPECT_EQ(members.front(), "k0=v");
  EXPECT_EQ(members.back(), "k31=v");
}

TEST(ParseTracestateTest, KeepsAt512CharactersLongMembersFirst) {
  // 5 members of 100 characters (504 with commas) and one of 200: the long
  // one goes first, which is enough.
  std::string value;
  for (int i = 0; i < 5; ++i) {
    absl::StrAppend(&value, "k", i, "=", std::string(97, 'v'), ",");
  }
  absl::StrAppend(&value, "long=", std::string(195, 'x'));
  int dropped = 0;
  std::string kept = ParseTracestate(value, &dropped);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(kept.size(), 504u);
  EXPECT_EQ(kept.find("long="), std::string::npos);

  // 6 members of 100: the last goes.
  value.clear();
  for (int i = 0; i < 6; ++i) {
    absl::StrAppend(&value, i ? "," : "", "k", i, "=", std::string(97, 'v'));
  }
  kept = ParseTracestate(value, &dropped);
  EXPECT_EQ(dropped, 1);
  EXPECT_LE(kept.size(), 512u);
  EXPECT_EQ(kept.find("k5="), std::string::npos);
  EXPECT_NE(kept.find("k4="), std::string::npos);
}

TEST(ParseTracestateTest, HostileInputIsBounded) {
  // A megabyte of commas and junk: no crash, little kept.
  std::string value(1 << 20, ',');
  for (size_t i = 0; i < value.size(); i += 7) value[i] = '=';
  int dropped = 0;
  EXPECT_EQ(ParseTracestate(value, &dropped), "");
  EXPECT_GT(dropped, 0);
}

TEST(NoopTracerTest, CarriesContextWithoutRecording) {
  auto tracer = NewNoopTracer();
  auto root = tracer->StartSpan("root", SpanKind::kClient, nullptr);
  EXPECT_TRUE(root->context().valid());
  EXPECT_TRUE(root->context().sampled());
  auto child = tracer->StartSpan("child", SpanKind::kServer, &root->context());
  EXPECT_EQ(child->context().trace_id, root->context().trace_id);
  EXPECT_NE(child->context().span_id, root->context().span_id);
  child->End(absl::OkStatus());
  root->End(absl::OkStatus());
}

TEST(InMemoryTracerTest, RecordsFinishedSpans) {
  InMemoryTracer tracer;
  auto root = tracer.StartSpan("root", SpanKind::kClient, nullptr,
                               {{"rpc.system", "micro-nats"}, {"n", 3}});
  TraceContext parent = root->context();
  parent.tracestate = "v=1";
  auto child = tracer.StartSpan("child", SpanKind::kServer, &parent);
  child->SetAttribute("flag", true);
  child->SetAttribute("ratio", 0.5);
  child->SetAttribute("flag", false);  // replaced
  child->AddEvent("attempt failed", {{"micro.node.id", "n1"}});
  child->End(absl::NotFoundError("gone"));
  root->End(absl::OkStatus());
  auto unended = tracer.StartSpan("never ended", SpanKind::kInternal, nullptr);
  unended.reset();

  ASSERT_TRUE(tracer.WaitForSpans(2, absl::Seconds(1)));
  const std::vector<SpanData> spans = tracer.spans();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& c = spans[0];
  const SpanData& r = spans[1];
  EXPECT_EQ(c.name, "child");
  EXPECT_EQ(c.kind, SpanKind::kServer);
  EXPECT_EQ(c.context.trace_id, r.context.trace_id);
  EXPECT_EQ(c.parent_span_id, r.context.span_id);
  EXPECT_EQ(c.context.tracestate, "v=1");
  EXPECT_TRUE(c.has_parent());
  EXPECT_FALSE(r.has_parent());
  EXPECT_EQ(c.status, absl::NotFoundError("gone"));
  ASSERT_NE(c.attribute("flag"), nullptr);
  EXPECT_EQ(std::get<bool>(*c.attribute("flag")), false);
  EXPECT_EQ(std::get<double>(*c.attribute("ratio")), 0.5);
  EXPECT_EQ(c.attributes.size(), 2u);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].name, "attempt failed");
  EXPECT_EQ(std::get<std::string>(*r.attribute("rpc.system")), "micro-nats");
  EXPECT_EQ(std::get<int64_t>(*r.attribute("n")), 3);
  EXPECT_LE(r.start, r.end);
  EXPECT_LE(r.start, c.start);
}

TEST(InMemoryTracerTest, LeavesOutUnsampledTracesButCarriesThem) {
  InMemoryTracer tracer;
  auto parent = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(parent.ok());
  auto span = tracer.StartSpan("s", SpanKind::kServer, &*parent);
  EXPECT_EQ(ToHex(span->context().trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(span->context().sampled());
  span->End(absl::OkStatus());
  EXPECT_TRUE(tracer.spans().empty());
}

TEST(InMemoryTracerTest, CountsWhatIsPastItsBound) {
  InMemoryTracer tracer(2);
  for (int i = 0; i < 5; ++i) {
    tracer.StartSpan("s", SpanKind::kInternal, nullptr)->End(absl::OkStatus());
  }
  EXPECT_EQ(tracer.spans().size(), 2u);
  EXPECT_EQ(tracer.dropped(), 3);
}

TEST(JsonLinesTracerTest, WritesOneObjectPerSpan) {
  std::ostringstream out;
  {
    auto tracer = NewJsonLinesTracer(&out);
    auto root = tracer->StartSpan("greeter/Greeter.Hello", SpanKind::kClient,
                                  nullptr, {{"rpc.service", "greeter"}});
    auto child =
        tracer->StartSpan("greeter/Greeter.Hello", SpanKind::kServer,
                          &root->context(), {{"bad.utf8", "\xff\xfe ok"}});
    child->AddEvent("attempt failed", {{"micro.node.id", "n1"}});
    child->End(absl::UnavailableError("down"));
    root->End(absl::OkStatus());
    ASSERT_TRUE(tracer->Flush(absl::Seconds(10)).ok());
    EXPECT_EQ(tracer->written(), 2);
    EXPECT_EQ(tracer->dropped(), 0);
  }
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  const auto child = nlohmann::json::parse(lines[0]);
  const auto root = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(child["name"], "greeter/Greeter.Hello");
  EXPECT_EQ(child["kind"], "SERVER");
  EXPECT_EQ(root["kind"], "CLIENT");
  EXPECT_EQ(child["traceId"], root["traceId"]);
  EXPECT_EQ(child["parentSpanId"], root["spanId"]);
  EXPECT_EQ(root["parentSpanId"], "");
  EXPECT_EQ(child["status"]["code"], "ERROR");
  EXPECT_EQ(child["status"]["message"], "down");
  EXPECT_EQ(root["status"]["code"], "OK");
  EXPECT_EQ(root["attributes"]["rpc.service"], "greeter");
  EXPECT_EQ(child["attributes"]["bad.utf8"], "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  EXPECT_EQ(child["events"][0]["attributes"]["micro.node.id"], "n1");
  EXPECT_GE(root["endTimeUnixNano"].get<int64_t>(),
            root["startTimeUnixNano"].get<int64_t>());
}

TEST(JsonLinesTracerTest, DestructionWritesWhatIsQueued) {
  std::ostringstream out;
  {
    auto tracer = NewJsonLinesTracer(
        &out, {.max_queued = 100, .flush_interval = absl::Hours(1)});
    for (int i = 0; i < 10; ++i) {
      tracer->StartSpan("s", SpanKind::kInternal, nullptr)
          ->End(absl::OkStatus());
    }
  }
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 10u);
}

TEST(JsonLinesTracerTest, DropsPastItsQueueAndCounts) {
  std::ostringstream out;
  // The writer wakes at half the queue; a long interval and no Flush: with
  // 1 slot, everything past it before the writer runs is dropped. Ends
  // racing the writer make the split vary, but never lose a count.
  auto tracer = NewJsonLinesTracer(
      &out, {.max_queued = 1, .flush_interval = absl::Hours(1)});
  for (int i = 0; i < 1000; ++i) {
    tracer->StartSpan("s", SpanKind::kInternal, nullptr)->End(absl::OkStatus());
  }
  ASSERT_TRUE(tracer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(tracer->written() + tracer->dropped(), 1000);
  EXPECT_GT(tracer->written(), 0);
}

TEST(JsonLinesTracerTest, AppendsToAFile) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/spans.jsonl");
  {
    auto tracer = NewJsonLinesTracer(path);
    ASSERT_TRUE(tracer.ok()) << tracer.status();
    (*tracer)
        ->StartSpan("s", SpanKind::kInternal, nullptr)
        ->End(absl::OkStatus());
    ASSERT_TRUE((*tracer)->Flush(absl::Seconds(10)).ok());
  }
  EXPECT_FALSE(NewJsonLinesTracer("/nonexistent/dir/spans.jsonl").ok());
}

TEST(InMemoryTracerTest, ASpanMayOutliveItsTracer) {
  auto tracer = std::make_shared<InMemoryTracer>();
  std::unique_ptr<Span> span =
      tracer->StartSpan("late", SpanKind::kClient, nullptr, {{"k", "v"}});
  tracer.reset();
  span->SetAttribute("after", int64_t{1});
  span->End(absl::OkStatus());  // into the state it shares: no use-after-free
}

TEST(JsonLinesTracerTest, ASpanMayOutliveItsTracerAndCountsAsDropped) {
  std::ostringstream out;
  std::unique_ptr<Span> span;
  {
    auto tracer = NewJsonLinesTracer(&out);
    span = tracer->StartSpan("late", SpanKind::kClient, nullptr);
  }
  span->End(absl::OkStatus());
  span.reset();
  EXPECT_EQ(out.str(), "");
}

// A stream whose writes block until released (a pipe whose reader stopped).
class StallingBuf : public std::streambuf {
 public:
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitSynced(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [&] { return synced_; });
  }
  bool WaitEntered(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [&] { return entered_; });
  }

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return n;
  }
  int_type overflow(int_type c) override {
    return xsputn(nullptr, 1) == 1 ? c : traits_type::eof();
  }
  int sync() override {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = released_;
    cv_.notify_all();
    return 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  bool synced_ = false;
};

TEST(JsonLinesTracerTest, DestructionReturnsByCloseTimeoutWhenTheOutputStalls) {
  // Kept for the process: the abandoned writer finishes its write later.
  static auto* buf = new StallingBuf;
  static auto* out = new std::ostream(buf);
  JsonLinesOptions options;
  options.flush_interval = absl::Milliseconds(1);
  options.close_timeout = absl::Milliseconds(100);
  auto tracer = NewJsonLinesTracer(out, options);
  tracer->StartSpan("first", SpanKind::kClient, nullptr)->End(absl::OkStatus());
  ASSERT_TRUE(buf->WaitEntered(absl::Seconds(10)));  // the writer is stuck
  tracer->StartSpan("second", SpanKind::kClient, nullptr)
      ->End(absl::OkStatus());
  const absl::Time start = absl::Now();
  tracer.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  buf->Release();
  // The detached writer completes the stuck write on state it owns.
  EXPECT_TRUE(buf->WaitSynced(absl::Seconds(10)));
}

TEST(JsonLinesTracerTest, ZeroFlushIntervalAndQueueAreFloored) {
  std::ostringstream out;
  JsonLinesOptions options;
  options.flush_interval = absl::ZeroDuration();
  options.max_queued = 0;
  auto tracer = NewJsonLinesTracer(&out, options);
  tracer->StartSpan("one", SpanKind::kClient, nullptr)->End(absl::OkStatus());
  ASSERT_TRUE(tracer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(tracer->written(), 1);
  EXPECT_EQ(tracer->dropped(), 0);
}

TEST(SamplerTest, RootsAreSampledByRatioAndParentsWin) {
  TraceId id{};
  EXPECT_TRUE(SampledByRatio(id, 1.0));
  EXPECT_FALSE(SampledByRatio(id, 0.0));
  id.fill(0xff);
  EXPECT_FALSE(SampledByRatio(id, 0.99));

  auto none = std::make_shared<InMemoryTracer>(100000, 0.0);
  auto root = none->StartSpan("root", SpanKind::kClient, nullptr);
  EXPECT_TRUE(root->context().valid());
  EXPECT_FALSE(root->context().sampled());
  EXPECT_EQ(FormatTraceparent(root->context()).substr(53), "00");
  root->End(absl::OkStatus());
  TraceContext sampled_parent = *ParseTraceparent(kExample);
  none->StartSpan("child", SpanKind::kServer, &sampled_parent)
      ->End(absl::OkStatus());
  ASSERT_EQ(none->spans().size(), 1u);
  EXPECT_EQ(none->spans()[0].name, "child");

  auto quarter = std::make_shared<InMemoryTracer>(100000, 0.25);
  int sampled = 0;
  for (int i = 0; i < 4000; ++i) {
    auto span = quarter->StartSpan("r", SpanKind::kClient, nullptr);
    sampled += span->context().sampled() ? 1 : 0;
    span->End(absl::OkStatus());
  }
  EXPECT_GT(sampled, 800);
  EXPECT_LT(sampled, 1200);
  EXPECT_EQ(quarter->spans().size(), static_cast<size_t>(sampled));
}

}  // namespace
}  // namespace micro_nats::tracing
