// Copyright 2026 The micro-nats Authors.

#include "tracing/tracer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace micro_nats::tracing {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Lower-case hex digit value, or -1 (upper case is refused: the spec says
// lower case and a sender that breaks it is broken elsewhere too).
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool ParseHex(absl::string_view hex, std::array<uint8_t, N>* out) {
  if (hex.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

template <size_t N>
void AppendHex(const std::array<uint8_t, N>& bytes, std::string* out) {
  for (uint8_t b : bytes) {
    out->push_back(kHexDigits[b >> 4]);
    out->push_back(kHexDigits[b & 0xf]);
  }
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// splitmix64 per thread, seeded once from the OS: ids need to be unique,
// not secret, and this costs a few ns with no lock.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    uint64_t seed = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= std::hash<std::thread::id>()(std::this_thread::get_id()) << 1;
    try {
      std::random_device device;
      seed ^= (static_cast<uint64_t>(device()) << 32) ^ device();
    } catch (...) {
      // No OS source: time and thread still make ids differ.
    }
    return seed;
  }();
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <size_t N>
void FillRandom(std::array<uint8_t, N>* id) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      const uint64_t r = NextRandom();
      std::memcpy(id->data() + i, &r, std::min<size_t>(8, N - i));
    }
  } while (AllZero(*id));
}

// tracestate grammar (trace-context-1, section 3.3.1).
bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '*' || c == '/';
}

bool ValidTracestateKey(absl::string_view key) {
  const size_t at = key.find('@');
  if (at == absl::string_view::npos) {
    // simple-key = lcalpha 0*255(...)
    if (key.empty() || key.size() > 256) return false;
    if (!(key[0] >= 'a' && key[0] <= 'z')) return false;
    return std::all_of(key.begin(), key.end(), IsKeyChar);
  }
  // multi-tenant-key = tenant-id "@" system-id
  const absl::string_view tenant = key.substr(0, at);
  const absl::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241) return false;
  if (!((tenant[0] >= 'a' && tenant[0] <= 'z') ||
        (tenant[0] >= '0' && tenant[0] <= '9'))) {
    return false;
  }
  if (system.empty() || system.size() > 14) return false;
  if (!(system[0] >= 'a' && system[0] <= 'z')) return false;
  return std::all_of(tenant.begin(), tenant.end(), IsKeyChar) &&
         std::all_of(system.begin(), system.end(), IsKeyChar);
}

bool ValidTracestateValue(absl::string_view value) {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
  // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
  if (value.empty() || value.size() > 256) return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return value.back() != ' ';
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr size_t kMaxTracestateMembers = 32;
constexpr size_t kMaxTracestateChars = 512;
constexpr size_t kLongTracestateMember = 128;

OwnedAttributeValue Own(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> OwnedAttributeValue {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, absl::string_view>) {
          return std::string(v);
        } else {
          return v;
        }
      },
      value);
}

void SetOwned(OwnedAttributes* attributes, absl::string_view key,
              const AttributeValue& value) {
  for (auto& [k, v] : *attributes) {
    if (k == key) {
      v = Own(value);
      return;
    }
  }
  attributes->emplace_back(std::string(key), Own(value));
}

// The context of a new span under `parent` (or of a new trace's root), and
// its parent's span id.
void ChildContext(const TraceContext* parent, TraceContext* context,
                  SpanId* parent_span_id, double sample_ratio = 1.0) {
  if (parent != nullptr && parent->valid()) {
    context->trace_id = parent->trace_id;
    context->flags = parent->flags;
    context->tracestate = parent->tracestate;
    *parent_span_id = parent->span_id;
  } else {
    FillRandom(&context->trace_id);
    context->flags =
        SampledByRatio(context->trace_id, sample_ratio) ? kSampled : 0;
  }
  FillRandom(&context->span_id);
}

// A span that only carries its context.
class NoopSpan final : public Span {
 public:
  explicit NoopSpan(const TraceContext* parent) {
    SpanId unused;
    ChildContext(parent, &context_, &unused);
  }
  const TraceContext& context() const override { return context_; }
  void End(const absl::Status&) override {}

 private:
  TraceContext context_;
};

class NoopTracer final : public Tracer {
 public:
  std::unique_ptr<Span> StartSpan(absl::string_view, SpanKind,
                                  const TraceContext* parent,
                                  absl::Span<const Attribute>) override {
    return std::make_unique<NoopSpan>(parent);
  }
};

