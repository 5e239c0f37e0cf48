// Copyright 2026 The micro-nats Authors.
//
// fanout_bench: one message to many, next to raw nats.c doing the same on
// the same server in the same run.
//
//   BM_FanOut/{raw_nats,raw_nats_pool,broker,broker_immediate}   1 -> N
//       pub/sub (N = 1, 8, 64, 256 subscribers on one subscribing
//       connection), 16-byte messages; raw_nats_pool is the baseline. Each
//       iteration publishes `batch` messages and waits until every
//       subscriber has all of them. batch 1000: the delivery rate
//       (deliveries_per_s); batch 1: publish-to-last-delivery latency (the
//       p50/p99 of one message reaching all N).
//   BM_ScatterGather/{raw_nats,service}   one request answered by each of N
//       instances (N = 1, 8, 64), on 8 server connections at most; an
//       iteration ends with the N-th answer. Raw: a request on a subject
//       that N subscribers answer, gathered on one inbox. micro-nats: the
//       client calls every instance it finds (CallAsync, a node filter per
//       instance), as a user's scatter-gather would.
//
// rate_vs_raw, p50_vs_raw and p99_vs_raw: each figure over the raw one with
// the same N and batch.
//
//   bazel run -c opt //bench:fanout_bench -- --benchmark_min_time=0.5

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/echo.pb.h"
#include "bench/latency.h"
#include "bench/nats_bench.h"
#include "benchmark/benchmark.h"
#include "broker/nats/nats_broker.h"
#include "concurrency/wait.h"
#include "service/nats/nats_service.h"

namespace micro_nats {
namespace {

constexpr absl::Duration kWaitLimit = absl::Seconds(30);

// Deliveries (or answers) so far, and a wait for a count of them.
class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int64_t expected) {
    std::unique_lock<std::mutex> lock(mu_);
    return concurrency::WaitFor(cv_, lock, kWaitLimit,
                                [&] { return count_ >= expected; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t count_ = 0;  // guarded by mu_
};

// --- 1 -> N pub/sub ---

void CountMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                  void* counter) {
  natsMsg_Destroy(msg);
  static_cast<Counter*>(counter)->Add();
}

// nats.c with default options: a delivery thread per subscription; or
// (kGlobal) with nats.c's shared delivery pool, as a raw user with many
// subscriptions would set. The pool is the baseline: past 8 subscribers
// threads of their own cost it 5x of its rate on 2 cores.
template <bool kGlobal>
class RawFanOut {
 public:
  static constexpr bool kBaseline = kGlobal;

  static absl::StatusOr<std::unique_ptr<RawFanOut>> Start(int subscribers,
                                                          Counter* counter) {
    auto fixture = std::make_unique<RawFanOut>();
    fixture->publisher_ = bench::RawConnect();
    fixture->subscriber_ = bench::RawConnect(/*send_asap=*/false, kGlobal);
    if (fixture->publisher_ == nullptr || fixture->subscriber_ == nullptr) {
      return absl::UnavailableError("raw nats.c connect failed");
    }
    fixture->subs_.assign(subscribers, nullptr);
    for (natsSubscription*& sub : fixture->subs_) {
      if (natsConnection_Subscribe(&sub, fixture->subscriber_, "bench.raw.fan",
                                   CountMessage, counter) != NATS_OK) {
        return absl::UnavailableError("raw nats.c subscribe failed");
      }
    }
    if (natsConnection_Flush(fixture->subscriber_) != NATS_OK) {
      return absl::UnavailableError("raw nats.c flush failed");
    }
    return fixture;
  }

  void Publish() {
    natsConnection_Publish(publisher_, "bench.raw.fan", body_.data(),
                           static_cast<int>(body_.size()));
  }
  // A batch is sent before its deliveries are waited for (nats.c buffers).
  void EndBatch() { natsConnection_Flush(publisher_); }

  ~RawFanOut() {
    for (natsSubscription* sub : subs_) {
      if (sub == nullptr) continue;
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    natsConnection_Destroy(subscriber_);
    natsConnection_Destroy(publisher_);
  }

 private:
  const std::string body_ = std::string(16, 'x');
  natsConnection* publisher_ = nullptr;
  natsConnection* subscriber_ = nullptr;
  std::vector<natsSubscription*> subs_;
};

// The NATS broker, batched (its default: publishes wait up to ~1 ms for
// nats.c's flusher) or immediate.
template <nats::Delivery kDelivery>
class BrokerFanOut {
 public:
  static constexpr bool kBaseline = false;

