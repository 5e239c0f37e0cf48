// Copyright 2026 The micro-nats Authors.

#include "srv/protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "status/status_macros.h"
#include "subject/subject.h"
#include "text/shown.h"

namespace micro_nats::srv {
namespace {

using Json = nlohmann::json;

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-';
}

// Text from users (metadata, error messages) may not be UTF-8: replaced, not
// thrown about.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json MetadataJson(const Metadata& metadata) {
  Json object = Json::object();  // never null: v1 says always an object
  for (const auto& [key, value] : metadata) object[key] = value;
  return object;
}

Json IdentityJson(absl::string_view type, const Identity& identity) {
  return Json{{"type", type},
              {"name", identity.name},
              {"id", identity.id},
              {"version", identity.version},
              {"metadata", MetadataJson(identity.metadata)}};
}

// Parses `text` as one JSON object; InvalidArgument saying why not. Only
// the shape of an answer is kept (see DecodeLimits): the top-level fields,
// at most `max_endpoints` objects of `endpoints` (the others are counted
// in `skipped`), and `metadata` objects at the top and in an endpoint;
// other nested values are skipped while parsing, so a hostile answer
// cannot make the parse allocate more than its shape allows.
absl::StatusOr<Json> ParseObject(
    absl::string_view text, Verb verb,
    const DecodeLimits& limits = {.max_endpoints = SIZE_MAX},
    size_t* skipped = nullptr) {
  const size_t max_endpoints = limits.max_endpoints;
  if (text.size() > kMaxResponseBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", VerbName(verb), " answer of ", text.size(),
                     " bytes (the limit is ", kMaxResponseBytes, ")"));
  }
  std::string top_key;      // the field being parsed at the top level
  std::string inner_key;    // the field being parsed in an endpoint
  std::string data_key;     // ... in an endpoint's `data`
  std::string latency_key;  // ... in its `latency`
  size_t elements = 0;      // of the latency array being parsed
  size_t endpoints = 0;
  size_t skipped_endpoints = 0;
  // nlohmann's callback can skip a value but not stop the parse: past the
  // deadline it throws this, caught below (the parser unwinds cleanly).
  struct DeadlinePassed {};
  size_t events = 0;
  auto keep = [&](int depth, Json::parse_event_t event, Json& parsed) {
    using Event = Json::parse_event_t;
    if (++events % 1024 == 0 && limits.deadline != absl::InfiniteFuture() &&
        absl::Now() >= limits.deadline) {
      throw DeadlinePassed{};
    }
    const bool object = event == Event::object_start;
    switch (event) {
      case Event::key:
        if (depth == 1) top_key = parsed.get<std::string>();
        if (depth == 3) inner_key = parsed.get<std::string>();
        if (depth == 4) data_key = parsed.get<std::string>();
        if (depth == 5) latency_key = parsed.get<std::string>();
        return true;
      case Event::object_start:
      case Event::array_start:
        switch (depth) {
          case 0:
            return true;
          case 1:
            return top_key == "endpoints" ? !object
                                          : object && top_key == "metadata";
          case 2:
            if (top_key != "endpoints" || !object) return false;
            if (endpoints >= max_endpoints) {
              ++skipped_endpoints;
              return false;
            }
            ++endpoints;
            return true;
          case 3:
            return object && top_key == "endpoints" &&
                   (inner_key == "metadata" || inner_key == "data");
          case 4:  // data.latency
            return object && top_key == "endpoints" && inner_key == "data" &&
                   data_key == "latency";
          case 5:  // data.latency.le_ns, .counts
            if (object || top_key != "endpoints" || inner_key != "data" ||
                data_key != "latency" ||
                (latency_key != "le_ns" && latency_key != "counts")) {
              return false;
            }
            elements = 0;
            return true;
          default:
            return false;
        }
      case Event::value:
        // One past the limit is kept, so reading sees there were too many.
        return depth != 6 || ++elements <= kMaxLatencyBuckets + 1;
      default:
        return true;
    }
  };
  Json json;
  try {
    json = Json::parse(text.begin(), text.end(), keep,
                       /*allow_exceptions=*/false);
  } catch (const DeadlinePassed&) {
    return absl::DeadlineExceededError(
        absl::StrCat("a ", VerbName(verb), " answer of ", text.size(),
                     " bytes was still being parsed at the deadline"));
  }
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", VerbName(verb), " answer is not a JSON object: '",
                     text.substr(0, 64), text.size() > 64 ? "...'" : "'"));
  }
  if (skipped != nullptr) *skipped = skipped_endpoints;
  return json;
}

