// Copyright 2026 The micro-nats Authors.
//
// protocol.h: the NATS Service API (ADR-32, "NATS micro") on the wire — the
// `$SRV` control subjects, the PING, INFO and STATS answers as JSON, the
// error headers, and the names and versions ADR-32 accepts.
//
// Services written with the nats.go, nats.js or nats.c `micro` libraries
// answer `$SRV.<VERB>[.<name>[.<id>]]`; `nats micro ls|info|stats` asks.
// service/nats answers the same for every micro-nats service, and
// registry/srv finds services by asking.
//
//   std::string json = srv::EncodeInfo(info);   // v1 JSON
//   MN_ASSIGN_OR_RETURN(srv::InfoResponse seen, srv::DecodeInfo(json));
//
// Decoding reads v1 (`type` io.nats.micro.v1.*) and the draft before it
// (what Debian's nats.go 1.22 speaks: no `type`, no `metadata`, a single
// endpoint `subject` in INFO, one set of counters in STATS).
//
// JSON is nlohmann/json's: protobuf's JSON mapping writes 64-bit integers as
// strings, and ADR-32's counters and nanosecond durations are numbers.

#ifndef MICRO_NATS_SRV_PROTOCOL_H_
#define MICRO_NATS_SRV_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace micro_nats::srv {

using Metadata = std::map<std::string, std::string>;

inline constexpr absl::string_view kApiPrefix = "$SRV";
// The queue group endpoints join unless configured otherwise.
inline constexpr absl::string_view kDefaultQueueGroup = "q";
// Set on every error answer: a description, and a code always safe to parse
// as a number (micro-nats sends HTTP-style codes, as go-micro does).
inline constexpr absl::string_view kErrorHeader = "Nats-Service-Error";
inline constexpr absl::string_view kErrorCodeHeader = "Nats-Service-Error-Code";

inline constexpr absl::string_view kPingType = "io.nats.micro.v1.ping_response";
inline constexpr absl::string_view kInfoType = "io.nats.micro.v1.info_response";
inline constexpr absl::string_view kStatsType =
    "io.nats.micro.v1.stats_response";

// How an instance looks in the registry (registry/srv): node metadata
// "protocol" is "nats-micro" (call by request/reply on an endpoint's
// subject, do not dial), and each endpoint's metadata holds its "subject"
// and "queue_group".
inline constexpr char kProtocolMetadata[] = "protocol";
inline constexpr char kNatsMicroProtocol[] = "nats-micro";
inline constexpr char kSubjectMetadata[] = "subject";
inline constexpr char kQueueGroupMetadata[] = "queue_group";

// Answers are read only up to this size; larger ones are refused unread.
inline constexpr size_t kMaxResponseBytes = 1 << 20;

enum class Verb { kPing, kInfo, kStats };

absl::string_view VerbName(Verb verb);  // "PING", "INFO", "STATS"

// `$SRV.<VERB>`, with `.<name>` when `name` is not empty and `.<id>` when
// both are not. `name` and `id` must be valid subject tokens.
std::string ControlSubject(Verb verb, absl::string_view name = "",
                           absl::string_view id = "");

// What every answer starts with.
struct Identity {
  std::string name;
  std::string id;
  std::string version;
  Metadata metadata;

  friend bool operator==(const Identity&, const Identity&) = default;
};

struct EndpointInfo {
  std::string name;
  std::string subject;
  std::string queue_group;  // empty: a plain subscription
  Metadata metadata;

  friend bool operator==(const EndpointInfo&, const EndpointInfo&) = default;
};

struct InfoResponse {
  Identity identity;
  std::string description;
  std::vector<EndpointInfo> endpoints;

  friend bool operator==(const InfoResponse&, const InfoResponse&) = default;
};

// An endpoint's latency distribution: micro-nats' own STATS `data` (ADR-32
// lets an endpoint's `data` be any JSON; other libraries send none). On the
// wire, durations in nanoseconds as ADR-32's are:
//
//   "data": {"latency": {"count": 1000, "sum_ns": 84000000,
//            "p50_ns": 71000, "p90_ns": 120000, "p99_ns": 410000,
//            "le_ns": [65536, 81920, ...], "counts": [12, 950, ...],
//            "over": 0}}
//
// `le_ns` and `counts` list the non-empty buckets of the server's fixed
// log-spaced buckets (service/latency_histogram.h): counts[i] values below
// le_ns[i] and not below the bucket before it's bound; `over` counts the
// values past the last bound. All three are absent when the answer had no
// room for them (has_buckets). Instances of one service share the bounds, so
// their counts add up.
struct LatencyData {
  struct Bucket {
    absl::Duration below;
    int64_t count = 0;
    friend bool operator==(const Bucket&, const Bucket&) = default;
  };
  int64_t count = 0;
  absl::Duration sum;
  absl::Duration p50;
  absl::Duration p90;
  absl::Duration p99;
  std::vector<Bucket> buckets;  // ascending by `below`, counts > 0
  int64_t over = 0;
  // False: the answer left the buckets out (le_ns, counts and over absent:
  // EncodeStats' size budget); count, sum and the percentiles stand.
  bool has_buckets = true;