// A span that keeps its data and hands it to `Sink::Finish` at End (when
// sampled). It shares the sink (the tracer's state), so it may outlive the
// tracer.
template <typename Sink>
class RecordingSpan final : public Span {
 public:
  RecordingSpan(std::shared_ptr<Sink> sink, absl::string_view name,
                SpanKind kind, const TraceContext* parent,
                absl::Span<const Attribute> attributes, double sample_ratio)
      : sink_(std::move(sink)) {
    data_.start = absl::Now();
    ChildContext(parent, &data_.context, &data_.parent_span_id, sample_ratio);
    recording_ = data_.context.sampled();
    if (!recording_) return;
    data_.name = std::string(name);
    data_.kind = kind;
    data_.attributes.reserve(attributes.size() + 2);
    for (const Attribute& a : attributes) {
      SetOwned(&data_.attributes, a.key, a.value);
    }
  }

  const TraceContext& context() const override { return data_.context; }

  void SetAttribute(absl::string_view key, AttributeValue value) override {
    if (recording_) SetOwned(&data_.attributes, key, value);
  }

  void AddEvent(absl::string_view name,
                absl::Span<const Attribute> attributes) override {
    if (!recording_) return;
    SpanEvent event;
    event.name = std::string(name);
    event.time = absl::Now();
    for (const Attribute& a : attributes) {
      SetOwned(&event.attributes, a.key, a.value);
    }
    data_.events.push_back(std::move(event));
  }

  void End(const absl::Status& status) override {
    if (!recording_) return;
    recording_ = false;  // once
    data_.end = absl::Now();
    data_.status = status;
    sink_->Finish(std::move(data_));
  }

 private:
  const std::shared_ptr<Sink> sink_;
  SpanData data_;
  bool recording_ = false;
};

int64_t UnixNanos(absl::Time t) { return absl::ToUnixNanos(t); }

nlohmann::ordered_json AttributesToJson(const OwnedAttributes& attributes) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  // One allocation for the members, not one per doubling.
  out.get_ref<nlohmann::ordered_json::object_t&>().reserve(attributes.size());
  for (const auto& [key, value] : attributes) {
    std::visit([&, k = &key](const auto& v) { out[*k] = v; }, value);
  }
  return out;
}

}  // namespace

bool SampledByRatio(const TraceId& trace_id, double ratio) {
  if (!(ratio < 1.0)) return true;  // also NaN: the default, all
  if (!(ratio > 0.0)) return false;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = low << 8 | trace_id[i];
  // 2^64 x ratio, compared on 53 bits so the double is exact.
  return (low >> 11) < static_cast<uint64_t>(ratio * 9007199254740992.0);
}

bool TraceContext::valid() const {
  return !AllZero(trace_id) && !AllZero(span_id);
}

std::string ToHex(const TraceId& id) {
  std::string out;
  out.reserve(32);
  AppendHex(id, &out);
  return out;
}

std::string ToHex(const SpanId& id) {
  std::string out;
  out.reserve(16);
  AppendHex(id, &out);
  return out;
}

absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags
  constexpr size_t kLength = 55;
  if (value.size() < kLength) {
    return absl::InvalidArgumentError("traceparent: shorter than 55");
  }
  std::array<uint8_t, 1> version;
  if (!ParseHex(value.substr(0, 2), &version)) {
    return absl::InvalidArgumentError("traceparent: version not hex");
  }
  if (version[0] == 0xff) {
    return absl::InvalidArgumentError("traceparent: version ff");
  }
  if (version[0] == 0 && value.size() != kLength) {
    return absl::InvalidArgumentError("traceparent: version 00 not 55 long");
  }
  // A later version may append fields, after a '-'.
  if (value.size() > kLength && value[kLength] != '-') {
    return absl::InvalidArgumentError("traceparent: bad field after flags");
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return absl::InvalidArgumentError("traceparent: bad separators");
  }
  TraceContext context;
  std::array<uint8_t, 1> flags;
  if (!ParseHex(value.substr(3, 32), &context.trace_id) ||
      !ParseHex(value.substr(36, 16), &context.span_id) ||
      !ParseHex(value.substr(53, 2), &flags)) {
    return absl::InvalidArgumentError("traceparent: not lower-case hex");
  }
  if (AllZero(context.trace_id)) {
    return absl::InvalidArgumentError("traceparent: trace id all zeros");
  }
  if (AllZero(context.span_id)) {
    return absl::InvalidArgumentError("traceparent: parent id all zeros");
  }
  // Only version 00's sampled bit is known to mean the same later.
  context.flags = version[0] == 0 ? flags[0] : (flags[0] & kSampled);
  return context;
}