  static absl::StatusOr<std::unique_ptr<BrokerFanOut>> Start(int subscribers,
                                                             Counter* counter) {
    auto fixture = std::make_unique<BrokerFanOut>();
    auto publisher =
        broker::NewNatsBroker(bench::Connect(), {.delivery = kDelivery});
    auto subscriber = broker::NewNatsBroker(bench::Connect());
    if (!publisher.ok()) return publisher.status();
    if (!subscriber.ok()) return subscriber.status();
    fixture->publisher_ = std::move(publisher).value();
    fixture->subscriber_ = std::move(subscriber).value();
    for (int i = 0; i < subscribers; ++i) {
      auto sub = fixture->subscriber_->Subscribe(
          "bench.fan", [counter](const broker::Event&) {
            counter->Add();
            return absl::OkStatus();
          });
      if (!sub.ok()) return sub.status();
      fixture->subs_.push_back(std::move(sub).value());
    }
    // Opens the batching connection before the timing starts (nobody
    // listens on this topic).
    fixture->publisher_->Publish("bench.warm_up", fixture->message_)
        .IgnoreError();
    return fixture;
  }

  void Publish() { publisher_->Publish("bench.fan", message_).IgnoreError(); }
  void EndBatch() {}  // the broker's batching connection flushes itself

  ~BrokerFanOut() {
    for (auto& sub : subs_) sub->Unsubscribe().IgnoreError();
  }

 private:
  const broker::Message message_{.body = std::string(16, 'x')};
  std::unique_ptr<broker::Broker> publisher_;
  std::unique_ptr<broker::Broker> subscriber_;
  std::vector<std::unique_ptr<broker::Subscriber>> subs_;
};

std::string FanOutKey(const benchmark::State& state) {
  return absl::StrCat("fanout/", state.range(0), "/", state.range(1));
}

// The one body of both: args {subscribers, batch}.
template <typename Fixture>
void BM_FanOut(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  Counter counter;
  auto fixture = Fixture::Start(subscribers, &counter);
  if (!fixture.ok()) {
    state.SkipWithError(fixture.status().ToString().c_str());
    return;
  }
  bench::LatencyRecorder latency;
  int64_t expected = 0;
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    const absl::Time sent = absl::Now();
    for (int i = 0; i < batch; ++i) (*fixture)->Publish();
    (*fixture)->EndBatch();
    expected += static_cast<int64_t>(batch) * subscribers;
    if (!counter.WaitFor(expected)) {
      state.SkipWithError("deliveries missing");
      break;
    }
    latency.Add(absl::Now() - sent);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = seconds > 0 ? static_cast<double>(expected) / seconds : 0;
  const bench::Percentiles last_delivery = latency.Report(state);
  state.counters["deliveries_per_s"] = rate;
  state.SetItemsProcessed(expected);
  const std::string key = FanOutKey(state);
  if (Fixture::kBaseline) {
    bench::RecordBaseline(key + "/rate", rate);
    bench::RecordBaseline(key + "/p50", last_delivery.p50_us);
    bench::RecordBaseline(key + "/p99", last_delivery.p99_us);
  } else {
    bench::ReportVsBaseline(state, "rate_vs_raw", rate, key + "/rate");
    bench::ReportVsBaseline(state, "p50_vs_raw", last_delivery.p50_us,
                            key + "/p50");
    bench::ReportVsBaseline(state, "p99_vs_raw", last_delivery.p99_us,
                            key + "/p99");
  }
}

template <typename Fixture>
bool RegisterFanOut(const char* name) {
  benchmark::RegisterBenchmark(name, BM_FanOut<Fixture>)
      ->ArgNames({"subscribers", "batch"})
      ->ArgsProduct({{1, 8, 64, 256}, {1000, 1}})
      ->UseRealTime();
  return true;
}

// --- Scatter-gather: one request, N answers ---

// How many server connections N instances share (processes, in
// deployment; fewer here, so 64 instances do not need 64 connections'
// threads on a 2-core machine).
int ServerConnections(int instances) { return std::min(instances, 8); }

class RawScatter {
 public:
  static constexpr bool kBaseline = true;