  friend bool operator==(const LatencyData&, const LatencyData&) = default;
};

// Buckets kept when reading latency data from the network: more, and the
// endpoint's latency is left out (the rest of its stats are kept).
inline constexpr size_t kMaxLatencyBuckets = 256;

struct EndpointStats {
  std::string name;
  std::string subject;
  std::string queue_group;
  int64_t num_requests = 0;
  int64_t num_errors = 0;
  std::string last_error;  // empty when none
  absl::Duration processing_time;
  // processing_time / num_requests; zero without requests.
  absl::Duration average_processing_time;
  // In `data` when set. Decoding leaves it unset when the answer has none,
  // or one that is not well formed (see LatencyData).
  absl::optional<LatencyData> latency;

  friend bool operator==(const EndpointStats&, const EndpointStats&) = default;
};

struct StatsResponse {
  Identity identity;
  absl::Time started;
  std::vector<EndpointStats> endpoints;

  friend bool operator==(const StatsResponse&, const StatsResponse&) = default;
};

// v1 JSON: `metadata` always an object, `endpoints` always an array,
// durations in nanoseconds, `started` in RFC 3339 (UTC).
std::string EncodePing(const Identity& identity);
std::string EncodeInfo(const InfoResponse& info);
std::string EncodeStats(const StatsResponse& stats);
// As EncodeStats; when that is over `max_bytes`, the endpoints' latency
// buckets are left out (has_buckets false; the percentiles stay), so a
// service of many busy endpoints still answers within NATS's payload limit
// and what readers accept (kMaxResponseBytes). May still be over it (a
// service of thousands of endpoints).
std::string EncodeStats(StatsResponse stats, size_t max_bytes);

// What decoding keeps of an answer from the network: at most
// `max_endpoints` endpoints; the rest are skipped as they are parsed (never
// held in memory) and counted. JSON nested deeper than an answer's shape is
// skipped too.
struct DecodeLimits {
  size_t max_endpoints = 256;
  // A decode still parsing at this time stops: DeadlineExceeded.
  absl::Time deadline = absl::InfiniteFuture();
};

// What decoding left out of an answer it otherwise read.
struct DecodeReport {
  size_t dropped = 0;  // endpoints: invalid, or past max_endpoints
  absl::Status first;  // why the first one was dropped
};

// InvalidArgument, saying what is wrong, for what is not JSON, larger than
// kMaxResponseBytes, of another `type`, lacks `name` or `id`, or whose
// name is not an ADR-32 name, id not a subject token (no '.', wildcards,
// spaces or control characters) or version not printable. An endpoint
// whose subject is not a concrete subject (ValidateSubject: no wildcards,
// spaces, CR or LF), whose name is empty or not printable, or whose queue
// group is not printable, is dropped and counted in `report`: such a
// subject must never reach a caller (it would be written into NATS's
// protocol line). An endpoint's latency `data` with more than
// kMaxLatencyBuckets buckets, negative numbers, bounds out of order, or
// counts that do not add up is left out (the endpoint is kept).
absl::StatusOr<Identity> DecodePing(absl::string_view json);
absl::StatusOr<InfoResponse> DecodeInfo(absl::string_view json,
                                        const DecodeLimits& limits = {},
                                        DecodeReport* report = nullptr);
absl::StatusOr<StatsResponse> DecodeStats(absl::string_view json,
                                          const DecodeLimits& limits = {},
                                          DecodeReport* report = nullptr);

// Whether `id` may name an instance in a `$SRV` subject: 1..128 bytes of
// printable ASCII without spaces, '.', '*' or '>'.
bool IsValidId(absl::string_view id);

// ADR-32 names (services and endpoints): 1 or more of A-Z a-z 0-9 _ -.
bool IsValidName(absl::string_view name);
// `name` with every other character replaced by '_': go-micro's
// "go.micro.srv.greeter" is "go_micro_srv_greeter", endpoint
// "Greeter.Hello" is "Greeter_Hello". "_" for an empty name. Readable, and
// so not one to one: "a.b" and "a_b" are both "a_b". Where names share one
// ADR-32 namespace (a service's endpoints), CheckDistinctNames refuses
// such a pair.
std::string ToName(absl::string_view name);
// InvalidArgument naming the first two of `names` that ToName maps to the
// same ADR-32 name.
absl::Status CheckDistinctNames(const std::vector<std::string>& names);

// Whether `version` is SemVer 2.0 (the regular expression semver.org gives).
bool IsSemver(absl::string_view version);
// ADR-32 wants SemVer; go-micro's versions are free-form ("latest", "1").
// A SemVer version stays as it is; "" becomes "0.0.0"; any other `v`
// becomes "0.0.0+<v>" (build metadata), characters SemVer does not allow
// there replaced by '-'. FromSemver undoes it, so "latest" and "1" survive
// a trip through ADR-32 (and a genuine "0.0.0" reads as unversioned).
std::string ToSemver(absl::string_view version);
std::string FromSemver(absl::string_view version);

}  // namespace micro_nats::srv

#endif  // MICRO_NATS_SRV_PROTOCOL_H_