void FormatTraceparent(const TraceContext& context, std::string* out) {
  out->clear();
  out->reserve(55);
  out->append("00-");
  AppendHex(context.trace_id, out);
  out->push_back('-');
  AppendHex(context.span_id, out);
  out->push_back('-');
  out->push_back(kHexDigits[context.flags >> 4]);
  out->push_back(kHexDigits[context.flags & 0xf]);
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out;
  FormatTraceparent(context, &out);
  return out;
}

std::string ParseTracestate(absl::string_view value, int* dropped) {
  int dropped_count = 0;
  std::vector<absl::string_view> members;
  std::vector<absl::string_view> keys;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const absl::string_view member = TrimOws(value.substr(0, comma));
    value = comma == absl::string_view::npos ? absl::string_view()
                                             : value.substr(comma + 1);
    if (member.empty()) continue;  // empty list members are allowed
    if (members.size() == kMaxTracestateMembers) {
      ++dropped_count;
      continue;
    }
    const size_t eq = member.find('=');
    if (eq == absl::string_view::npos ||
        !ValidTracestateKey(member.substr(0, eq)) ||
        !ValidTracestateValue(member.substr(eq + 1))) {
      ++dropped_count;
      continue;
    }
    const absl::string_view key = member.substr(0, eq);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      ++dropped_count;
      continue;
    }
    keys.push_back(key);
    members.push_back(member);
  }
  auto total = [&] {
    size_t n = members.empty() ? 0 : members.size() - 1;  // commas
    for (absl::string_view m : members) n += m.size();
    return n;
  };
  // Too long: long members go first, then from the end (the spec's order).
  while (total() > kMaxTracestateChars) {
    auto long_one = std::find_if(
        members.begin(), members.end(),
        [](absl::string_view m) { return m.size() > kLongTracestateMember; });
    if (long_one != members.end()) {
      members.erase(long_one);
    } else {
      members.pop_back();
    }
    ++dropped_count;
  }
  if (dropped != nullptr) *dropped = dropped_count;
  std::string out;
  for (absl::string_view m : members) {
    if (!out.empty()) out.push_back(',');
    out.append(m.data(), m.size());
  }
  return out;
}

TraceId NewTraceId() {
  TraceId id;
  FillRandom(&id);
  return id;
}

SpanId NewSpanId() {
  SpanId id;
  FillRandom(&id);
  return id;
}

absl::string_view SpanKindName(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal:
      return "INTERNAL";
    case SpanKind::kServer:
      return "SERVER";
    case SpanKind::kClient:
      return "CLIENT";
    case SpanKind::kProducer:
      return "PRODUCER";
    case SpanKind::kConsumer:
      return "CONSUMER";
  }
  return "INTERNAL";
}

std::shared_ptr<Tracer> NewNoopTracer() {
  return std::make_shared<NoopTracer>();
}

bool SpanData::has_parent() const { return !AllZero(parent_span_id); }

const OwnedAttributeValue* SpanData::attribute(absl::string_view key) const {
  for (const auto& [k, v] : attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

// InMemoryTracer

struct InMemoryTracer::State {
  State(size_t max_spans, double sample_ratio)
      : max_spans(max_spans), sample_ratio(sample_ratio) {}
  const size_t max_spans;
  const double sample_ratio;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<SpanData> spans;
  int64_t dropped = 0;

  void Finish(SpanData data) {
    std::lock_guard<std::mutex> lock(mu);
    if (spans.size() >= max_spans) {
      ++dropped;
      return;
    }
    spans.push_back(std::move(data));
    cv.notify_all();
  }
};

InMemoryTracer::InMemoryTracer(size_t max_spans, double sample_ratio)
    : state_(std::make_shared<State>(max_spans, sample_ratio)) {}

InMemoryTracer::~InMemoryTracer() = default;

std::unique_ptr<Span> InMemoryTracer::StartSpan(
    absl::string_view name, SpanKind kind, const TraceContext* parent,
    absl::Span<const Attribute> attributes) {
  return std::make_unique<RecordingSpan<State>>(
      state_, name, kind, parent, attributes, state_->sample_ratio);
}

void InMemoryTracer::Finish(SpanData data) { state_->Finish(std::move(data)); }

std::vector<SpanData> InMemoryTracer::spans() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->spans;
}

bool InMemoryTracer::WaitForSpans(size_t count, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->cv.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                             [&] { return state_->spans.size() >= count; });
}

