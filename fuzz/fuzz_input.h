// Copyright 2026 The micro-nats Authors.
//
// fuzz_input.h: what the harnesses share — splitting one input into fields,
// and a check that stops the fuzzer with a message.
//
// Fields are separated by the byte 0xFF, which valid UTF-8 never holds, so
// hand-made seeds stay readable (`printf 'a\xffb'`) and every other byte,
// CR, LF and NUL included, can appear inside a field.

#ifndef MICRO_NATS_FUZZ_FUZZ_INPUT_H_
#define MICRO_NATS_FUZZ_FUZZ_INPUT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace micro_nats::fuzz {

inline constexpr char kFieldSeparator = '\xff';

inline absl::string_view AsView(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

inline std::vector<absl::string_view> Fields(absl::string_view input) {
  return absl::StrSplit(input, kFieldSeparator);
}

}  // namespace micro_nats::fuzz

// Aborts (a crash libFuzzer keeps) when `cond` is false: a property the
// harness checks beyond "does not crash".
#define FUZZ_CHECK(cond, what)                                             \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, \
                   __LINE__, #cond, std::string(what).c_str());            \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#endif  // MICRO_NATS_FUZZ_FUZZ_INPUT_H_