// Whether every character of `text` is printable ASCII, not a space.
bool Printable(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), IsSubjectChar);
}

// Why an endpoint read from an answer cannot be passed on; OK when it can.
absl::Status CheckEndpoint(absl::string_view name, absl::string_view subject,
                           absl::string_view queue_group, bool has_subject) {
  if (name.empty() || !Printable(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("an endpoint name that is empty or not printable: '",
                     ShownInError(name), "'"));
  }
  if (has_subject) {
    MN_RETURN_IF_ERROR(ValidateSubject(
        subject, SubjectKind::kConcrete,
        absl::StrCat("endpoint '", ShownInError(name), "' subject")));
  }
  if (!Printable(queue_group)) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint '", ShownInError(name),
                     "' has a queue group that is not printable"));
  }
  return absl::OkStatus();
}

void Drop(DecodeReport* report, absl::Status why) {
  if (report == nullptr) return;
  if (report->dropped++ == 0) report->first = std::move(why);
}

// Appends `endpoint` to `endpoints` when CheckEndpoint passes it; otherwise
// it is dropped and reported.
template <typename Endpoint>
void AddEndpoint(std::vector<Endpoint>& endpoints, Endpoint endpoint,
                 bool has_subject, DecodeReport* report) {
  absl::Status valid = CheckEndpoint(endpoint.name, endpoint.subject,
                                     endpoint.queue_group, has_subject);
  if (valid.ok()) {
    endpoints.push_back(std::move(endpoint));
  } else {
    Drop(report, std::move(valid));
  }
}

std::string StringField(const Json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>()
                                             : std::string();
}

