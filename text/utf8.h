// Copyright 2026 The micro-nats Authors.
//
// utf8.h: well-formed UTF-8, as the places that clean text from the network
// (error details, terminal output) and their fuzz checks read it.
//
//   uint32_t code = 0;
//   if (size_t n = Utf8SequenceAt(text, i, &code); n > 0) i += n;

#ifndef MICRO_NATS_TEXT_UTF8_H_
#define MICRO_NATS_TEXT_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace micro_nats {

// The length (1 to 4) of the well-formed UTF-8 sequence starting at
// `text[i]`, with its code point in `*code`; 0 when the bytes there are not
// one (a stray continuation byte, an overlong form, a surrogate, a code
// point past U+10FFFF, or a sequence cut short).
size_t Utf8SequenceAt(absl::string_view text, size_t i, uint32_t* code);

// Whether all of `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

}  // namespace micro_nats

#endif  // MICRO_NATS_TEXT_UTF8_H_
