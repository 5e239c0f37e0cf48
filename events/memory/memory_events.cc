// Copyright 2026 The micro-nats Authors.

#include "events/memory/memory_events.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "concurrency/thread_pool.h"
#include "events/internal/forwarding.h"
#include "events/internal/publish_window.h"
#include "status/error_sink.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::events {
namespace {

struct Stored {
  uint64_t seq = 0;
  std::string topic;
  absl::Time time;
  Headers headers;
  std::string body;
  int64_t size = 0;
};

struct Stream {
  StreamConfig config;
  std::deque<Stored> log;  // sequences log.front().seq .. last_seq
  uint64_t last_seq = 0;
  int64_t bytes = 0;
  std::map<std::string, std::pair<uint64_t, absl::Time>> dedup;

  uint64_t first_seq() const {
    return log.empty() ? last_seq + 1 : log.front().seq;
  }
  const Stored* Find(uint64_t seq) const {
    if (log.empty() || seq < log.front().seq || seq > last_seq) return nullptr;
    return &log[seq - log.front().seq];
  }
};

struct Member {
  Handler handler;
  ConsumeOptions options;
  std::string topic;
  std::string group_key;
  // Guarded by State::mu.
  int in_flight = 0;
  bool stopped = false;
  // Stopped with handlers still running: their results are dropped (their
  // events went back to the group).
  bool abandoned = false;
  ConsumerStats stats;
};

struct Pending {
  int deliveries = 0;
  Member* holder = nullptr;  // null: waiting for (re)delivery at `due`
  absl::Time due = absl::InfinitePast();
};

struct Group {
  std::string key;
  std::string name;
  Stream* stream = nullptr;
  std::string topic;
  Start start;
  absl::Duration ack_wait;
  bool ephemeral = false;
  uint64_t next = 1;  // the next stored event not yet looked at
  std::map<uint64_t, Pending> pending;
  std::vector<std::shared_ptr<Member>> members;
  size_t turn = 0;  // round robin among members
};

struct Timer {
  absl::Time due;
  std::shared_ptr<std::atomic<bool>> fired;
  concurrency::ScheduledTask task;
};

class State : public std::enable_shared_from_this<State> {
 public:
  explicit State(MemoryEventsOptions options)
      : options_(std::move(options)),
        pool_(std::make_shared<concurrency::ThreadPool>(
            std::max(1, options_.events.handler_threads))),
        window_(std::make_shared<events_internal::PublishWindow>(
            std::max(1, options_.events.max_publish_in_flight))) {
    scheduler_ = options_.scheduler;
    if (scheduler_ == nullptr) {
      scheduler_ = std::make_shared<concurrency::Scheduler>(
          concurrency::Scheduler::Options{.clock = options_.clock});
    }
    std::vector<StreamConfig> configs = options_.events.streams;
    if (configs.empty()) {
      configs.push_back({.name = "EVENTS", .subjects = {">"}});
    }
    for (StreamConfig& config : configs) {
      auto stream = std::make_unique<Stream>();
      stream->config = std::move(config);
      configs_.push_back(stream->config);
      streams_.push_back(std::move(stream));
    }
  }

  absl::StatusOr<uint64_t> Publish(absl::string_view topic,
                                   const Message& message,
                                   const PublishOptions& options) {
    MN_RETURN_IF_ERROR(
        ValidatePublish(topic, message, options_.events.max_event_bytes));
    Held held(*this);
    if (closed_) return absl::FailedPreconditionError("events closed");
    return PublishLocked(topic, message, options.dedup_id);
  }

  // Stored at once; only `done` waits for the pool (and holds the slot).
  absl::Status PublishAsync(absl::string_view topic, const Message& message,
                            const PublishOptions& options, PublishDone done) {
    if (!done) return absl::InvalidArgumentError("PublishAsync needs a done");
    MN_RETURN_IF_ERROR(
        ValidatePublish(topic, message, options_.events.max_event_bytes));
    // Real time: the deadline bounds a real wait, whatever the clock.
    MN_RETURN_IF_ERROR(window_->Acquire(PublishDeadline(
        options, options_.events.publish_timeout, absl::Now())));
    absl::StatusOr<uint64_t> sequence = Publish(topic, message, options);
    if (!sequence.ok()) {
      window_->Release();
      return sequence.status();
    }
    window_->Finish(*pool_, std::move(done), std::move(sequence));
    return absl::OkStatus();
  }

