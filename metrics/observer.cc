// Copyright 2026 The micro-nats Authors.

#include "metrics/observer.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "service/errors.h"

namespace micro_nats::metrics {
namespace {

using service::CallKind;
using service::Observation;

// absl::StatusCode runs 0..16; anything else counts as Unknown.
constexpr int kCodes = 17;

std::string CodeLabel(int code) {
  if (code == 0) return "200";
  return absl::StrCat(
      service::HttpCodeFor(static_cast<absl::StatusCode>(code)));
}

int CodeIndex(const absl::Status& status) {
  int code = static_cast<int>(status.code());
  return code >= 0 && code < kCodes ? code : 2;  // kUnknown
}

// A (service, method) pair (or (system, topic)), looked up without
// building a string.
struct Key {
  std::string a;
  std::string b;
};
struct KeyView {
  absl::string_view a;
  absl::string_view b;
};
struct KeyHash {
  using is_transparent = void;
  size_t operator()(const Key& k) const { return (*this)(KeyView{k.a, k.b}); }
  size_t operator()(const KeyView& k) const {
    return absl::Hash<std::pair<absl::string_view, absl::string_view>>()(
        {k.a, k.b});
  }
};
struct KeyEq {
  using is_transparent = void;
  static KeyView View(const Key& k) { return {k.a, k.b}; }
  static KeyView View(const KeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& x, const B& y) const {
    KeyView l = View(x), r = View(y);
    return l.a == r.a && l.b == r.b;
  }
};

// The families one kind of call reports to (some may be null).
struct Families {
  HistogramFamily* duration = nullptr;
  CounterFamily* requests = nullptr;
  CounterFamily* attempts = nullptr;  // client unary calls
  GaugeFamily* in_flight = nullptr;   // server calls and streams
};

// The instruments of one (service, method) of one kind of call: each
// outcome code's made once, on first use, then read with one atomic load.
// Shared by the observer's cache and each observation of it, with the
// metrics its instruments live in: an observation may end after its
// observer went (a ClientStream kept past its Service).
class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  struct PerCode {
    Histogram* duration = nullptr;
    Counter* requests = nullptr;
    Counter* attempts = nullptr;
  };

  Endpoint(std::shared_ptr<Metrics> metrics, const Families& families,
           std::string a, std::string b)
      : metrics_(std::move(metrics)),
        families_(families),
        a_(std::move(a)),
        b_(std::move(b)) {
    if (families_.in_flight != nullptr) {
      in_flight_ = families_.in_flight->With({a_, b_});
    }
  }

  Gauge* in_flight() const { return in_flight_; }

  const PerCode& For(int code) {
    PerCode* per_code = by_code_[code].load(std::memory_order_acquire);
    if (per_code != nullptr) return *per_code;
    std::lock_guard<std::mutex> lock(mu_);
    per_code = by_code_[code].load(std::memory_order_relaxed);
    if (per_code == nullptr) {
      const std::string label = CodeLabel(code);
      owned_[code] = std::make_unique<PerCode>();
      per_code = owned_[code].get();
      if (families_.duration != nullptr) {
        per_code->duration = families_.duration->With({a_, b_, label});
      }
      if (families_.requests != nullptr) {
        per_code->requests = families_.requests->With({a_, b_, label});
      }
      if (families_.attempts != nullptr) {
        per_code->attempts = families_.attempts->With({a_, b_, label});
      }
      by_code_[code].store(per_code, std::memory_order_release);
    }
    return *per_code;
  }

