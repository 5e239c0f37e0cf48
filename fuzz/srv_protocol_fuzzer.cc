// Copyright 2026 The micro-nats Authors.
//
// The NATS Service API's answers as registry/srv and `micro` read them from
// any responder on `$SRV.PING|INFO|STATS`: v1 JSON and the draft before it.
// An answer that decodes must encode (as v1) and decode back to the same
// value; the names it carries go through ToName as registry/srv's do.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "srv/protocol.h"

namespace {

namespace srv = micro_nats::srv;

void CheckName(absl::string_view name) {
  const std::string mapped = srv::ToName(name);
  FUZZ_CHECK(srv::IsValidName(mapped), mapped);
  FUZZ_CHECK(mapped.size() == std::max<size_t>(name.size(), 1), mapped);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json = micro_nats::fuzz::AsView(data, size);

  if (auto ping = srv::DecodePing(json); ping.ok()) {
    auto again = srv::DecodePing(srv::EncodePing(*ping));
    FUZZ_CHECK(again.ok(), again.status().ToString());
    FUZZ_CHECK(*again == *ping, "a PING answer changed on its way round");
    CheckName(ping->name);
    srv::FromSemver(ping->version);
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(ping.status()),
               ping.status().ToString());
  }

  srv::DecodeReport report;
  if (auto info = srv::DecodeInfo(json, {.max_endpoints = 8}, &report);
      info.ok()) {
    FUZZ_CHECK(info->endpoints.size() <= 8, "more endpoints than the limit");
    FUZZ_CHECK(report.dropped == 0 || !report.first.ok(),
               "endpoints dropped without a reason");
    auto again = srv::DecodeInfo(srv::EncodeInfo(*info));
    FUZZ_CHECK(again.ok(), again.status().ToString());
    FUZZ_CHECK(*again == *info, "an INFO answer changed on its way round");
    for (const srv::EndpointInfo& endpoint : info->endpoints) {
      CheckName(endpoint.name);
    }
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(info.status()),
               info.status().ToString());
  }

  if (auto stats = srv::DecodeStats(json); stats.ok()) {
    const std::string encoded = srv::EncodeStats(*stats);
    auto again = srv::DecodeStats(encoded);
    FUZZ_CHECK(again.ok(), again.status().ToString());
    // A draft answer's one endpoint has no subject, which v1 requires: it
    // is read from a draft, not from v1 (we never send remote stats on).
    std::vector<srv::EndpointStats> with_subject;
    for (const srv::EndpointStats& e : stats->endpoints) {
      if (!e.subject.empty()) with_subject.push_back(e);
    }
    FUZZ_CHECK(
        again->identity == stats->identity && again->endpoints == with_subject,
        absl::StrCat("a STATS answer changed on its way round: ", encoded,
                     " read back as ", srv::EncodeStats(*again)));
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(stats.status()),
               stats.status().ToString());
  }
  return 0;
}