  absl::Status FlushPublishes(absl::Time deadline) {
    return window_->Flush(deadline);
  }

  absl::StatusOr<std::unique_ptr<Consumer>> Consume(absl::string_view topic,
                                                    Handler handler,
                                                    ConsumeOptions options);

  absl::Status Stop(const std::shared_ptr<Member>& member, absl::Time deadline);

  absl::StatusOr<TopicInfo> Info(absl::string_view topic,
                                 absl::string_view group_name) {
    MN_RETURN_IF_ERROR(ValidateSubject(topic, SubjectKind::kPattern, "topic"));
    std::lock_guard<std::mutex> lock(mu_);
    Stream* stream = StreamOf(topic);
    if (stream == nullptr) {
      return absl::NotFoundError(absl::StrCat("no stream holds topic ", topic));
    }
    TopicInfo info{.stream = stream->config.name,
                   .first_sequence = stream->first_seq(),
                   .last_sequence = stream->last_seq,
                   .messages = static_cast<int64_t>(stream->log.size()),
                   .bytes = stream->bytes};
    const std::string dead = DeadLetterTopic({}, topic);
    for (const auto& s : streams_) {
      for (const Stored& stored : s->log) {
        if (SubjectMatches(dead, stored.topic)) ++info.dead_lettered;
      }
    }
    if (group_name.empty()) return info;
    auto it = groups_.find(absl::StrCat(stream->config.name, "/", group_name));
    if (it == groups_.end()) {
      return absl::NotFoundError(
          absl::StrCat("group ", group_name, " of stream ", stream->config.name,
                       " not found"));
    }
    const Group& group = *it->second;
    GroupInfo g{.name = group.name,
                .in_flight = static_cast<int64_t>(group.pending.size())};
    for (const auto& [seq, pending] : group.pending) {
      if (pending.deliveries > 1) ++g.redelivered;
    }
    for (uint64_t seq = std::max(group.next, stream->first_seq());
         seq <= stream->last_seq; ++seq) {
      const Stored* stored = stream->Find(seq);
      if (stored != nullptr && SubjectMatches(group.topic, stored->topic)) {
        ++g.pending;
      }
    }
    // Everything below the first event delivered and not acknowledged, or
    // below the next one to look at.
    uint64_t floor = group.next - 1;
    if (!group.pending.empty()) {
      floor = std::min(floor, group.pending.begin()->first - 1);
    }
    g.ack_floor = floor;
    info.group = std::move(g);
    return info;
  }

  ConsumerStats Stats(const Member& member) {
    std::lock_guard<std::mutex> lock(mu_);
    ConsumerStats stats = member.stats;
    stats.in_flight = member.in_flight;
    return stats;
  }

  // Called by ~MemoryEvents: no timer runs after it returns.
  void Close() {
    std::vector<Timer> timers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      timers.swap(timers_);
    }
    timers.clear();  // cancels, waiting for a running callback
  }

 private:
  // Holds mu_; on release frees the fired timers, whose handles cannot be
  // destroyed under mu_ (destroying one waits for its callback, which
  // takes mu_). Never used by a timer callback (see OnTimer).
  class Held {
   public:
    explicit Held(State& state) : state_(state), lock_(state.mu_) {}
    ~Held() {
      std::vector<Timer> fired;
      for (auto it = state_.timers_.begin(); it != state_.timers_.end();) {
        if (it->fired->load()) {
          fired.push_back(std::move(*it));
          it = state_.timers_.erase(it);
        } else {
          ++it;
        }
      }
      lock_.unlock();
      fired.clear();
    }
    std::unique_lock<std::mutex>& lock() { return lock_; }

   private:
    State& state_;
    std::unique_lock<std::mutex> lock_;
  };

  Stream* StreamOf(absl::string_view topic) {
    const StreamConfig* config = StreamFor(configs_, topic);
    if (config == nullptr) return nullptr;
    return streams_[config - configs_.data()].get();
  }

