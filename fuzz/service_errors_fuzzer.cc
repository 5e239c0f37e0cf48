// Copyright 2026 The micro-nats Authors.
//
// go-micro's Micro-Error header as a client reads it from any server's
// answer: never OK, never longer than kMaxErrorDetail (errors.h), and an
// error we write reads back as the same code and text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "service/errors.h"
#include "text/utf8.h"

namespace {

namespace service = micro_nats::service;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input = micro_nats::fuzz::AsView(data, size);

  const absl::Status read = service::ErrorFromJson(input);
  FUZZ_CHECK(!read.ok(), "an error header read as OK");
  FUZZ_CHECK(read.message().size() <= service::kMaxErrorDetail,
             absl::StrCat("an error of ", read.message().size(), " bytes"));
  FUZZ_CHECK(service::HttpCodeFor(read.code()) ==
                 service::HttpCodeFor(service::StatusCodeForHttp(
                     service::HttpCodeFor(read.code()))),
             read.ToString());

  // The input as the text of an error of each code, written and read
  // back: the same code (Internal for those go-micro has no status for)
  // and the text, cut at kMaxErrorDetail, unless it is not UTF-8.
  for (int c = 1; c <= 16; ++c) {
    const auto code = static_cast<absl::StatusCode>(c);
    const absl::Status status(code, input);
    const absl::Status back =
        service::ErrorFromJson(service::ErrorToJson(status, "fuzz.service"));
    FUZZ_CHECK(
        service::HttpCodeFor(back.code()) == service::HttpCodeFor(code),
        absl::StrCat(status.ToString(), " came back as ", back.ToString()));
    // Text that is not UTF-8 does not survive JSON (protobuf drops the bad
    // bytes, or ErrorToJson says so); the empty text reads as the status.
    if (back.message() != input.substr(0, service::kMaxErrorDetail)) {
      FUZZ_CHECK(
          !micro_nats::IsValidUtf8(input.substr(0, service::kMaxErrorDetail)) ||
              input.empty(),
          back.ToString());
    }
  }
  return 0;
}
