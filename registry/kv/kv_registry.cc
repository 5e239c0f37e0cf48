// Copyright 2026 The micro-nats Authors.

#include "registry/kv/kv_registry.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/optional.h"
#include "concurrency/thread_pool.h"
#include "concurrency/wait.h"
#include "nats/message.h"
#include "nats/status.h"
#include "registry/internal/lookup.h"
#include "registry/internal/service_store.h"
#include "registry/internal/watch_hub.h"
#include "registry/kv/internal/key.h"
#include "registry/kv/internal/replica.h"
#include "registry/nats/internal/codec.h"
#include "status/status_macros.h"
#include "subject/subject.h"

namespace micro_nats::registry {
namespace {

using kv_internal::DecodeKey;
using kv_internal::EncodeKey;
using kv_internal::NodeKey;
using kv_internal::Replica;
using kv_internal::ReplicaEntry;
using registry_internal::BadInput;
using registry_internal::WatchHub;

constexpr char kTtlHeader[] = "Micro-Nats-Ttl";  // milliseconds
constexpr char kOperationHeader[] = "KV-Operation";
constexpr char kLastConsumerHeader[] = "Nats-Last-Consumer";
// Room beside max_value_bytes in the bucket's max value size (the server's
// limit counts headers too): what Register writes is a TTL header.
constexpr int64_t kHeaderRoom = 1024;
// Beside max_entries in the watch's pending limit: updates that come while
// the initial values wait.
constexpr size_t kPendingSlack = 1024;

int PendingLimit(const KvRegistryOptions& options) {
  if (options.max_pending_msgs > 0) return options.max_pending_msgs;
  return static_cast<int>(std::min<size_t>(options.max_entries + kPendingSlack,
                                           std::numeric_limits<int>::max()));
}

int32_t MaxValueSize(const KvRegistryOptions& options) {
  return static_cast<int32_t>(std::min<int64_t>(
      static_cast<int64_t>(options.max_value_bytes) + kHeaderRoom,
      std::numeric_limits<int32_t>::max()));
}

int64_t BucketMaxBytes(const KvRegistryOptions& options) {
  return options.bucket_max_bytes > 0 ? options.bucket_max_bytes : -1;
}

int64_t Millis(absl::Duration d) {
  return std::max<int64_t>(
      1, absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))));
}

// Every KV registry's blocking work (making a consumer, a few JetStream API
// calls per resync) on one small pool: never a thread per registry. Never
// destroyed: a registry's last task may run at exit.
std::shared_ptr<concurrency::ThreadPool> SharedPool() {
  static auto* pool = new std::shared_ptr<concurrency::ThreadPool>(
      std::make_shared<concurrency::ThreadPool>(2));
  return *pool;
}

bool ValidBucketName(absl::string_view bucket) {
  return !bucket.empty() && bucket.size() <= 64 &&
         std::all_of(bucket.begin(), bucket.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '-' || c == '_';
         });
}

// A message of the watch, read (off the replica's lock).
struct Decoded {
  enum Kind { kHeartbeat, kPut, kDelete, kBad } kind = kBad;
  bool has_sequence = false;
  uint64_t consumer_sequence = 0;
  uint64_t pending = 0;
  uint64_t stream_sequence = 0;
  uint64_t last_consumer = 0;  // a heartbeat's
  std::string key;             // empty when unreadable
  ReplicaEntry entry;
  absl::Status why;  // kBad
};

class KvState : public std::enable_shared_from_this<KvState> {
 public:
  KvState(std::shared_ptr<nats::Connection> conn, KvRegistryOptions options)
      : conn_(std::move(conn)),
        options_(std::move(options)),
        stream_(absl::StrCat("KV_", options_.bucket)),
        prefix_(absl::StrCat("$KV.", options_.bucket, ".")),
        hub_(options_.watch_buffer),
        live_(options_.max_entries, options_.max_replica_bytes),
        queue_(concurrency::SerialQueue::Create(SharedPool())) {}

  ~KvState() {
    if (kvStore* kv = kv_.load()) kvStore_Destroy(kv);
    if (js_ != nullptr) jsCtx_Destroy(js_);
  }

  absl::Status Init() {
    jsOptions opts = ApiOptions();
    return nats::FromNatsStatus(
        natsConnection_JetStream(&js_, conn_->get(), &opts),
        "JetStream context");
  }