  absl::StatusOr<uint64_t> PublishLocked(absl::string_view topic,
                                         const Message& message,
                                         const std::string& dedup_id) {
    Stream* stream = StreamOf(topic);
    if (stream == nullptr) {
      return absl::NotFoundError(absl::StrCat("no stream holds topic ", topic));
    }
    const absl::Time now = options_.clock();
    for (auto it = stream->dedup.begin(); it != stream->dedup.end();) {
      if (it->second.second + stream->config.duplicate_window <= now) {
        it = stream->dedup.erase(it);
      } else {
        ++it;
      }
    }
    if (!dedup_id.empty()) {
      auto it = stream->dedup.find(dedup_id);
      if (it != stream->dedup.end()) return it->second.first;
    }
    Stored stored{.seq = ++stream->last_seq,
                  .topic = std::string(topic),
                  .time = now,
                  .headers = WireHeaders(message.headers),
                  .body = message.body};
    if (!dedup_id.empty()) {
      stored.headers[std::string(kDedupIdHeader)] = dedup_id;
      stream->dedup[dedup_id] = {stored.seq, now};
    }
    stored.size = static_cast<int64_t>(
        MessageSize({.headers = stored.headers, .body = stored.body}));
    stream->bytes += stored.size;
    const uint64_t seq = stored.seq;
    stream->log.push_back(std::move(stored));
    const StreamConfig& c = stream->config;
    while (!stream->log.empty() &&
           ((c.max_messages > 0 &&
             static_cast<int64_t>(stream->log.size()) > c.max_messages) ||
            (c.max_bytes > 0 && stream->bytes > c.max_bytes) ||
            (c.max_age > absl::ZeroDuration() &&
             stream->log.front().time + c.max_age <= now))) {
      stream->bytes -= stream->log.front().size;
      stream->log.pop_front();
    }
    for (auto& [key, group] : groups_) {
      if (group->stream == stream) Pump(*group);
    }
    return seq;
  }

  // Hands events to members with room, redeliveries due first; arms the
  // timer for the next redelivery.
  void Pump(Group& group) {
    const absl::Time now = options_.clock();
    while (true) {
      Member* member = FreeMember(group);
      if (member == nullptr) break;
      uint64_t seq = 0;
      for (auto& [s, pending] : group.pending) {
        if (pending.holder == nullptr && pending.due <= now) {
          seq = s;
          break;
        }
      }
      Stream& stream = *group.stream;
      while (seq == 0 && group.next <= stream.last_seq) {
        group.next = std::max(group.next, stream.first_seq());
        const Stored* stored = stream.Find(group.next++);
        if (stored != nullptr && SubjectMatches(group.topic, stored->topic)) {
          seq = stored->seq;
        }
      }
      if (seq == 0) break;
      const Stored* stored = stream.Find(seq);
      if (stored == nullptr) {  // gone by the stream's limits
        group.pending.erase(seq);
        continue;
      }
      Pending& pending = group.pending[seq];
      ++pending.deliveries;
      pending.holder = member;
      ++member->in_flight;
      ++member->stats.delivered;
      member->stats.max_in_flight_seen = std::max<int64_t>(
          member->stats.max_in_flight_seen, member->in_flight);
      Event event{.topic = stored->topic,
                  .sequence = seq,
                  .timestamp = stored->time,
                  .delivery_count = pending.deliveries,
                  .headers = stored->headers,
                  .body = stored->body};
      std::shared_ptr<Member> shared;
      for (const auto& m : group.members) {
        if (m.get() == member) shared = m;
      }
      absl::Status scheduled = pool_->Schedule(
          [self = shared_from_this(), member = std::move(shared),
           event = std::move(event)]() mutable {
            absl::Status status = CallHandler(member->handler, event);
            self->Settle(member, event, status);
          });
      if (!scheduled.ok()) {
        --member->in_flight;
        pending.holder = nullptr;
        pending.due = now + absl::Seconds(1);
        Report(scheduled);
        break;
      }
    }
    Arm(group);
  }

  Member* FreeMember(Group& group) {
    const size_t n = group.members.size();
    for (size_t i = 0; i < n; ++i) {
      Member* m = group.members[(group.turn + i) % n].get();
      if (!m->stopped && m->in_flight < m->options.max_in_flight) {
        group.turn = (group.turn + i + 1) % n;
        return m;
      }
    }
    return nullptr;
  }

