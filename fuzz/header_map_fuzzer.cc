// Copyright 2026 The micro-nats Authors.
//
// Header maps: what ValidateHeaders (message.h) accepts must be safe to put
// on the wire — nats::BuildMessage takes it (leaving out blank values, which
// NATS cannot carry), and a peer reading the NATS header block nats.c
// writes for it gets exactly that map back, no header more (injected), none
// less, no value changed but for the space around it.
//
// Input: fields separated by 0xFF (fuzz_input.h), alternately a header
// name and its value; then the body.

#include <nats/nats.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/nats_wire.h"
#include "message/message.h"
#include "nats/message.h"

namespace {

using micro_nats::Headers;

std::string Show(const Headers& headers) {
  std::string out = "{";
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&out, "\"", absl::CEscape(name), "\": \"",
                    absl::CEscape(value), "\", ");
  }
  return out + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<absl::string_view> fields =
      micro_nats::fuzz::Fields(micro_nats::fuzz::AsView(data, size));
  Headers headers;
  size_t i = 0;
  for (; i + 1 < fields.size(); i += 2) {
    headers.emplace(std::string(fields[i]), std::string(fields[i + 1]));
  }
  const absl::string_view body = i < fields.size() ? fields[i] : "";

  const absl::Status valid = micro_nats::ValidateHeaders(headers);
  bool each_valid = true;
  for (const auto& [name, value] : headers) {
    each_valid = each_valid && micro_nats::ValidateHeaderName(name).ok() &&
                 micro_nats::ValidateHeaderValue(name, value).ok();
  }
  FUZZ_CHECK(valid.ok() == each_valid, valid.ToString());
  if (!valid.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(valid), valid.ToString());
    return 0;
  }
  const micro_nats::Message message{headers, std::string(body)};
  FUZZ_CHECK(micro_nats::MessageSize(message) >= body.size(), "size");

  // Built here, read here: a blank value (IsBlankHeaderValue) is left out,
  // as NATS cannot carry one.
  Headers sendable;
  for (const auto& [name, value] : headers) {
    if (!micro_nats::IsBlankHeaderValue(value)) {
      sendable.emplace(name, value);
    }
  }
  absl::StatusOr<micro_nats::nats::NatsMsgPtr> built =
      micro_nats::nats::BuildMessage("fuzz.subject", "", headers, body);
  if (!built.ok()) {
    // Names nats.c's header table confuses ("a" and "aaa") are refused
    // (7079591) rather than sent wrong.
    FUZZ_CHECK(absl::IsInvalidArgument(built.status()),
               built.status().ToString());
    return 0;
  }
  const Headers sent = micro_nats::nats::ReadHeaders(built->get());
  FUZZ_CHECK(sent == sendable,
             absl::StrCat("given ", Show(headers), ", built ", Show(sent)));
  FUZZ_CHECK(micro_nats::nats::Body(built->get()) == body, "body");

  // Sent, and read at the other end.
  const std::string wire = micro_nats::fuzz::EncodeNatsHeaders(sent);
  micro_nats::nats::NatsMsgPtr received =
      micro_nats::fuzz::ReceivedMessage("fuzz.subject", "", wire, body);
  const Headers read = micro_nats::nats::ReadHeaders(received.get());
  // NATS headers are HTTP's: the space around a value is not part of it
  // (nats.c and nats.go trim it as they read); WireHeaders says what
  // arrives, and the memory backends deliver that too.
  const Headers expected = micro_nats::WireHeaders(headers);
  FUZZ_CHECK(read == expected,
             absl::StrCat("sent ", Show(sent), ", read ", Show(read)));
  FUZZ_CHECK(micro_nats::nats::Body(received.get()) == body, "body");
  return 0;
}
