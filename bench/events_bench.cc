// Copyright 2026 The micro-nats Authors.
//
// events_bench: durable events (//events on JetStream) against raw nats.c
// JetStream doing the same, paired and interleaved (bench/paired.h), on a
// nats-server of this binary's own with JetStream on a temporary file store
// (the shared bench server runs without -js).
//
//   publish: one durable publish at a time, each waiting for the stream's
//     ack (js_Publish vs Events::Publish);
//   publish_async: a run of durable publishes with at most 256 unacknowledged
//     (js_PublishAsync on a context with PublishAsync.MaxPending 256, then
//     js_PublishAsyncComplete, vs Events::PublishAsync with
//     max_publish_in_flight 256, then FlushPublishes);
//   consume: a durable pull consumer taking a backlog of events, acking
//     each (js_PullSubscribe + natsSubscription_Fetch of 64 + natsMsg_Ack vs
//     Events::Consume with max_in_flight 64).

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/nats_bench.h"
#include "bench/paired.h"
#include "benchmark/benchmark.h"
#include "events/jetstream/jetstream_events.h"
#include "nats/connection.h"
#include "status/status_macros.h"
#include "testing/nats_server.h"

namespace micro_nats {
namespace {

testing::NatsServer& JetStreamServer() {
  static testing::NatsServer* server = [] {
    auto started = testing::NatsServer::Start({.jetstream = true});
    if (!started.ok()) {
      std::fprintf(stderr, "events_bench: %s\n",
                   started.status().ToString().c_str());
      std::abort();
    }
    return started->release();
  }();
  return *server;
}

// Raw nats.c: a send-asap connection (as our main one) and its JetStream
// context.
struct Raw {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ~Raw() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) natsConnection_Destroy(nc);
  }
  // max_pending > 0: js_PublishAsync waits while that many are in flight.
  bool Connect(int max_pending = 0) {
    natsOptions* opts = nullptr;
    if (natsOptions_Create(&opts) != NATS_OK) return false;
    natsOptions_SetURL(opts, JetStreamServer().url().c_str());
    natsOptions_SetSendAsap(opts, true);
    natsStatus s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = max_pending;
    jo.PublishAsync.StallWait = 30000;
    return s == NATS_OK && natsConnection_JetStream(&js, nc, &jo) == NATS_OK;
  }
};

absl::StatusOr<std::unique_ptr<events::Events>> Ours(
    int max_publish_in_flight = 256) {
  auto conn = nats::Connection::Connect({.servers = {JetStreamServer().url()}});
  if (!conn.ok()) return conn.status();
  // A bound on the store: rounds add up.
  return events::NewJetStreamEvents(
      *conn, {.events = {.streams = {{.name = "BENCH",
                                      .subjects = {"bench.>"},
                                      .max_messages = 2000000}},
                         .max_publish_in_flight = max_publish_in_flight}});
}

void BM_PairedDurablePublish(benchmark::State& state) {
  Raw raw;
  auto ours = Ours();
  if (!raw.Connect() || !ours.ok()) {
    state.SkipWithError("connect failed");
    return;
  }
  const std::string body(state.range(0), 'x');
  const events::Message message{.body = body};
  const absl::Duration round = bench::RoundTime();
  bench::Side baseline = [&]() {
    return bench::RunForRate(round, [&]() -> absl::Status {
      jsPubAck* ack = nullptr;
      jsErrCode code = static_cast<jsErrCode>(0);
      natsStatus s = js_Publish(&ack, raw.js, "bench.pub.raw", body.data(),
                                static_cast<int>(body.size()), nullptr, &code);
      if (ack != nullptr) jsPubAck_Destroy(ack);
      return s == NATS_OK ? absl::OkStatus()
                          : absl::UnavailableError("js_Publish failed");
    });
  };
  bench::Side stack = [&]() {
    return bench::RunForRate(round, [&]() -> absl::Status {
      return (*ours)->Publish("bench.pub.ours", message).status();
    });
  };
  bench::RunPaired(
      state, baseline, stack,
      {.baseline = "raw",
       .figures = bench::kRate,
       .keys = {{absl::StrCat("events_publish_rate_vs_raw",
                              state.range(0) >= 1024 ? "_1KiB" : ""),
                 "rate_vs_raw"}},
       .label = "sync durable publish"})
      .IgnoreError();  // reported by RunPaired
}
BENCHMARK(BM_PairedDurablePublish)
    ->ArgName("bytes")
    ->Arg(16)
    ->Arg(1024)
    ->Apply(bench::AsPaired);