  void Arm(Group& group) {
    if (closed_) return;
    absl::Time earliest = absl::InfiniteFuture();
    for (const auto& [seq, pending] : group.pending) {
      if (pending.holder == nullptr) earliest = std::min(earliest, pending.due);
    }
    if (earliest == absl::InfiniteFuture() || earliest <= options_.clock()) {
      return;  // nothing waits, or it waits for a free member
    }
    for (const Timer& timer : timers_) {
      if (!timer.fired->load() && timer.due <= earliest) return;
    }
    auto fired = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<State> weak = weak_from_this();
    concurrency::ScheduledTask task = scheduler_->At(earliest, [weak, fired] {
      if (auto self = weak.lock()) self->OnTimer(*fired);
    });
    timers_.push_back({earliest, std::move(fired), std::move(task)});
  }

  // A timer callback: must not destroy timer handles (Held would).
  void OnTimer(std::atomic<bool>& fired) {
    std::lock_guard<std::mutex> lock(mu_);
    fired.store(true);
    for (auto& [key, group] : groups_) Pump(*group);
  }

  void Settle(const std::shared_ptr<Member>& member, const Event& event,
              const absl::Status& status) {
    std::vector<absl::Status> errors;
    {
      Held held(*this);
      --member->in_flight;
      cv_.notify_all();
      if (member->abandoned) return;
      auto group_it = groups_.find(member->group_key);
      if (group_it == groups_.end()) return;
      Group& group = *group_it->second;
      auto it = group.pending.find(event.sequence);
      if (it == group.pending.end() || it->second.holder != member.get()) {
        return;
      }
      const absl::Time now = options_.clock();
      if (status.ok()) {
        group.pending.erase(it);
        ++member->stats.acked;
      } else {
        ++member->stats.failed;
        errors.push_back(absl::Status(
            status.code(),
            absl::StrCat("handler of ", event.topic, " #", event.sequence,
                         " (delivery ", event.delivery_count,
                         "): ", status.message())));
        const absl::Time due =
            now + BackoffFor(member->options, event.delivery_count);
        if (event.delivery_count >= member->options.max_deliveries) {
          // Still held while its dead letter is published: the publish
          // pumps every group of the stream, this one too, which must not
          // hand the event out again meanwhile.
          absl::StatusOr<uint64_t> dead =
              PublishLocked(DeadLetterTopic(member->options, event.topic),
                            DeadLetter(event, status), "");
          auto held_it = group.pending.find(event.sequence);
          if (dead.ok()) {
            if (held_it != group.pending.end()) group.pending.erase(held_it);
            ++member->stats.dead_lettered;
          } else {
            // Kept, and tried again after the backoff: never dropped.
            if (held_it != group.pending.end()) {
              held_it->second.holder = nullptr;
              held_it->second.due = due;
            }
            errors.push_back(dead.status());
          }
        } else {
          it->second.holder = nullptr;
          it->second.due = due;
        }
      }
      Pump(group);
    }
    for (const absl::Status& error : errors) Report(error);
  }

  void Report(const absl::Status& status) {
    ReportError(options_.events.on_error, {"events"}, status);
  }

  const MemoryEventsOptions options_;
  const std::shared_ptr<concurrency::ThreadPool> pool_;
  const std::shared_ptr<events_internal::PublishWindow> window_;
  std::shared_ptr<concurrency::Scheduler> scheduler_;
  std::vector<StreamConfig> configs_;  // streams_[i]'s

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Stream>> streams_;          // guarded by mu_
  std::map<std::string, std::unique_ptr<Group>> groups_;  // guarded by mu_
  std::vector<Timer> timers_;                             // guarded by mu_
  uint64_t next_ephemeral_ = 0;                           // guarded by mu_
  bool closed_ = false;                                   // guarded by mu_
};

// A consumer's handle on its member of a group.
struct MemberHandle {
  absl::Status Stop(absl::Time deadline) {
    return state->Stop(member, deadline);
  }
  ConsumerStats Stats() const { return state->Stats(*member); }
  std::shared_ptr<State> state;
  std::shared_ptr<Member> member;
};