  // Makes the bucket, or checks it, once; then OK.
  absl::Status EnsureBucket() {
    std::lock_guard<std::mutex> lock(bucket_mu_);
    if (kv_.load() != nullptr) return absl::OkStatus();
    MN_RETURN_IF_ERROR(fatal());
    jsOptions opts = ApiOptions();
    jsStreamInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, stream_.c_str(), &opts, &err);
    kvStore* kv = nullptr;
    if (s == NATS_OK) {
      std::vector<std::string> differences = Differences(*info->Config);
      jsStreamInfo_Destroy(info);
      if (!differences.empty()) {
        absl::Status mismatch = absl::FailedPreconditionError(
            absl::StrCat("the registry bucket '", options_.bucket,
                         "' exists with other settings: ",
                         absl::StrJoin(differences, "; ")));
        std::lock_guard<std::mutex> state_lock(mu_);
        fatal_ = mismatch;
        return mismatch;
      }
      s = js_KeyValue(&kv, js_, options_.bucket.c_str());
    } else if (s == NATS_NOT_FOUND || err == JSStreamNotFoundErr) {
      kvConfig config;
      kvConfig_Init(&config);
      config.Bucket = options_.bucket.c_str();
      config.History = 1;
      config.TTL = absl::ToInt64Nanoseconds(options_.max_age);
      config.StorageType = options_.storage == KvStorage::kMemory
                               ? js_MemoryStorage
                               : js_FileStorage;
      config.Replicas = options_.replicas;
      config.MaxValueSize = MaxValueSize(options_);
      config.MaxBytes = BucketMaxBytes(options_);
      s = js_CreateKeyValue(&kv, js_, &config);
    }
    if (s != NATS_OK) {
      absl::Status status = nats::FromNatsStatus(
          s, absl::StrCat("registry bucket '", options_.bucket, "'"));
      // Whatever nats.c says of a server that did not answer, the bucket
      // is out of reach for now.
      if (absl::IsDeadlineExceeded(status) || absl::IsUnknown(status) ||
          absl::IsInternal(status)) {
        status = absl::UnavailableError(status.message());
      }
      return status;
    }
    kv_.store(kv);
    return absl::OkStatus();
  }

  // Starts a new consumer, gathering its initial values beside the
  // replica: on the queue, or on the caller's thread the first time.
  void Resync() {
    std::unique_ptr<nats::Subscription> old;
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      resync_queued_ = false;
      if (closed_) return;
      generation = ++generation_;
      loading_.emplace(options_.max_entries, options_.max_replica_bytes);
      loading_refused_ = false;
      loading_applied_ = 0;
      expected_sequence_ = 1;
      syncing_ = true;
      last_activity_ = absl::Now();
      last_resync_ = last_activity_;
      old = std::move(subscription_);
    }
    // The old consumer goes with its subscription (its inactivity
    // threshold); no request that could wait on a server that is gone.
    if (old != nullptr) old->Unsubscribe().IgnoreError();
    absl::Status status = EnsureBucket();
    if (!status.ok()) return Failed(status);
    const std::string inbox = conn_->Inbox();
    std::weak_ptr<KvState> weak = weak_from_this();
    auto subscription =
        conn_->Subscribe(inbox,
                         [weak, generation](natsMsg* msg) {
                           if (auto self = weak.lock())
                             self->OnMessage(msg, generation);
                         },
                         {.on_error =
                              [weak](const absl::Status& status) {
                                if (auto self = weak.lock()) {
                                  self->RequestResync();
                                  self->bad_.Report(status);
                                }
                              },
                          .max_pending_msgs = PendingLimit(options_),
                          .run_on = nats::HandlerThread::kDeliveryThread});
    if (!subscription.ok()) return Failed(subscription.status());

    const std::string filter = absl::StrCat(prefix_, ">");
    jsConsumerConfig config;
    jsConsumerConfig_Init(&config);
    config.DeliverSubject = inbox.c_str();
    config.DeliverPolicy = js_DeliverLastPerSubject;
    config.AckPolicy = js_AckNone;
    config.FilterSubject = filter.c_str();
    config.Heartbeat = absl::ToInt64Nanoseconds(options_.heartbeat);
    config.InactiveThreshold = absl::ToInt64Nanoseconds(
        std::max(absl::Seconds(10), 3 * options_.heartbeat));
    jsOptions opts = ApiOptions();
    jsConsumerInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s =
        js_AddConsumer(&info, js_, stream_.c_str(), &config, &opts, &err);
    if (s != NATS_OK) {
      (*subscription)->Unsubscribe().IgnoreError();
      absl::Status failed = nats::FromNatsStatus(
          s, absl::StrCat("watch of registry bucket '", options_.bucket, "'"));
      return Failed(absl::UnavailableError(failed.message()));
    }
    const uint64_t pending = info->NumPending;
    jsConsumerInfo_Destroy(info);
    std::unique_ptr<nats::Subscription> stale;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || generation != generation_) {
        stale = std::move(*subscription);
      } else {
        subscription_ = std::move(*subscription);
        failed_ = false;
        last_error_ = absl::OkStatus();
        // Nothing to deliver: loaded now (a value put since comes as an
        // update, with its own pending count).
        if (pending == 0 && loading_.has_value()) FinishLoadLocked();
      }
    }
    if (stale != nullptr) stale->Unsubscribe().IgnoreError();
  }

  // Queues a resync (once however often asked before it starts); the
  // replica is stale until it has loaded.
  void RequestResync() {
    std::lock_guard<std::mutex> lock(mu_);
    RequestResyncLocked();
  }

  void OnMessage(natsMsg* msg, uint64_t generation) {
    Decoded decoded = Decode(msg);
    const absl::Time now = absl::Now();
    bool refused = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || generation != generation_) return;
      // Only what the consumer sent is a sign of life: not a message that
      // anyone could publish to the inbox.
      if (decoded.kind != Decoded::kBad || decoded.has_sequence) {
        last_activity_ = now;
      }
      if (decoded.kind == Decoded::kHeartbeat) {
        // The server sent more than came: lost on the way.
        if (decoded.last_consumer >= expected_sequence_) RequestResyncLocked();
        return;
      }
      if (decoded.has_sequence) {
        if (decoded.consumer_sequence != expected_sequence_) {
          RequestResyncLocked();
          return;
        }
        ++expected_sequence_;
        Replica& target = loading_.has_value() ? *loading_ : live_;
        std::vector<Event> events;
        if (decoded.kind == Decoded::kPut) {
          events =
              target.Put(decoded.key, std::move(decoded.entry), now, &refused);
          if (refused) {
            (loading_.has_value() ? loading_refused_ : live_refused_) = true;
          }
        } else if (!decoded.key.empty()) {
          events = target.Remove(decoded.key);  // deleted, or unreadable
        }
        if (loading_.has_value()) {
          loading_applied_ =
              std::max(loading_applied_, decoded.stream_sequence);
          if (decoded.pending == 0) FinishLoadLocked();
        } else {
          applied_ = std::max(applied_, decoded.stream_sequence);
          hub_.Publish(events);
          applied_cv_.notify_all();
        }
      }
    }
    if (decoded.kind == Decoded::kBad) bad_.Report(decoded.why);
    if (refused) {
      bad_.Report(absl::ResourceExhaustedError(absl::StrCat(
          "the registry's replica of bucket '", options_.bucket, "' is full (",
          options_.max_entries, " keys or ", options_.max_replica_bytes,
          " bytes of values): a registration was left out")));
    }
  }

  void Sweep() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    hub_.Publish(live_.Expire(absl::Now()));
  }

  // Retries a failed resync; starts one when heartbeats stopped.
  void Watchdog() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || resync_queued_) return;
    const absl::Time now = absl::Now();
    if (failed_ || deferred_) {
      if (now >= retry_at_) {
        deferred_ = false;
        RequestResyncLocked();
      }
    } else if (now - last_activity_ > 3 * options_.heartbeat) {
      RequestResyncLocked();
    }
  }

  void Close() {
    std::unique_ptr<nats::Subscription> subscription;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      subscription = std::move(subscription_);
    }
    loaded_cv_.notify_all();
    if (subscription != nullptr) subscription->Unsubscribe().IgnoreError();
  }

  absl::Status fatal() {
    std::lock_guard<std::mutex> lock(mu_);
    return fatal_;
  }

  // What a lookup reads: the replica once loaded, and whether it is stale.
  struct View {
    std::vector<Service> services;
    bool stale = false;
  };

  absl::StatusOr<View> Read(absl::optional<absl::string_view> name) {
    View view;
    {
      std::unique_lock<std::mutex> lock(mu_);
      MN_RETURN_IF_ERROR(AwaitLoadLocked(lock));
      const absl::Time now = absl::Now();
      view.services =
          name.has_value() ? live_.Get(*name, now) : live_.List(now);
      view.stale = syncing_ || live_refused_;
    }
    view.stale = view.stale || !conn_->IsConnected();
    if (view.services.empty()) {
      if (view.stale) {
        return absl::UnavailableError(absl::StrCat(
            "the registry's replica of bucket '", options_.bucket,
            "' is stale (NATS or JetStream out of reach) and has ",
            name.has_value() ? absl::StrCat("no node of '", *name, "'")
                             : "no service"));
      }
      // A live replica's "nothing" is the truth, unless the server went
      // away a moment ago and nobody noticed yet: a round trip says.
      if (absl::Status alive = conn_->Flush(
              std::min(options_.request_timeout, absl::Seconds(1)));
          !alive.ok()) {
        return absl::UnavailableError(
            absl::StrCat("registry bucket '", options_.bucket,
                         "' out of reach: ", alive.message()));
      }
    }
    return view;
  }

  // The keys of one version (Deregister without nodes), once the replica
  // has what this client wrote (within load_wait: a value of ours that the
  // bucket no longer has never comes).
  absl::StatusOr<std::vector<std::string>> KeysOf(const Service& service) {
    std::unique_lock<std::mutex> lock(mu_);
    MN_RETURN_IF_ERROR(AwaitLoadLocked(lock));
    const uint64_t written = written_.load();
    concurrency::WaitUntil(applied_cv_, lock, absl::Now() + options_.load_wait,
                           [&] { return closed_ || applied_ >= written; });
    return live_.KeysOf(service.name, service.version);
  }

  absl::Status Put(const std::string& key, const Headers& headers,
                   absl::string_view body) {
    MN_ASSIGN_OR_RETURN(std::string subject, SubjectOf(key));
    MN_ASSIGN_OR_RETURN(nats::NatsMsgPtr msg,
                        nats::BuildMessage(subject, "", headers, body));
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MaxWait = Millis(options_.request_timeout);
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&ack, js_, msg.get(), &opts, &err);
    if (s == NATS_OK && ack != nullptr) Wrote(ack->Sequence);
    jsPubAck_Destroy(ack);
    return Reached(s, absl::StrCat("register '", key, "' in bucket '",
                                   options_.bucket, "'"));
  }

  absl::Status Delete(const std::string& key) {
    MN_RETURN_IF_ERROR(SubjectOf(key).status());
    return Reached(kvStore_Delete(kv_.load(), key.c_str()),
                   absl::StrCat("deregister '", key, "' from bucket '",
                                options_.bucket, "'"));
  }

  WatchHub& hub() { return hub_; }

  // JetStream API calls wait request_timeout.
  jsOptions ApiOptions() const {
    jsOptions opts;
    jsOptions_Init(&opts);
    opts.Wait = Millis(options_.request_timeout);
    return opts;
  }
  const KvRegistryOptions& options() const { return options_; }

 private:
  void Wrote(uint64_t sequence) {
    uint64_t seen = written_.load();
    while (seen < sequence && !written_.compare_exchange_weak(seen, sequence)) {
    }
  }

  // Unavailable for a server that did not answer in time.
  static absl::Status Reached(natsStatus s, absl::string_view context) {
    absl::Status status = nats::FromNatsStatus(s, context);
    if (absl::IsDeadlineExceeded(status)) {
      status = absl::UnavailableError(status.message());
    }
    return status;
  }

  absl::StatusOr<std::string> SubjectOf(const std::string& key) const {
    std::string subject = absl::StrCat(prefix_, key);
    if (subject.size() > kMaxSubjectLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the registry key of this node is ", subject.size(),
          " bytes with its bucket's prefix (NATS allows ", kMaxSubjectLength,
          "): a shorter name, version or node id"));
    }
    return subject;
  }

  std::vector<std::string> Differences(const jsStreamConfig& config) const {
    std::vector<std::string> out;
    const std::string subjects = absl::StrCat(prefix_, ">");
    if (config.SubjectsLen != 1 || config.Subjects[0] != subjects) {
      out.push_back(absl::StrCat("its subjects are not only '", subjects,
                                 "' (not a key-value bucket)"));
    }
    if (config.MaxMsgsPerSubject != 1) {
      out.push_back(absl::StrCat("history ", config.MaxMsgsPerSubject,
                                 " (this registry keeps 1)"));
    }
    const int64_t max_age = absl::ToInt64Nanoseconds(options_.max_age);
    if (config.MaxAge != max_age) {
      out.push_back(absl::StrCat(
          "max-age ", absl::FormatDuration(absl::Nanoseconds(config.MaxAge)),
          " (asked: ", absl::FormatDuration(options_.max_age), ")"));
    }
    const jsStorageType storage = options_.storage == KvStorage::kMemory
                                      ? js_MemoryStorage
                                      : js_FileStorage;
    auto name = [](jsStorageType s) {
      return s == js_MemoryStorage ? "memory" : "file";
    };
    if (config.Storage != storage) {
      out.push_back(absl::StrCat("storage ", name(config.Storage),
                                 " (asked: ", name(storage), ")"));
    }
    if (config.MaxMsgSize != MaxValueSize(options_)) {
      out.push_back(absl::StrCat("max value size ", config.MaxMsgSize,
                                 " (asked: ", MaxValueSize(options_), ")"));
    }
    if (config.MaxBytes != BucketMaxBytes(options_)) {
      out.push_back(absl::StrCat("max-bytes ", config.MaxBytes,
                                 " (asked: ", BucketMaxBytes(options_), ")"));
    }
    if (config.Replicas != options_.replicas) {
      out.push_back(absl::StrCat("replicas ", config.Replicas,
                                 " (asked: ", options_.replicas, ")"));
    }
    return out;
  }

  Decoded Decode(natsMsg* msg) const {
    Decoded d;
    if (nats::Reply(msg).empty()) {
      // The consumer's idle heartbeat (a status message: no body, no
      // reply, status 100), with the last sequence it sent.
      const char* status = nullptr;
      if (natsMsgHeader_Get(msg, "Status", &status) != NATS_OK ||
          status == nullptr || absl::string_view(status) != "100") {
        d.why = absl::InvalidArgumentError(
            "a message on the registry watch with neither a reply nor the "
            "status of a heartbeat");
        return d;
      }
      d.kind = Decoded::kHeartbeat;
      const Headers headers = nats::ReadHeaders(msg);
      auto last = headers.find(kLastConsumerHeader);
      if (last != headers.end()) {
        absl::SimpleAtoi(last->second, &d.last_consumer);
      }
      return d;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
      d.why = absl::InvalidArgumentError(
          "a message on the registry watch without JetStream metadata");
      return d;
    }
    d.has_sequence = true;
    d.consumer_sequence = meta->Sequence.Consumer;
    d.pending = meta->NumPending;
    d.stream_sequence = meta->Sequence.Stream;
    d.entry.revision = d.stream_sequence;
    const absl::Time stamp = absl::FromUnixNanos(meta->Timestamp);
    jsMsgMetaData_Destroy(meta);

    auto bad = [&d](absl::Status why) {
      d.kind = Decoded::kBad;
      d.why = std::move(why);
      return std::move(d);
    };
    if (absl::Status valid = nats::ValidateMessage(msg); !valid.ok()) {
      return bad(valid);
    }
    const absl::string_view subject = nats::Subject(msg);
    if (!absl::StartsWith(subject, prefix_)) {
      return bad(absl::InvalidArgumentError(absl::StrCat(
          "a registry watch message on '", subject, "', not the bucket's")));
    }
    const absl::string_view key = subject.substr(prefix_.size());
    absl::StatusOr<NodeKey> node_key = DecodeKey(key);
    if (!node_key.ok()) return bad(node_key.status());
    d.key = std::string(key);
    int invalid = 0;
    const Headers headers = nats::ReadHeaders(msg, &invalid);
    if (invalid > 0) {
      return bad(absl::InvalidArgumentError(
          absl::StrCat("registry value '", key, "' with invalid headers")));
    }
    if (auto op = headers.find(kOperationHeader); op != headers.end()) {
      if (op->second == "DEL" || op->second == "PURGE") {
        d.kind = Decoded::kDelete;
        return d;
      }
      return bad(absl::InvalidArgumentError(absl::StrCat(
          "registry value '", key, "' with operation '", op->second, "'")));
    }
    const absl::string_view body = nats::Body(msg);
    if (body.size() > options_.max_value_bytes) {
      return bad(absl::InvalidArgumentError(absl::StrCat(
          "registry value '", key, "' of ", body.size(),
          " bytes (the limit is ", options_.max_value_bytes, ")")));
    }
    absl::Duration ttl = absl::ZeroDuration();
    if (auto header = headers.find(kTtlHeader); header != headers.end()) {
      int64_t millis = 0;
      if (!absl::SimpleAtoi(header->second, &millis) || millis < 0) {
        return bad(absl::InvalidArgumentError(absl::StrCat(
            "registry value '", key, "' with TTL '", header->second, "'")));
      }
      ttl = absl::Milliseconds(millis);
    }
    size_t cut = 0;
    absl::StatusOr<Service> service = registry_internal::DecodeService(
        body, options_.max_endpoints, /*max_nodes=*/1, &cut);
    if (!service.ok()) return bad(service.status());
    if (cut > 0 || service->nodes.size() != 1 ||
        service->name != node_key->name ||
        service->version != node_key->version ||
        service->nodes[0].id != node_key->node_id) {
      return bad(absl::InvalidArgumentError(
          absl::StrCat("registry value '", key,
                       "' is not one node of the service its key names")));
    }
    if (absl::Status valid = ValidateService(*service); !valid.ok()) {
      return bad(valid);
    }
    // What every transport here dials: a concrete NATS subject.
    if (absl::Status valid = ValidateSubject(
            service->nodes[0].address, SubjectKind::kConcrete,
            absl::StrCat("address of registry value '", key, "'"));
        !valid.ok()) {
      return bad(valid);
    }
    absl::Duration lifetime = absl::InfiniteDuration();
    if (ttl > absl::ZeroDuration()) lifetime = ttl;
    if (options_.max_age > absl::ZeroDuration()) {
      lifetime = std::min(lifetime, options_.max_age);
    }
    d.kind = Decoded::kPut;
    d.entry.bytes = body.size();
    d.entry.service = *std::move(service);
    d.entry.expires = lifetime == absl::InfiniteDuration()
                          ? absl::InfiniteFuture()
                          : stamp + lifetime;
    return d;
  }

  void RequestResyncLocked() {
    if (closed_) return;
    syncing_ = true;
    if (resync_queued_ || deferred_) return;
    const absl::Time now = absl::Now();
    // At most one resync per retry_interval: a consumer that keeps losing
    // messages does not get a new consumer per loss; the watchdog starts
    // the deferred one.
    if (now - last_resync_ < options_.retry_interval) {
      deferred_ = true;
      retry_at_ = last_resync_ + options_.retry_interval;
      return;
    }
    resync_queued_ = true;
    std::shared_ptr<KvState> self = shared_from_this();
    if (!queue_->Schedule([self] { self->Resync(); }).ok()) {
      resync_queued_ = false;
      deferred_ = true;
      retry_at_ = now + options_.retry_interval;
    }
  }

  void FinishLoadLocked() {
    applied_ = std::max(applied_, loading_applied_);
    applied_cv_.notify_all();
    hub_.Publish(live_.ReplaceWith(std::move(*loading_), absl::Now()));
    loading_.reset();
    live_refused_ = loading_refused_;
    syncing_ = resync_queued_;
    loaded_once_ = true;
    loaded_cv_.notify_all();
  }

  void Failed(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok() && absl::IsFailedPrecondition(status)) fatal_ = status;
    failed_ = true;
    last_error_ = status;
    retry_at_ = absl::Now() + options_.retry_interval;
    loaded_cv_.notify_all();
  }

  absl::Status AwaitLoadLocked(std::unique_lock<std::mutex>& lock) {
    const absl::Time deadline = absl::Now() + options_.load_wait;
    concurrency::WaitUntil(loaded_cv_, lock, deadline, [&] {
      return loaded_once_ || closed_ || !fatal_.ok();
    });
    if (!fatal_.ok()) return fatal_;
    if (loaded_once_) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        "the registry's replica of bucket '", options_.bucket,
        "' has not loaded within ", absl::FormatDuration(options_.load_wait),
        last_error_.ok() ? ""
                         : absl::StrCat(" (", last_error_.message(), ")")));
  }

  const std::shared_ptr<nats::Connection> conn_;
  const KvRegistryOptions options_;
  const std::string stream_;  // KV_<bucket>
  const std::string prefix_;  // $KV.<bucket>.
  jsCtx* js_ = nullptr;       // set by Init, before any other use
  std::mutex bucket_mu_;      // one EnsureBucket at a time
  std::atomic<kvStore*> kv_{nullptr};
  BadInput bad_{"registry/kv", options_.on_bad_input};
  WatchHub hub_;

  std::mutex mu_;
  std::condition_variable loaded_cv_;
  Replica live_;                     // guarded by mu_
  absl::optional<Replica> loading_;  // guarded by mu_: a resync's values
  bool live_refused_ = false;        // guarded by mu_
  bool loading_refused_ = false;     // guarded by mu_
  uint64_t generation_ = 0;          // guarded by mu_
  uint64_t expected_sequence_ = 1;   // guarded by mu_
  // The last stream sequence the replica has (and a resync's values have),
  // and the last this client wrote: read-your-writes for KeysOf.
  uint64_t applied_ = 0;          // guarded by mu_
  uint64_t loading_applied_ = 0;  // guarded by mu_
  std::atomic<uint64_t> written_{0};
  std::condition_variable applied_cv_;
  bool loaded_once_ = false;    // guarded by mu_
  bool syncing_ = true;         // guarded by mu_: stale until loaded
  bool resync_queued_ = false;  // guarded by mu_
  bool failed_ = false;         // guarded by mu_
  bool deferred_ = false;       // guarded by mu_: a resync to start
  absl::Time last_resync_ = absl::InfinitePast();     // guarded by mu_
  bool closed_ = false;                               // guarded by mu_
  absl::Time retry_at_;                               // guarded by mu_
  absl::Time last_activity_;                          // guarded by mu_
  absl::Status last_error_;                           // guarded by mu_
  absl::Status fatal_;                                // guarded by mu_
  std::unique_ptr<nats::Subscription> subscription_;  // guarded by mu_
  const std::shared_ptr<concurrency::SerialQueue> queue_;
};