// A counter or duration: saturated at int64's range. A peer's 1e300 (or an
// integer too long for 64 bits, which JSON reads as a float) converted as
// it is would be undefined behaviour (UBSan, //fuzz:srv_protocol_fuzzer).
int64_t IntegerValue(const Json& json) {
  if (!json.is_number()) return 0;
  if (json.is_number_unsigned()) {
    return static_cast<int64_t>(std::min<uint64_t>(
        json.get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  }
  if (json.is_number_integer()) return json.get<int64_t>();
  const double value = json.get<double>();
  if (std::isnan(value)) return 0;
  // 2^63 is exact as a double; anything at or past it saturates.
  if (value >= 9223372036854775808.0) {
    return std::numeric_limits<int64_t>::max();
  }
  if (value < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(value);
}

int64_t IntegerField(const Json& json, const char* key) {
  auto it = json.find(key);
  return it == json.end() ? 0 : IntegerValue(*it);
}

Metadata MetadataField(const Json& json) {
  Metadata metadata;
  auto it = json.find("metadata");
  if (it == json.end() || !it->is_object()) return metadata;
  for (const auto& [key, value] : it->items()) {
    if (value.is_string()) metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// The identity of an answer of `expected` type (a draft answer has none).
absl::StatusOr<Identity> ReadIdentity(const Json& json, Verb verb,
                                      absl::string_view expected) {
  const std::string type = StringField(json, "type");
  if (!type.empty() && type != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", VerbName(verb), " answer of type '",
                     type.substr(0, 64), "' (expected '", expected, "')"));
  }
  Identity identity{.name = StringField(json, "name"),
                    .id = StringField(json, "id"),
                    .version = StringField(json, "version"),
                    .metadata = MetadataField(json)};
  if (identity.name.empty() || identity.id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", VerbName(verb), " answer without a name or an id"));
  }
  // Both name the instance in `$SRV` subjects; the version becomes a
  // registry version.
  if (!IsValidName(identity.name) || !IsValidId(identity.id) ||
      !Printable(identity.version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", VerbName(verb), " answer with an invalid name, id or version: '",
        ShownInError(identity.name), "' '", ShownInError(identity.id), "' '",
        ShownInError(identity.version), "'"));
  }
  return identity;
}

// An INFO or STATS answer (they list endpoints): its JSON object and
// identity. The endpoints past limits.max_endpoints are left out and
// reported as one drop that says why, counted once each.
absl::StatusOr<std::pair<Json, Identity>> ParseListing(
    absl::string_view text, Verb verb, absl::string_view type,
    const DecodeLimits& limits, DecodeReport* report) {
  size_t skipped = 0;
  MN_ASSIGN_OR_RETURN(Json json, ParseObject(text, verb, limits, &skipped));
  MN_ASSIGN_OR_RETURN(Identity identity, ReadIdentity(json, verb, type));
  if (skipped > 0) {
    Drop(report, absl::ResourceExhaustedError(absl::StrCat(
                     "a ", VerbName(verb), " answer of '", identity.name,
                     "' with over ", limits.max_endpoints, " endpoints")));
    if (report != nullptr) report->dropped += skipped - 1;
  }
  return std::pair{std::move(json), std::move(identity)};
}

Json LatencyJson(const LatencyData& latency) {
  Json json = Json{{"count", latency.count},
                   {"sum_ns", absl::ToInt64Nanoseconds(latency.sum)},
                   {"p50_ns", absl::ToInt64Nanoseconds(latency.p50)},
                   {"p90_ns", absl::ToInt64Nanoseconds(latency.p90)},
                   {"p99_ns", absl::ToInt64Nanoseconds(latency.p99)}};
  if (!latency.has_buckets) return json;
  Json below = Json::array();
  Json counts = Json::array();
  for (const LatencyData::Bucket& bucket : latency.buckets) {
    below.push_back(absl::ToInt64Nanoseconds(bucket.below));
    counts.push_back(bucket.count);
  }
  json["le_ns"] = std::move(below);
  json["counts"] = std::move(counts);
  json["over"] = latency.over;
  return json;
}

// An endpoint's `data.latency`, when there is one and it is well formed:
// hostile input, so every number is checked before it is believed.
absl::optional<LatencyData> ReadLatency(const Json& endpoint) {
  auto data = endpoint.find("data");
  if (data == endpoint.end() || !data->is_object()) return absl::nullopt;
  auto found = data->find("latency");
  if (found == data->end() || !found->is_object()) return absl::nullopt;
  const Json& json = *found;
  auto below = json.find("le_ns");
  auto counts = json.find("counts");
  const bool has_buckets =
      below != json.end() || counts != json.end() || json.contains("over");
  if (has_buckets &&
      (below == json.end() || counts == json.end() || !below->is_array() ||
       !counts->is_array() || below->size() != counts->size() ||
       below->size() > kMaxLatencyBuckets)) {
    return absl::nullopt;
  }
  LatencyData latency{.count = IntegerField(json, "count"),
                      .sum = absl::Nanoseconds(IntegerField(json, "sum_ns")),
                      .p50 = absl::Nanoseconds(IntegerField(json, "p50_ns")),
                      .p90 = absl::Nanoseconds(IntegerField(json, "p90_ns")),
                      .p99 = absl::Nanoseconds(IntegerField(json, "p99_ns")),
                      .over = IntegerField(json, "over"),
                      .has_buckets = has_buckets};
  if (latency.count < 0 || latency.over < 0 ||
      latency.sum < absl::ZeroDuration() ||
      latency.p50 < absl::ZeroDuration() || latency.p90 < latency.p50 ||
      latency.p99 < latency.p90) {
    return absl::nullopt;
  }
  if (!has_buckets) return latency;
  int64_t total = latency.over;
  for (size_t i = 0; i < below->size(); ++i) {
    LatencyData::Bucket bucket{
        .below = absl::Nanoseconds(IntegerValue((*below)[i])),
        .count = IntegerValue((*counts)[i])};
    if (!(*below)[i].is_number() || !(*counts)[i].is_number() ||
        bucket.below <= (latency.buckets.empty()
                             ? absl::ZeroDuration()
                             : latency.buckets.back().below) ||
        bucket.count <= 0 ||
        bucket.count > std::numeric_limits<int64_t>::max() - total) {
      return absl::nullopt;
    }
    total += bucket.count;
    latency.buckets.push_back(bucket);
  }
  if (total != latency.count) return absl::nullopt;
  return latency;
}

EndpointStats ReadEndpointStats(const Json& json) {
  return {.name = StringField(json, "name"),
          .subject = StringField(json, "subject"),
          .queue_group = StringField(json, "queue_group"),
          .num_requests = IntegerField(json, "num_requests"),
          .num_errors = IntegerField(json, "num_errors"),
          .last_error = StringField(json, "last_error"),
          .processing_time =
              absl::Nanoseconds(IntegerField(json, "processing_time")),
          .average_processing_time =
              absl::Nanoseconds(IntegerField(json, "average_processing_time")),
          .latency = ReadLatency(json)};
}

const std::regex& SemverRegex() {
  // semver.org's suggested expression (ECMAScript flavour).
  static const auto* const kSemver =
      new std::regex(R"(^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))"
                     R"((?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))"
                     R"((?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?)"
                     R"((?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$)");
  return *kSemver;
}

constexpr absl::string_view kUnversioned = "0.0.0";
constexpr absl::string_view kFreeFormPrefix = "0.0.0+";

}  // namespace

absl::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kPing:
      return "PING";
    case Verb::kInfo:
      return "INFO";
    case Verb::kStats:
      return "STATS";
  }
  return "";
}