  static absl::StatusOr<std::unique_ptr<RawScatter>> Start(int instances) {
    auto fixture = std::make_unique<RawScatter>();
    fixture->instances_ = instances;
    for (int c = 0; c < ServerConnections(instances); ++c) {
      natsConnection* nc = bench::RawConnect(/*send_asap=*/true);
      if (nc == nullptr) return absl::UnavailableError("connect failed");
      fixture->servers_.push_back(nc);
    }
    for (int i = 0; i < instances; ++i) {
      natsSubscription* sub = nullptr;
      natsConnection* nc = fixture->servers_[i % fixture->servers_.size()];
      if (natsConnection_Subscribe(&sub, nc, "bench.raw.scatter",
                                   bench::RawEchoReply, nullptr) != NATS_OK) {
        return absl::UnavailableError("subscribe failed");
      }
      fixture->subs_.push_back(sub);
    }
    for (natsConnection* nc : fixture->servers_) natsConnection_Flush(nc);
    fixture->caller_ = bench::RawConnect(/*send_asap=*/true);
    if (fixture->caller_ == nullptr ||
        natsConnection_Subscribe(&fixture->inbox_sub_, fixture->caller_,
                                 "bench.raw.gather", CountMessage,
                                 &fixture->answers_) != NATS_OK ||
        natsConnection_Flush(fixture->caller_) != NATS_OK) {
      return absl::UnavailableError("caller set-up failed");
    }
    return fixture;
  }

  absl::Status ScatterGather() {
    natsConnection_PublishRequest(caller_, "bench.raw.scatter",
                                  "bench.raw.gather", body_.data(),
                                  static_cast<int>(body_.size()));
    expected_ += instances_;
    return answers_.WaitFor(expected_)
               ? absl::OkStatus()
               : absl::DeadlineExceededError("answers missing");
  }

  ~RawScatter() {
    natsSubscription_Destroy(inbox_sub_);
    natsConnection_Destroy(caller_);
    for (natsSubscription* sub : subs_) natsSubscription_Destroy(sub);
    for (natsConnection* nc : servers_) natsConnection_Destroy(nc);
  }

 private:
  const std::string body_ = std::string(16, 'x');
  int instances_ = 0;
  std::vector<natsConnection*> servers_;
  std::vector<natsSubscription*> subs_;
  natsConnection* caller_ = nullptr;
  natsSubscription* inbox_sub_ = nullptr;
  Counter answers_;
  int64_t expected_ = 0;
};

class ServiceScatter {
 public:
  static constexpr bool kBaseline = false;

  static absl::StatusOr<std::unique_ptr<ServiceScatter>> Start(int instances) {
    auto fixture = std::make_unique<ServiceScatter>();
    std::vector<std::shared_ptr<nats::Connection>> connections;
    for (int c = 0; c < ServerConnections(instances); ++c) {
      connections.push_back(bench::Connect());
    }
    for (int i = 0; i < instances; ++i) {
      auto instance = service::NewNatsService(
          {.name = "bench-scatter",
           .connection = connections[i % connections.size()]});
      if (!instance.ok()) return instance.status();
      absl::Status handled =
          (*instance)->server().Handle<bench::EchoRequest, bench::EchoReply>(
              "Echo.Call",
              [](service::Context&, const bench::EchoRequest& request,
                 bench::EchoReply* reply) {
                reply->set_body(request.body());
                return absl::OkStatus();
              });
      if (!handled.ok()) return handled;
      if (absl::Status started = (*instance)->Start(); !started.ok()) {
        return started;
      }
      fixture->instances_.push_back(std::move(instance).value());
    }
    auto caller = service::NewNatsService({.servers = {bench::ServerUrl()},
                                           .name = "bench-gatherer",
                                           .client = {.async_threads = 16}});
    if (!caller.ok()) return caller.status();
    fixture->caller_ = std::move(caller).value();
    fixture->request_.set_body(std::string(14, 'x'));  // 16 bytes encoded
    // Until the caller's lookup finds every instance (registrations are
    // broadcast; a lookup's idle gap may end before the last answer).
    const absl::Time deadline = absl::Now() + kWaitLimit;
    while (true) {
      auto found =
          fixture->caller_->registry().Lookup("bench-scatter", deadline);
      size_t nodes = 0;
      if (found.ok()) {
        for (const auto& version : found->services) {
          nodes += version.nodes.size();
        }
      }
      if (nodes == static_cast<size_t>(instances)) break;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the caller found ", nodes, " of ", instances, " instances"));
      }
      for (const auto& instance : fixture->instances_) {
        fixture->caller_->registry().Evict("bench-scatter",
                                           instance->server().id());
      }
    }
    // Warm: a socket to every instance.
    return fixture->ScatterGather().ok()
               ? absl::StatusOr<std::unique_ptr<ServiceScatter>>(
                     std::move(fixture))
               : absl::UnavailableError("the first scatter-gather failed");
  }