 private:
  const std::shared_ptr<Metrics> metrics_;  // owns the families
  const Families families_;
  const std::string a_;
  const std::string b_;
  Gauge* in_flight_ = nullptr;
  std::array<std::atomic<PerCode*>, kCodes> by_code_{};
  std::mutex mu_;
  std::array<std::unique_ptr<PerCode>, kCodes> owned_;  // mu_
};

// Freed observations kept per thread for the next call: a call takes one
// on each end, and the Observer interface hands them out by unique_ptr.
// An observation freed on another thread joins that thread's list (at most
// kKept each; the rest go back to the heap).
constexpr int kKept = 64;
struct FreeBlock {
  FreeBlock* next;
};
thread_local bool free_list_gone = false;  // trivial: readable at exit
struct FreeList {
  FreeBlock* head = nullptr;
  int count = 0;
  ~FreeList() {
    free_list_gone = true;
    while (head != nullptr) {
      FreeBlock* next = head->next;
      ::operator delete(head);
      head = next;
    }
  }
};
thread_local FreeList free_list;

class CallObservation final : public Observation {
 public:
  static void* operator new(size_t size) {
    if (!free_list_gone && free_list.head != nullptr) {
      FreeBlock* block = free_list.head;
      free_list.head = block->next;
      --free_list.count;
      return block;
    }
    return ::operator new(size);
  }
  static void operator delete(void* p) {
    if (free_list_gone || free_list.count >= kKept) {
      ::operator delete(p);
      return;
    }
    auto* block = static_cast<FreeBlock*>(p);
    block->next = free_list.head;
    free_list.head = block;
    ++free_list.count;
  }

  explicit CallObservation(std::shared_ptr<Endpoint> endpoint)
      : endpoint_(std::move(endpoint)),
        start_(std::chrono::steady_clock::now()) {
    if (Gauge* in_flight = endpoint_->in_flight()) in_flight->Add(1);
  }
  void Attempt(absl::string_view, const absl::Status& status) override {
    const Endpoint::PerCode& per_code = endpoint_->For(CodeIndex(status));
    if (per_code.attempts != nullptr) per_code.attempts->Increment();
  }
  void End(const absl::Status& status) override {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
    const Endpoint::PerCode& per_code = endpoint_->For(CodeIndex(status));
    if (per_code.duration != nullptr) per_code.duration->Observe(seconds);
    if (per_code.requests != nullptr) per_code.requests->Increment();
    if (Gauge* in_flight = endpoint_->in_flight()) in_flight->Add(-1);
  }