int64_t InMemoryTracer::dropped() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dropped;
}

void InMemoryTracer::Clear() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->spans.clear();
}

// JsonLinesTracer

namespace {

nlohmann::ordered_json SpanJson(const SpanData& span) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j.get_ref<nlohmann::ordered_json::object_t&>().reserve(12);
  j["name"] = span.name;
  j["kind"] = SpanKindName(span.kind);
  j["traceId"] = ToHex(span.context.trace_id);
  j["spanId"] = ToHex(span.context.span_id);
  j["parentSpanId"] = span.has_parent() ? ToHex(span.parent_span_id) : "";
  if (!span.context.tracestate.empty()) {
    j["traceState"] = span.context.tracestate;
  }
  j["startTimeUnixNano"] = UnixNanos(span.start);
  j["endTimeUnixNano"] = UnixNanos(span.end);
  j["attributes"] = AttributesToJson(span.attributes);
  if (span.status.ok()) {
    j["status"] = {{"code", "OK"}};
  } else {
    j["status"] = {{"code", "ERROR"}, {"message", span.status.message()}};
  }
  if (!span.events.empty()) {
    nlohmann::ordered_json events = nlohmann::ordered_json::array();
    for (const SpanEvent& e : span.events) {
      events.push_back({{"name", e.name},
                        {"timeUnixNano", UnixNanos(e.time)},
                        {"attributes", AttributesToJson(e.attributes)}});
    }
    j["events"] = std::move(events);
  }
  return j;
}

// Appends spans' JSON to one string (the writer's reused buffer). Names and
// messages may come from the network: invalid UTF-8 is replaced rather than
// thrown on.
class JsonAppender {
 public:
  explicit JsonAppender(std::string* out)
      : serializer_(nlohmann::detail::output_adapter<char, std::string>(*out),
                    ' ', nlohmann::ordered_json::error_handler_t::replace) {}
  void Append(const SpanData& span) {
    serializer_.dump(SpanJson(span), false, false, 0);
  }

 private:
  nlohmann::detail::serializer<nlohmann::ordered_json> serializer_;
};

}  // namespace

std::string SpanToJson(const SpanData& span) {
  std::string out;
  JsonAppender(&out).Append(span);
  return out;
}

struct JsonLinesTracer::State {
  JsonLinesOptions options;
  std::unique_ptr<std::ofstream> file;  // when writing to a path
  std::ostream* out = nullptr;

  std::mutex mu;
  std::condition_variable wake;     // the writer
  std::condition_variable written;  // Flush, the destructor
  std::vector<SpanData> queue;
  bool stopping = false;
  bool writer_done = false;
  bool flush_requested = false;
  std::atomic<bool> abandoned{false};  // close_timeout passed: write no more
  int64_t queued_total = 0;            // spans ever queued
  int64_t done_total = 0;  // of them, written (or failed or given up)
  int64_t written_count = 0;
  int64_t dropped_count = 0;
  std::thread writer;

  size_t WakeAt() const { return std::max<size_t>(1, options.max_queued / 2); }

