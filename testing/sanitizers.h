// Copyright 2026 The micro-nats Authors.
//
// sanitizers.h: whether this build runs under a sanitizer, for the few
// test windows that must be wider there.
//
// A TSan build on this 2-core machine runs our code 5-20x slower, and a
// whole process's services share nats.c's two delivery threads, so a
// window sized for a plain build (a registry lookup's 100 ms timeout, its
// 10 ms idle gap) can close before a service in the same process answers.
// Widen such a window only where the test asserts something other than
// the window itself, and keep asserting it.
//
//   options.registry.timeout =
//       testing::UnderSanitizers(absl::Milliseconds(100), absl::Seconds(1));

#ifndef MICRO_NATS_TESTING_SANITIZERS_H_
#define MICRO_NATS_TESTING_SANITIZERS_H_

#include "absl/time/time.h"

namespace micro_nats::testing {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `plain` in a plain build, `sanitized` under a sanitizer.
inline absl::Duration UnderSanitizers(absl::Duration plain,
                                      absl::Duration sanitized) {
  return kSanitized ? sanitized : plain;
}

}  // namespace micro_nats::testing

#endif  // MICRO_NATS_TESTING_SANITIZERS_H_