std::string ControlSubject(Verb verb, absl::string_view name,
                           absl::string_view id) {
  std::string subject = absl::StrCat(kApiPrefix, ".", VerbName(verb));
  if (!name.empty()) {
    absl::StrAppend(&subject, ".", name);
    if (!id.empty()) absl::StrAppend(&subject, ".", id);
  }
  return subject;
}

std::string EncodePing(const Identity& identity) {
  return Dump(IdentityJson(kPingType, identity));
}

std::string EncodeInfo(const InfoResponse& info) {
  Json json = IdentityJson(kInfoType, info.identity);
  json["description"] = info.description;
  Json endpoints = Json::array();
  for (const EndpointInfo& e : info.endpoints) {
    endpoints.push_back(Json{{"name", e.name},
                             {"subject", e.subject},
                             {"queue_group", e.queue_group},
                             {"metadata", MetadataJson(e.metadata)}});
  }
  json["endpoints"] = std::move(endpoints);
  return Dump(json);
}

std::string EncodeStats(const StatsResponse& stats) {
  Json json = IdentityJson(kStatsType, stats.identity);
  Json endpoints = Json::array();
  for (const EndpointStats& e : stats.endpoints) {
    Json& endpoint = endpoints.emplace_back(
        Json{{"name", e.name},
             {"subject", e.subject},
             {"queue_group", e.queue_group},
             {"num_requests", e.num_requests},
             {"num_errors", e.num_errors},
             {"last_error", e.last_error},
             {"processing_time", absl::ToInt64Nanoseconds(e.processing_time)},
             {"average_processing_time",
              absl::ToInt64Nanoseconds(e.average_processing_time)}});
    if (e.latency.has_value()) {
      endpoint["data"] = Json{{"latency", LatencyJson(*e.latency)}};
    }
  }
  json["endpoints"] = std::move(endpoints);
  json["started"] =
      absl::FormatTime(absl::RFC3339_full, stats.started, absl::UTCTimeZone());
  return Dump(json);
}

std::string EncodeStats(StatsResponse stats, size_t max_bytes) {
  std::string json = EncodeStats(stats);
  if (json.size() <= max_bytes) return json;
  for (EndpointStats& endpoint : stats.endpoints) {
    if (!endpoint.latency.has_value()) continue;
    endpoint.latency->buckets.clear();
    endpoint.latency->over = 0;
    endpoint.latency->has_buckets = false;
  }
  return EncodeStats(stats);
}

