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

namespace {

namespace service = micro_nats::service;

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points past U+10FFFF).
bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= text.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

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
          !IsUtf8(input.substr(0, service::kMaxErrorDetail)) || input.empty(),
          back.ToString());
    }
  }
  return 0;
}