// Publishes `count` events of `body` to `subject` with js_PublishAsync (as
// many in flight as raw.js allows), then waits for every ack.
absl::Status RawPublishAsync(Raw& raw, const char* subject,
                             absl::string_view body, int count) {
  for (int i = 0; i < count; ++i) {
    if (js_PublishAsync(raw.js, subject, body.data(),
                        static_cast<int>(body.size()), nullptr) != NATS_OK) {
      return absl::UnavailableError("js_PublishAsync failed");
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30000;
  if (js_PublishAsyncComplete(raw.js, &po) != NATS_OK) {
    return absl::DeadlineExceededError("not all acknowledged");
  }
  return absl::OkStatus();
}

constexpr int kAsyncInFlight = 256;

// Each round publishes a run of events with at most kAsyncInFlight
// unacknowledged; the clock runs from the first send to the last ack.
void BM_PairedDurablePublishAsync(benchmark::State& state) {
  const int count = bench::GetPairedFlags().smoke ? 500 : 5000;
  Raw raw;
  auto ours = Ours(kAsyncInFlight);
  if (!raw.Connect(kAsyncInFlight) || !ours.ok()) {
    state.SkipWithError("connect failed");
    return;
  }
  const std::string body(state.range(0), 'x');
  const events::Message message{.body = body};
  bench::Side baseline = [&]() -> absl::StatusOr<bench::Round> {
    const absl::Time start = absl::Now();
    MN_RETURN_IF_ERROR(RawPublishAsync(raw, "bench.async.raw", body, count));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    return bench::Round{.ops = count, .per_s = count / seconds};
  };
  bench::Side stack = [&]() -> absl::StatusOr<bench::Round> {
    std::atomic<int> failed{0};
    const absl::Time start = absl::Now();
    for (int i = 0; i < count; ++i) {
      MN_RETURN_IF_ERROR((*ours)->PublishAsync(
          "bench.async.ours", message, {},
          [&failed](absl::StatusOr<uint64_t> seq) {
            if (!seq.ok()) failed.fetch_add(1, std::memory_order_relaxed);
          }));
    }
    MN_RETURN_IF_ERROR((*ours)->FlushPublishes(start + absl::Seconds(30)));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (failed.load() != 0) {
      return absl::UnavailableError(
          absl::StrCat(failed.load(), " async publishes failed"));
    }
    return bench::Round{.ops = count, .per_s = count / seconds};
  };
  bench::RunPaired(
      state, baseline, stack,
      {.baseline = "raw",
       .figures = bench::kRate,
       .keys = {{"events_publish_async_rate_vs_raw", "rate_vs_raw"}},
       .label = "async durable publish, 256 in flight"})
      .IgnoreError();  // reported by RunPaired
}
BENCHMARK(BM_PairedDurablePublishAsync)
    ->ArgName("bytes")
    ->Arg(16)
    ->Apply(bench::AsPaired);

// The stream's next sequence.
absl::StatusOr<uint64_t> NextSequence(Raw& raw) {
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, raw.js, "BENCH", nullptr, &code) != NATS_OK) {
    return absl::UnavailableError("stream info failed");
  }
  const uint64_t next = info->State.LastSeq + 1;
  jsStreamInfo_Destroy(info);
  return next;
}

// Each round: a backlog of events is stored, then a new durable consumer
// starting at it takes them all, acking each; the clock runs from the
// consumer's creation to the last event handled.
void BM_PairedConsume(benchmark::State& state) {
  const int backlog = bench::GetPairedFlags().smoke ? 200 : 2000;
  Raw raw;
  auto ours = Ours();
  if (!raw.Connect() || !ours.ok()) {
    state.SkipWithError("connect failed");
    return;
  }
  int round = 0;
  bench::Side baseline = [&]() -> absl::StatusOr<bench::Round> {
    MN_ASSIGN_OR_RETURN(uint64_t first, NextSequence(raw));
    MN_RETURN_IF_ERROR(
        RawPublishAsync(raw, "bench.consume.raw", "event", backlog));
    const std::string durable = absl::StrCat("raw", ++round);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = first;
    const absl::Time start = absl::Now();
    natsSubscription* sub = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (js_PullSubscribe(&sub, raw.js, "bench.consume.raw", durable.c_str(),
                         nullptr, &so, &code) != NATS_OK) {
      return absl::UnavailableError("js_PullSubscribe failed");
    }
    int taken = 0;
    while (taken < backlog) {
      natsMsgList list{};
      if (natsSubscription_Fetch(&list, sub, 64, 5000, &code) != NATS_OK) {
        natsSubscription_Destroy(sub);
        return absl::UnavailableError("fetch failed");
      }
      for (int i = 0; i < list.Count; ++i) {
        natsMsg_Ack(list.Msgs[i], nullptr);
        ++taken;
      }
      natsMsgList_Destroy(&list);
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    natsSubscription_Unsubscribe(sub);  // deletes the durable
    natsSubscription_Destroy(sub);
    return bench::Round{.ops = taken, .per_s = taken / seconds};
  };
  bench::Side stack = [&]() -> absl::StatusOr<bench::Round> {
    MN_ASSIGN_OR_RETURN(uint64_t first, NextSequence(raw));
    MN_RETURN_IF_ERROR(
        RawPublishAsync(raw, "bench.consume.ours", "event", backlog));
    std::mutex mu;
    std::condition_variable cv;
    int handled = 0;
    const absl::Time start = absl::Now();
    auto consumer = (*ours)->Consume("bench.consume.ours",
                                     [&](const events::Event&) {
                                       std::lock_guard<std::mutex> lock(mu);
                                       if (++handled == backlog)
                                         cv.notify_all();
                                       return absl::OkStatus();
                                     },
                                     {.group = absl::StrCat("ours", ++round),
                                      .start = events::Start::AtSequence(first),
                                      .max_in_flight = 64});
    if (!consumer.ok()) return consumer.status();
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      done = cv.wait_for(lock, std::chrono::seconds(30),
                         [&] { return handled >= backlog; });
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    (*consumer)->Stop(absl::Now() + absl::Seconds(5)).IgnoreError();
    if (!done) return absl::DeadlineExceededError("backlog not consumed");
    return bench::Round{.ops = backlog, .per_s = backlog / seconds};
  };
  bench::RunPaired(state, baseline, stack,
                   {.baseline = "raw",
                    .figures = bench::kRate,
                    .keys = {{"events_consume_rate_vs_raw", "rate_vs_raw"}},
                    .label = "durable consume of a 2000-event backlog, acked"})
      .IgnoreError();  // reported by RunPaired
}
BENCHMARK(BM_PairedConsume)->Apply(bench::AsPaired);

}  // namespace
}  // namespace micro_nats