absl::StatusOr<std::unique_ptr<Consumer>> State::Consume(
    absl::string_view topic, Handler handler, ConsumeOptions options) {
  MN_RETURN_IF_ERROR(ValidateConsume(topic, handler, options));
  Held held(*this);
  if (closed_) return absl::FailedPreconditionError("events closed");
  Stream* stream = StreamOf(topic);
  if (stream == nullptr) {
    return absl::NotFoundError(absl::StrCat("no stream holds topic ", topic));
  }
  const bool ephemeral = options.group.empty();
  const std::string key =
      ephemeral ? absl::StrCat("~", ++next_ephemeral_)
                : absl::StrCat(stream->config.name, "/", options.group);
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    if (options.start.kind == Start::Kind::kUnset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "group ", options.group,
          " is new: say where it starts (Start::New, All, AtSequence or "
          "AtTime)"));
    }
    auto group = std::make_unique<Group>();
    group->key = key;
    group->name = options.group;
    group->stream = stream;
    group->topic = std::string(topic);
    group->start = options.start;
    group->ack_wait = options.ack_wait;
    group->ephemeral = ephemeral;
    switch (options.start.kind) {
      case Start::Kind::kNew:
        group->next = stream->last_seq + 1;
        break;
      case Start::Kind::kSequence:
        group->next = options.start.sequence;
        break;
      case Start::Kind::kTime: {
        group->next = stream->last_seq + 1;
        for (const Stored& stored : stream->log) {
          if (stored.time >= options.start.time) {
            group->next = stored.seq;
            break;
          }
        }
        break;
      }
      default:
        group->next = stream->first_seq();
    }
    it = groups_.emplace(key, std::move(group)).first;
  } else {
    Group& group = *it->second;
    std::vector<std::string> diffs;
    if (group.topic != topic) {
      diffs.push_back(
          absl::StrCat("topic: ", topic, " wanted, ", group.topic, " found"));
    }
    if (options.start.kind != Start::Kind::kUnset &&
        !(options.start == group.start)) {
      diffs.push_back(absl::StrCat("start: ", DescribeStart(options.start),
                                   " wanted, ", DescribeStart(group.start),
                                   " found"));
    }
    if (options.ack_wait != group.ack_wait) {
      diffs.push_back(absl::StrCat(
          "ack_wait: ", absl::FormatDuration(options.ack_wait), " wanted, ",
          absl::FormatDuration(group.ack_wait), " found"));
    }
    if (!diffs.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("group ", options.group, " exists with other settings (",
                       absl::StrJoin(diffs, "; "), ")"));
    }
  }
  auto member = std::make_shared<Member>();
  member->handler = std::move(handler);
  member->options = options;
  member->topic = std::string(topic);
  member->group_key = key;
  it->second->members.push_back(member);
  Pump(*it->second);
  return std::unique_ptr<Consumer>(
      std::make_unique<events_internal::ForwardingConsumer<MemberHandle>>(
          std::make_shared<MemberHandle>(
              MemberHandle{shared_from_this(), std::move(member)}),
          std::string(topic), options.group));
}

absl::Status State::Stop(const std::shared_ptr<Member>& member,
                         absl::Time deadline) {
  Held held(*this);
  if (member->stopped) return absl::OkStatus();
  member->stopped = true;
  const bool done = cv_.wait_until(
      held.lock(),
      absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Hours(24))),
      [&] { return member->in_flight == 0; });
  auto it = groups_.find(member->group_key);
  if (it == groups_.end()) return absl::OkStatus();
  Group& group = *it->second;
  if (!done) {
    // Its handlers ran past the deadline: their events go back to the group
    // (as JetStream's would after ack_wait) and their results are dropped.
    member->abandoned = true;
    for (auto& [seq, pending] : group.pending) {
      if (pending.holder == member.get()) {
        pending.holder = nullptr;
        pending.due = absl::InfinitePast();
      }
    }
  }
  group.members.erase(
      std::remove(group.members.begin(), group.members.end(), member),
      group.members.end());
  if (group.ephemeral) {
    groups_.erase(it);
  } else {
    Pump(group);
  }
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat(
        "consumer of ", member->topic, ": handlers still running"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Events>> NewMemoryEvents(
    MemoryEventsOptions options) {
  MN_RETURN_IF_ERROR(ValidateStreams(options.events.streams));
  return std::unique_ptr<Events>(
      std::make_unique<events_internal::ForwardingEvents<State>>(
          std::make_shared<State>(std::move(options))));
}

}  // namespace micro_nats::events