class KvRegistry : public Registry {
 public:
  KvRegistry(std::shared_ptr<KvState> state,
             std::shared_ptr<nats::Connection> conn)
      : state_(std::move(state)), conn_(std::move(conn)) {
    std::weak_ptr<KvState> weak = state_;
    concurrency::Scheduler& scheduler = state_->options().scheduler != nullptr
                                            ? *state_->options().scheduler
                                            : concurrency::Scheduler::Default();
    listener_ = conn_->AddReconnectListener([weak] {
      if (auto state = weak.lock()) state->RequestResync();
    });
    sweep_ = scheduler.Every(state_->options().sweep_interval, [weak] {
      if (auto state = weak.lock()) state->Sweep();
    });
    watchdog_ = scheduler.Every(state_->options().heartbeat, [weak] {
      if (auto state = weak.lock()) state->Watchdog();
    });
  }

  ~KvRegistry() override {
    conn_->RemoveReconnectListener(listener_);
    sweep_.Cancel();
    watchdog_.Cancel();
    state_->Close();
  }

  absl::Status Register(const Service& service,
                        RegisterOptions options) override {
    MN_RETURN_IF_ERROR(
        registry_internal::ValidateRegistration(service, options));
    MN_RETURN_IF_ERROR(state_->EnsureBucket());
    Headers headers;
    if (options.ttl > absl::ZeroDuration()) {
      headers[kTtlHeader] = absl::StrCat(Millis(options.ttl));
    }
    Service one = service;
    for (const Node& node : service.nodes) {
      one.nodes = {node};
      const std::string body = registry_internal::EncodeService(one);
      if (body.size() > state_->options().max_value_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the registration of node '", node.id, "' is ", body.size(),
            " bytes (the limit is ", state_->options().max_value_bytes, ")"));
      }
      MN_RETURN_IF_ERROR(state_->Put(
          EncodeKey({service.name, service.version, node.id}), headers, body));
    }
    return absl::OkStatus();
  }

  absl::Status Deregister(const Service& service) override {
    MN_RETURN_IF_ERROR(ValidateService(service));
    MN_RETURN_IF_ERROR(state_->EnsureBucket());
    std::vector<std::string> keys;
    if (service.nodes.empty()) {
      MN_ASSIGN_OR_RETURN(keys, state_->KeysOf(service));
    }
    for (const Node& node : service.nodes) {
      keys.push_back(EncodeKey({service.name, service.version, node.id}));
    }
    for (const std::string& key : keys) {
      MN_RETURN_IF_ERROR(state_->Delete(key));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Service>> GetService(
      absl::string_view name) override {
    MN_ASSIGN_OR_RETURN(LookupResult found, Find(name));
    return std::move(found.services);
  }

  absl::StatusOr<LookupResult> Find(absl::string_view name) override {
    MN_RETURN_IF_ERROR(ValidateServiceName(name));
    MN_ASSIGN_OR_RETURN(KvState::View view, state_->Read(name));
    if (view.services.empty()) {
      return absl::NotFoundError(
          absl::StrCat("service '", name, "' not registered"));
    }
    return LookupResult{std::move(view.services), !view.stale};
  }

  absl::StatusOr<std::vector<Service>> ListServices() override {
    MN_ASSIGN_OR_RETURN(KvState::View view, state_->Read(absl::nullopt));
    return std::move(view.services);
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(
      WatchOptions options) override {
    return state_->hub().NewWatcher(std::move(options));
  }

 private:
  const std::shared_ptr<KvState> state_;
  const std::shared_ptr<nats::Connection> conn_;
  uint64_t listener_ = 0;
  // Last: cancelled before the rest goes.
  concurrency::ScheduledTask sweep_;
  concurrency::ScheduledTask watchdog_;
};

absl::Status ValidateOptions(const KvRegistryOptions& options) {
  if (!ValidBucketName(options.bucket)) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry bucket name '", options.bucket,
                     "': 1..64 letters, digits, '-' or '_'"));
  }
  if (options.replicas < 1 || options.replicas > 5) {
    return absl::InvalidArgumentError(absl::StrCat("registry bucket replicas ",
                                                   options.replicas,
                                                   " (JetStream allows 1..5)"));
  }
  for (const auto& [what, d] : {std::pair<const char*, absl::Duration>{
                                    "request_timeout", options.request_timeout},
                                {"load_wait", options.load_wait},
                                {"heartbeat", options.heartbeat},
                                {"retry_interval", options.retry_interval},
                                {"sweep_interval", options.sweep_interval}}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("KvRegistryOptions.", what, " must be positive"));
    }
  }
  if (options.max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("KvRegistryOptions.max_age is negative");
  }
  if (options.max_entries == 0 || options.max_value_bytes == 0 ||
      options.max_replica_bytes == 0) {
    return absl::InvalidArgumentError(
        "KvRegistryOptions.max_entries, max_replica_bytes and "
        "max_value_bytes must be positive");
  }
  if (options.max_pending_msgs < 0 ||
      (options.max_pending_msgs > 0 &&
       static_cast<size_t>(options.max_pending_msgs) < options.max_entries)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KvRegistryOptions.max_pending_msgs ", options.max_pending_msgs,
        " is below max_entries (", options.max_entries,
        "): the initial load alone could overflow it"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> NewKvRegistry(
    std::shared_ptr<nats::Connection> connection, KvRegistryOptions options) {
  MN_RETURN_IF_ERROR(ValidateOptions(options));
  auto state = std::make_shared<KvState>(connection, std::move(options));
  MN_RETURN_IF_ERROR(state->Init());
  // The first load starts here; when JetStream is out of reach the
  // watchdog tries again, and lookups are Unavailable meanwhile.
  state->Resync();
  if (absl::Status fatal = state->fatal(); !fatal.ok()) {
    state->Close();
    return fatal;
  }
  return std::make_unique<KvRegistry>(std::move(state), std::move(connection));
}

}  // namespace micro_nats::registry
