// Copyright 2026 The micro-nats Authors.

#include "absl/status/status.h"

#include <string>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_macros.h"
#include "status/status_matchers.h"

namespace micro_nats {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::IsOkAndHolds;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<int> ParsePositive(int value) {
  if (value <= 0) return absl::InvalidArgumentError("not positive");
  return value;
}

absl::Status CheckPositive(int value) {
  MN_RETURN_IF_ERROR(ParsePositive(value));
  return absl::OkStatus();
}

absl::StatusOr<int> Doubled(int value) {
  MN_ASSIGN_OR_RETURN(int parsed, ParsePositive(value));
  return parsed * 2;
}

absl::StatusOr<int> DoubledIntoExisting(int value) {
  int parsed = -1;
  MN_ASSIGN_OR_RETURN(parsed, ParsePositive(value));
  MN_ASSIGN_OR_RETURN(int again, ParsePositive(parsed));  // two in one scope
  return parsed + again;
}

int evaluations = 0;
absl::Status CountedFailure() {
  ++evaluations;
  return absl::NotFoundError("counted");
}

absl::Status PropagateCounted() {
  MN_RETURN_IF_ERROR(CountedFailure());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkThrough) {
  EXPECT_THAT(CheckPositive(3), IsOk());
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheError) {
  EXPECT_THAT(CheckPositive(0), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("not positive")));
}

TEST(StatusMacrosTest, ReturnIfErrorEvaluatesOnce) {
  evaluations = 0;
  EXPECT_THAT(PropagateCounted(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(evaluations, 1);
}

template <typename A, typename B>
absl::Status FailsWith(absl::StatusCode code) {
  return absl::Status(code, "two template arguments");
}

absl::Status PropagateTemplateCall(absl::StatusCode code) {
  // The template's comma would split a one-argument macro's argument.
  MN_RETURN_IF_ERROR(FailsWith<int, std::string>(code));
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorTakesACommaInItsExpression) {
  EXPECT_THAT(PropagateTemplateCall(absl::StatusCode::kOk), IsOk());
  EXPECT_THAT(PropagateTemplateCall(absl::StatusCode::kAborted),
              StatusIs(absl::StatusCode::kAborted));
}

TEST(StatusMacrosTest, AssignOrReturnAssignsTheValue) {
  EXPECT_THAT(Doubled(21), IsOkAndHolds(42));
  EXPECT_THAT(DoubledIntoExisting(5), IsOkAndHolds(10));
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheError) {
  EXPECT_THAT(Doubled(-1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DoubledIntoExisting(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusMatchersTest, MatchersRejectWhatTheyShould) {
  EXPECT_THAT(absl::InternalError("x"), Not(IsOk()));
  EXPECT_THAT(absl::OkStatus(), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(absl::NotFoundError("gone"),
              Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("here"))));
  EXPECT_THAT(absl::StatusOr<int>(7), Not(IsOkAndHolds(8)));
  EXPECT_THAT(absl::StatusOr<int>(absl::UnknownError("u")),
              Not(IsOkAndHolds(::testing::_)));
  EXPECT_THAT(absl::StatusOr<std::string>("abc"), IsOkAndHolds(HasSubstr("b")));
}

}  // namespace
}  // namespace micro_nats
