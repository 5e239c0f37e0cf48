// Copyright 2026 The micro-nats Authors.

#include "service/errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::service {
namespace {

using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ErrorsTest, EveryMappedCodeSurvivesTheRoundTrip) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kUnauthenticated,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kNotFound,
        absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kAlreadyExists,
        absl::StatusCode::kFailedPrecondition,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kCancelled,
        absl::StatusCode::kInternal, absl::StatusCode::kUnimplemented,
        absl::StatusCode::kUnavailable}) {
    const absl::Status status(code, "why");
    EXPECT_THAT(ErrorFromJson(ErrorToJson(status, "svc")),
                StatusIs(code, "why"))
        << status;
  }
}

TEST(ErrorsTest, WritesGoMicrosJson) {
  EXPECT_EQ(ErrorToJson(absl::NotFoundError("no such user"), "users"),
            R"({"id":"users","code":404,"detail":"no such user",)"
            R"("status":"Not Found"})");
}

TEST(ErrorsTest, ReadsGoMicrosJson) {
  // As go-micro's errors.Timeout("go.micro.client", ...) marshals it.
  EXPECT_THAT(
      ErrorFromJson(R"({"id":"go.micro.client","code":408,)"
                    R"("detail":"call timeout","status":"Request Timeout"})"),
      StatusIs(absl::StatusCode::kDeadlineExceeded, "call timeout"));
  EXPECT_THAT(ErrorFromJson(R"({"code":500,"detail":"boom","extra":1})"),
              StatusIs(absl::StatusCode::kInternal, "boom"));
}

TEST(ErrorsTest, UnmappedCodesAreInternalBothWays) {
  EXPECT_EQ(HttpCodeFor(absl::StatusCode::kDataLoss), 500);
  EXPECT_EQ(StatusCodeForHttp(418), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeForHttp(504), absl::StatusCode::kDeadlineExceeded);
}

TEST(ErrorsTest, AnythingElseInTheHeaderIsInternalWithItsText) {
  EXPECT_THAT(ErrorFromJson("plain text failure"),
              StatusIs(absl::StatusCode::kInternal, "plain text failure"));
  EXPECT_THAT(ErrorFromJson(R"({"detail":"no code"})"),
              StatusIs(absl::StatusCode::kInternal, "no code"));
}

TEST(ErrorsTest, HugeErrorsAreCut) {
  const std::string detail(100000, 'x');
  absl::Status read =
      ErrorFromJson(ErrorToJson(absl::InternalError(detail), "svc"));
  EXPECT_EQ(read.code(), absl::StatusCode::kInternal);
  EXPECT_LE(read.message().size(), kMaxErrorDetail);
  EXPECT_THAT(ErrorFromJson(std::string(100000, '{')),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("too long")));
}

TEST(ErrorsTest, TextThatIsNotUtf8OrAllControlsKeepsItsCode) {
  // protobuf wrote invalid UTF-8 into the JSON as it was, the reader could
  // not parse it, and a NotFound arrived as Internal with the raw JSON as
  // its text (found by //fuzz:service_errors_fuzzer). Control characters
  // are 6 bytes each in JSON: a full-length detail of them was refused as
  // too long to read.
  EXPECT_THAT(ErrorFromJson(ErrorToJson(
                  absl::NotFoundError("no user \xff\xfe\xe0\x9d"), "svc")),
              StatusIs(absl::StatusCode::kNotFound, "no user ????"));
  const std::string controls(kMaxErrorDetail, '\x01');
  EXPECT_THAT(ErrorFromJson(ErrorToJson(absl::NotFoundError(controls), "svc")),
              StatusIs(absl::StatusCode::kNotFound, controls));
}

}  // namespace
}  // namespace micro_nats::service