  void Finish(SpanData data) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping || queue.size() >= options.max_queued) {
      ++dropped_count;
      return;
    }
    queue.push_back(std::move(data));
    ++queued_total;
    // Woken only when half full: no syscall per span.
    if (queue.size() == WakeAt()) wake.notify_one();
  }

  // The writer: drains the whole queue, formats it into one buffer and
  // writes that once. Runs holding the state (see the destructor).
  void Run() {
    std::vector<SpanData> batch;
    std::string buffer;
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      wake.wait_for(
          lock, absl::ToChronoNanoseconds(options.flush_interval), [&] {
            return stopping || flush_requested || queue.size() >= WakeAt();
          });
      flush_requested = false;
      batch.swap(queue);
      const bool stop = stopping;
      lock.unlock();
      const int64_t n = static_cast<int64_t>(batch.size());
      int64_t ok = 0;
      if (n > 0 && !abandoned.load(std::memory_order_relaxed)) {
        buffer.clear();
        JsonAppender appender(&buffer);
        for (const SpanData& span : batch) {
          appender.Append(span);
          buffer.push_back('\n');
        }
        out->write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        out->flush();
        if (out->good()) ok = n;
        // A burst's buffer is not kept for ever.
        if (buffer.capacity() > (1 << 20)) std::string().swap(buffer);
      }
      batch.clear();
      lock.lock();
      written_count += ok;
      dropped_count += n - ok;
      done_total += n;
      if (stop && queue.empty()) {
        writer_done = true;
        written.notify_all();
        return;
      }
      written.notify_all();
    }
  }
};

JsonLinesTracer::JsonLinesTracer(std::shared_ptr<State> state)
    : state_(std::move(state)) {
  state_->queue.reserve(std::min<size_t>(state_->options.max_queued, 1024));
  state_->writer = std::thread([s = state_] { s->Run(); });
}

JsonLinesTracer::~JsonLinesTracer() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->stopping = true;
  state_->wake.notify_all();
  const bool done = state_->written.wait_for(
      lock, absl::ToChronoNanoseconds(state_->options.close_timeout),
      [&] { return state_->writer_done; });
  if (!done) {
    // The output stalls: give up what is left; the writer owns the state
    // (and the file), so it may finish its stuck write after we are gone.
    state_->abandoned.store(true, std::memory_order_relaxed);
    const int64_t left = static_cast<int64_t>(state_->queue.size());
    state_->dropped_count += left;
    state_->done_total += left;
    state_->queue.clear();
  }
  lock.unlock();
  if (done) {
    state_->writer.join();
  } else {
    state_->writer.detach();
  }
}

std::unique_ptr<Span> JsonLinesTracer::StartSpan(
    absl::string_view name, SpanKind kind, const TraceContext* parent,
    absl::Span<const Attribute> attributes) {
  return std::make_unique<RecordingSpan<State>>(
      state_, name, kind, parent, attributes, state_->options.sample_ratio);
}

void JsonLinesTracer::Finish(SpanData data) { state_->Finish(std::move(data)); }

absl::Status JsonLinesTracer::Flush(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(state_->mu);
  const int64_t target = state_->queued_total;
  state_->flush_requested = true;
  state_->wake.notify_one();
  if (!state_->written.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                                [&] { return state_->done_total >= target; })) {
    return absl::DeadlineExceededError(absl::StrCat(
        "spans not written within ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

int64_t JsonLinesTracer::written() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->written_count;
}

int64_t JsonLinesTracer::dropped() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dropped_count;
}

namespace {

// Floors that keep the writer from spinning (flush_interval 0) and the
// queue from dropping everything (max_queued 0).
std::shared_ptr<JsonLinesTracer::State> NewState(JsonLinesOptions options) {
  auto state = std::make_shared<JsonLinesTracer::State>();
  options.max_queued = std::max<size_t>(options.max_queued, 1);
  options.flush_interval =
      std::max(options.flush_interval, absl::Milliseconds(1));
  options.close_timeout = std::max(options.close_timeout, absl::ZeroDuration());
  state->options = options;
  return state;
}

}  // namespace

absl::StatusOr<std::shared_ptr<JsonLinesTracer>> NewJsonLinesTracer(
    const std::string& path, JsonLinesOptions options) {
  auto file = std::make_unique<std::ofstream>(path, std::ios::app);
  if (!file->is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open '", path, "' for writing spans"));
  }
  auto state = NewState(options);
  state->out = file.get();
  state->file = std::move(file);
  return std::shared_ptr<JsonLinesTracer>(
      new JsonLinesTracer(std::move(state)));
}

std::shared_ptr<JsonLinesTracer> NewJsonLinesTracer(std::ostream* out,
                                                    JsonLinesOptions options) {
  auto state = NewState(options);
  state->out = out;
  return std::shared_ptr<JsonLinesTracer>(
      new JsonLinesTracer(std::move(state)));
}

}  // namespace micro_nats::tracing