absl::StatusOr<Identity> DecodePing(absl::string_view text) {
  MN_ASSIGN_OR_RETURN(Json json, ParseObject(text, Verb::kPing));
  return ReadIdentity(json, Verb::kPing, kPingType);
}

absl::StatusOr<InfoResponse> DecodeInfo(absl::string_view text,
                                        const DecodeLimits& limits,
                                        DecodeReport* report) {
  MN_ASSIGN_OR_RETURN(
      auto listing, ParseListing(text, Verb::kInfo, kInfoType, limits, report));
  const Json& json = listing.first;
  InfoResponse info{.identity = std::move(listing.second),
                    .description = StringField(json, "description")};
  auto add = [&](EndpointInfo endpoint) {
    AddEndpoint(info.endpoints, std::move(endpoint), true, report);
  };
  if (auto it = json.find("endpoints"); it != json.end() && it->is_array()) {
    for (const Json& e : *it) {
      if (!e.is_object()) continue;
      add({.name = StringField(e, "name"),
           .subject = StringField(e, "subject"),
           .queue_group = StringField(e, "queue_group"),
           .metadata = MetadataField(e)});
    }
  } else if (std::string subject = StringField(json, "subject");
             !subject.empty()) {
    // The draft: one endpoint, named by its subject, always in group "q".
    add({.name = subject,
         .subject = subject,
         .queue_group = std::string(kDefaultQueueGroup)});
  }
  return info;
}

absl::StatusOr<StatsResponse> DecodeStats(absl::string_view text,
                                          const DecodeLimits& limits,
                                          DecodeReport* report) {
  MN_ASSIGN_OR_RETURN(auto listing, ParseListing(text, Verb::kStats, kStatsType,
                                                 limits, report));
  const Json& json = listing.first;
  StatsResponse stats{.identity = std::move(listing.second)};
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, StringField(json, "started"),
                       &stats.started, &error)) {
    stats.started = absl::UnixEpoch();
  }
  if (auto it = json.find("endpoints"); it != json.end() && it->is_array()) {
    for (const Json& e : *it) {
      if (e.is_object()) {
        AddEndpoint(stats.endpoints, ReadEndpointStats(e), true, report);
      }
    }
  } else if (json.contains("num_requests")) {
    // The draft: the service's one endpoint, counted at the top level.
    EndpointStats one = ReadEndpointStats(json);
    one.subject.clear();
    AddEndpoint(stats.endpoints, std::move(one), false, report);
  }
  return stats;
}

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!IsSubjectChar(c) || c == '.' || c == '*' || c == '>') return false;
  }
  return true;
}

bool IsValidName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string ToName(absl::string_view name) {
  if (name.empty()) return "_";
  std::string out(name);
  for (char& c : out) {
    if (!IsNameChar(c)) c = '_';
  }
  return out;
}

bool IsSemver(absl::string_view version) {
  return std::regex_match(version.begin(), version.end(), SemverRegex());
}

std::string ToSemver(absl::string_view version) {
  if (version.empty()) return std::string(kUnversioned);
  if (IsSemver(version)) return std::string(version);
  std::string build(version);
  for (size_t i = 0; i < build.size(); ++i) {
    const char c = build[i];
    const bool dot_between =
        c == '.' && i > 0 && i + 1 < build.size() && build[i - 1] != '.';
    if (!IsNameChar(c) && !dot_between) build[i] = '-';
    if (c == '_') build[i] = '-';
  }
  return absl::StrCat(kFreeFormPrefix, build);
}

std::string FromSemver(absl::string_view version) {
  if (version == kUnversioned) return "";
  if (absl::StartsWith(version, kFreeFormPrefix)) {
    return std::string(version.substr(kFreeFormPrefix.size()));
  }
  return std::string(version);
}

absl::Status CheckDistinctNames(const std::vector<std::string>& names) {
  std::map<std::string, const std::string*> seen;
  for (const std::string& name : names) {
    auto [it, added] = seen.emplace(ToName(name), &name);
    if (!added && *it->second != name) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", *it->second, "' and '", name, "' are both '",
                       it->first, "' as NATS Service API names: rename one"));
    }
  }
  return absl::OkStatus();
}

}  // namespace micro_nats::srv