 private:
  const std::shared_ptr<Endpoint> endpoint_;
  const std::chrono::steady_clock::time_point start_;
};

// Where a lookup goes: client or server, times the four kinds; then one
// per service::Counter.
constexpr int kCallSlots = 8;
constexpr int kCounterSlots =
    static_cast<int>(service::Counter::kReconnect) + 1;
constexpr int kSlots = kCallSlots + kCounterSlots;

int CallSlot(bool server, CallKind kind) {
  return (server ? 4 : 0) + static_cast<int>(kind);
}

// The family each service::Counter is counted in ({rpc_service}, and a
// second label where given). Only counters something reports have one (the
// rest are ignored): no family that is always empty.
struct SideCounter {
  service::Counter counter;
  const char* name;
  const char* help;
  const char* second_label = nullptr;
};
constexpr SideCounter kSideCounters[] = {
    {service::Counter::kRetry, "rpc_client_retries_total",
     "Attempts after a call's first."},
    {service::Counter::kEvicted, "rpc_client_evictions_total",
     "Nodes dropped from the client's cache after failing."},
    {service::Counter::kBudgetExhausted,
     "rpc_client_retry_budget_exhausted_total",
     "Retries and hedges the retry budget refused."},
    {service::Counter::kOutcomeUnknown, "rpc_client_outcome_unknown_total",
     "Non-idempotent calls that failed after delivery."},
    {service::Counter::kHedge, "rpc_client_hedges_total",
     "Hedged attempts sent."},
    {service::Counter::kBreakerOpened, "rpc_client_breaker_opened_total",
     "Times a node's circuit breaker opened."},
    {service::Counter::kRefusedOverload, "rpc_server_refused_total",
     "Requests refused because the queue or an endpoint's limit was full."},
    {service::Counter::kExpiredInQueue, "rpc_server_expired_in_queue_total",
     "Requests dropped because their deadline passed while queued."},
};

// Past this many pairs per slot the rest share one "other" entry: names a
// caller makes up cannot grow the cache (the families bound the labels).
constexpr size_t kMaxCachedPairs = 4096;

// Each thread's last few lookups, so a warm call takes no lock to find its
// instruments. Entries name their observer by a process-unique id (never
// reused, unlike an address).
struct RecentEntry {
  uint64_t owner = 0;
  int slot = 0;
  std::string a;
  std::string b;
  void* value = nullptr;
};
constexpr int kRecent = 8;
struct Recent {
  std::array<RecentEntry, kRecent> entries;
  unsigned next = 0;
};
thread_local Recent recent;

std::atomic<uint64_t> next_observer_id{1};

class MetricsObserver : public service::Observer {
 public:
  explicit MetricsObserver(std::shared_ptr<Metrics> metrics)
      : metrics_(std::move(metrics)) {
    const std::vector<double> buckets = DefaultLatencyBuckets();
    auto histogram = [&](const char* name, const char* help,
                         std::vector<std::string> labels) {
      return metrics_
          ->Histograms(
              {.name = name, .help = help, .labels = std::move(labels)},
              buckets)
          .value();
    };
    auto counter = [&](const char* name, const char* help,
                       std::vector<std::string> labels) {
      return metrics_
          ->Counters({.name = name, .help = help, .labels = std::move(labels)})
          .value();
    };
    const std::vector<std::string> rpc = {"rpc_service", "rpc_method", "code"};
    const std::vector<std::string> messaging = {
        "messaging_system", "messaging_destination_name", "code"};
    Families& server_unary = families_[CallSlot(true, CallKind::kUnary)];
    server_unary.duration = histogram(
        "rpc_server_duration_seconds",
        "Time a server took to handle a unary call, by outcome.", rpc);
    server_unary.requests = counter("rpc_server_requests_total",
                                    "Unary calls a server handled.", rpc);
    GaugeFamily* in_flight =
        metrics_
            ->Gauges({.name = "rpc_server_in_flight_requests",
                      .help = "Calls and streams a server is handling now.",
                      .labels = {"rpc_service", "rpc_method"}})
            .value();
    server_unary.in_flight = in_flight;
    Families& server_stream = families_[CallSlot(true, CallKind::kStream)];
    server_stream.duration =
        histogram("rpc_server_stream_duration_seconds",
                  "Time a server stream ran, from open to end.", rpc);
    server_stream.in_flight = in_flight;
    Families& client_unary = families_[CallSlot(false, CallKind::kUnary)];
    client_unary.duration = histogram(
        "rpc_client_duration_seconds",
        "Time a unary call took for its caller, retries included.", rpc);
    client_unary.requests =
        counter("rpc_client_requests_total", "Unary calls made.", rpc);
    client_unary.attempts = counter(
        "rpc_client_attempts_total",
        "Attempts of unary calls (a retried or hedged call has more).", rpc);
    families_[CallSlot(false, CallKind::kStream)].duration =
        histogram("rpc_client_stream_duration_seconds",
                  "Time a client stream ran, from open to end.", rpc);
    HistogramFamily* publish =
        histogram("messaging_publish_duration_seconds",
                  "Time a broker Publish or an events Emit took.", messaging);
    HistogramFamily* process = histogram(
        "messaging_process_duration_seconds",
        "Time a subscriber or consumer took for one delivery.", messaging);
    families_[CallSlot(false, CallKind::kMessage)].duration = publish;
    families_[CallSlot(false, CallKind::kEvent)].duration = publish;
    families_[CallSlot(true, CallKind::kMessage)].duration = process;
    families_[CallSlot(true, CallKind::kEvent)].duration = process;

    for (const SideCounter& side : kSideCounters) {
      std::vector<std::string> labels = {"rpc_service"};
      if (side.second_label != nullptr) labels.push_back(side.second_label);
      const int index = static_cast<int>(side.counter);
      counters_[index] = counter(side.name, side.help, std::move(labels));
      two_labels_[index] = side.second_label != nullptr;
    }
  }

