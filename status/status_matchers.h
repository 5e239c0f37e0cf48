// Copyright 2026 The micro-nats Authors.
//
// status_matchers.h: gmock matchers for absl::Status and absl::StatusOr.
//
// Debian's Abseil has no absl/status/status_matchers.h; these follow its
// names (IsOk, StatusIs, IsOkAndHolds) so a later move is a rename.
//
//   EXPECT_THAT(registry.GetService("x"),
//               StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(Parse("1"), IsOkAndHolds(1));
//   EXPECT_THAT(conn.Publish("a", "b"), IsOk());

#ifndef MICRO_NATS_STATUS_STATUS_MATCHERS_H_
#define MICRO_NATS_STATUS_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace micro_nats::testing {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches an absl::StatusOr<T> that is OK and whose value matches `inner`.
template <typename StatusOrType>
class IsOkAndHoldsMatcherImpl
    : public ::testing::MatcherInterface<StatusOrType> {
 public:
  using ValueType = typename std::decay_t<StatusOrType>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsMatcherImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const ValueType&>(
            std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(
      StatusOrType actual,
      ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "which has status " << actual.status();
      return false;
    }
    return inner_.MatchAndExplain(*actual, listener);
  }

 private:
  ::testing::Matcher<const ValueType&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT
    return ::testing::Matcher<StatusOrType>(
        new IsOkAndHoldsMatcherImpl<const StatusOrType&>(inner_));
  }

 private:
  InnerMatcher inner_;
};

}  // namespace status_matchers_internal

// IsOk()
//
// Matches an OK absl::Status or absl::StatusOr.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "which is " << status;
  return status.ok();
}

// StatusIs(code)
// StatusIs(code, message_matcher)
//
// Matches an absl::Status or absl::StatusOr whose code is `code` and whose
// message matches `message_matcher` (any message when omitted).
MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

MATCHER_P(StatusIs, code,
          std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "which is " << status;
  return status.code() == code;
}

// IsOkAndHolds(matcher)
//
// Matches an OK absl::StatusOr<T> whose value matches `matcher`.
template <typename InnerMatcher>
status_matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>
IsOkAndHolds(InnerMatcher&& inner) {
  return status_matchers_internal::IsOkAndHoldsMatcher<
      std::decay_t<InnerMatcher>>(std::forward<InnerMatcher>(inner));
}

}  // namespace micro_nats::testing

// MN_ASSERT_OK_AND_ASSIGN(lhs, rexpr)
//
// In a test: asserts that `rexpr` (an absl::StatusOr) is OK and moves its
// value into `lhs`.
#define MN_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                  \
  MN_ASSERT_OK_AND_ASSIGN_IMPL_(MN_MATCHERS_CONCAT_(mn_statusor_, __LINE__), \
                                lhs, rexpr)

#define MN_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  ASSERT_TRUE(statusor.ok()) << statusor.status();          \
  lhs = std::move(statusor).value()

#define MN_MATCHERS_CONCAT_INNER_(x, y) x##y
#define MN_MATCHERS_CONCAT_(x, y) MN_MATCHERS_CONCAT_INNER_(x, y)

#endif  // MICRO_NATS_STATUS_STATUS_MATCHERS_H_