  // A call to every instance at once, each pinned to its node; returns
  // once all have answered.
  absl::Status ScatterGather() {
    Counter answered;
    std::atomic<int> failed{0};
    for (const auto& instance : instances_) {
      const std::string id = instance->server().id();
      service::CallOptions options;
      options.filters.push_back(
          [id](const registry::Service&, const registry::Node& node) {
            return node.id == id;
          });
      options.retries = 0;
      caller_->client().CallAsync<bench::EchoRequest, bench::EchoReply>(
          "bench-scatter", "Echo.Call", request_, std::move(options),
          [&answered, &failed](absl::StatusOr<bench::EchoReply> reply) {
            if (!reply.ok()) failed.fetch_add(1);
            answered.Add();
          });
    }
    if (!answered.WaitFor(static_cast<int64_t>(instances_.size()))) {
      // The callbacks still hold `answered`: nothing can go on safely.
      std::fprintf(stderr, "bench: scatter-gather answers missing\n");
      std::abort();
    }
    return failed.load() == 0 ? absl::OkStatus()
                              : absl::UnavailableError("a call failed");
  }

  ~ServiceScatter() {
    caller_.reset();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (auto& instance : instances_) instance->Stop(deadline).IgnoreError();
  }

 private:
  std::vector<std::unique_ptr<service::Service>> instances_;
  std::unique_ptr<service::Service> caller_;
  bench::EchoRequest request_;
};

template <typename Fixture>
void BM_ScatterGather(benchmark::State& state) {
  auto fixture = Fixture::Start(static_cast<int>(state.range(0)));
  if (!fixture.ok()) {
    state.SkipWithError(fixture.status().ToString().c_str());
    return;
  }
  bench::LatencyRecorder latency;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::Status gathered = (*fixture)->ScatterGather();
    latency.Add(absl::Now() - start);
    if (!gathered.ok()) {
      state.SkipWithError(gathered.ToString().c_str());
      break;
    }
  }
  const bench::Percentiles measured = latency.Report(state);
  state.SetItemsProcessed(state.iterations() * state.range(0));
  const std::string key = absl::StrCat("scatter/", state.range(0));
  if (Fixture::kBaseline) {
    bench::RecordBaseline(key + "/p50", measured.p50_us);
    bench::RecordBaseline(key + "/p99", measured.p99_us);
  } else {
    bench::ReportVsBaseline(state, "p50_vs_raw", measured.p50_us, key + "/p50");
    bench::ReportVsBaseline(state, "p99_vs_raw", measured.p99_us, key + "/p99");
  }
}

template <typename Fixture>
bool RegisterScatter(const char* name) {
  benchmark::RegisterBenchmark(name, BM_ScatterGather<Fixture>)
      ->ArgName("instances")
      ->Arg(1)
      ->Arg(8)
      ->Arg(64)
      ->UseRealTime();
  return true;
}

// Registered in this order, so each baseline runs before its like.
const bool registered =
    RegisterFanOut<RawFanOut<false>>("BM_FanOut/raw_nats") &&
    RegisterFanOut<RawFanOut<true>>("BM_FanOut/raw_nats_pool") &&
    RegisterFanOut<BrokerFanOut<nats::Delivery::kBatched>>(
        "BM_FanOut/broker") &&
    RegisterFanOut<BrokerFanOut<nats::Delivery::kImmediate>>(
        "BM_FanOut/broker_immediate") &&
    RegisterScatter<RawScatter>("BM_ScatterGather/raw_nats") &&
    RegisterScatter<ServiceScatter>("BM_ScatterGather/service");

}  // namespace
}  // namespace micro_nats