  std::unique_ptr<Observation> ClientCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          Headers*) override {
    return Call(CallSlot(false, kind), kind, service, endpoint);
  }

  std::unique_ptr<Observation> ServerCall(CallKind kind,
                                          absl::string_view service,
                                          absl::string_view endpoint,
                                          const Headers&) override {
    return Call(CallSlot(true, kind), kind, service, endpoint);
  }

  void Count(service::Counter counter, absl::string_view service, int64_t n,
             absl::string_view reason) override {
    const int index = static_cast<int>(counter);
    if (index < 0 || index >= kCounterSlots || n <= 0 ||
        counters_[index] == nullptr) {
      return;
    }
    static_cast<Counter*>(Find(kCallSlots + index, service, reason))
        ->Add(static_cast<double>(n));
  }

 private:
  std::unique_ptr<Observation> Call(int slot, CallKind kind,
                                    absl::string_view service,
                                    absl::string_view endpoint) {
    if (kind == CallKind::kMessage || kind == CallKind::kEvent) {
      service = kind == CallKind::kMessage ? "broker" : "events";
    }
    return std::make_unique<CallObservation>(
        static_cast<Endpoint*>(Find(slot, service, endpoint))
            ->shared_from_this());
  }

  // The Endpoint (call slots) or Counter (counter slots) for (a, b).
  void* Find(int slot, absl::string_view a, absl::string_view b) {
    for (RecentEntry& entry : recent.entries) {
      if (entry.owner == id_ && entry.slot == slot && entry.a == a &&
          entry.b == b) {
        return entry.value;
      }
    }
    void* value = FindLocked(slot, a, b);
    RecentEntry& entry = recent.entries[recent.next++ % kRecent];
    entry.owner = id_;
    entry.slot = slot;
    entry.a.assign(a.data(), a.size());
    entry.b.assign(b.data(), b.size());
    entry.value = value;
    return value;
  }

  void* FindLocked(int slot, absl::string_view a, absl::string_view b) {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& cache = slots_[slot];
    auto it = cache.values.find(KeyView{a, b});
    if (it != cache.values.end()) return it->second.get();
    if (cache.values.size() >= kMaxCachedPairs) {
      a = kOtherLabelValue;
      b = kOtherLabelValue;
      it = cache.values.find(KeyView{a, b});
      if (it != cache.values.end()) return it->second.get();
    }
    std::shared_ptr<void> value;
    if (slot < kCallSlots) {
      value = std::make_shared<Endpoint>(metrics_, families_[slot],
                                         std::string(a), std::string(b));
    } else {
      const int index = slot - kCallSlots;
      Counter* counter = two_labels_[index] ? counters_[index]->With({a, b})
                                            : counters_[index]->With({a});
      // The family owns the counter: keep a non-owning handle.
      value = std::shared_ptr<void>(counter, [](void*) {});
    }
    void* raw = value.get();
    cache.values.emplace(Key{std::string(a), std::string(b)}, std::move(value));
    return raw;
  }

  struct Slot {
    absl::flat_hash_map<Key, std::shared_ptr<void>, KeyHash, KeyEq> values;
  };

  const std::shared_ptr<Metrics> metrics_;
  const uint64_t id_ = next_observer_id.fetch_add(1);
  std::array<Families, kCallSlots> families_;
  std::array<CounterFamily*, kCounterSlots> counters_{};
  std::array<bool, kCounterSlots> two_labels_{};  // {rpc_service, reason}
  std::mutex mu_;
  std::array<Slot, kSlots> slots_;  // mu_
};

}  // namespace

std::shared_ptr<service::Observer> NewMetricsObserver(
    std::shared_ptr<Metrics> metrics) {
  if (metrics == nullptr) metrics = NewNoopMetrics();
  return std::make_shared<MetricsObserver>(std::move(metrics));
}

}  // namespace micro_nats::metrics
