// Copyright 2026 The micro-nats Authors.

#include "nats/status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats::nats {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(NatsStatusTest, OkIsOk) {
  EXPECT_THAT(FromNatsStatus(NATS_OK, "anything"), IsOk());
}

TEST(NatsStatusTest, UnreachableIsUnavailable) {
  for (natsStatus s : {NATS_NO_SERVER, NATS_CONNECTION_CLOSED, NATS_IO_ERROR,
                       NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED,
                       NATS_STALE_CONNECTION, NATS_NOT_YET_CONNECTED}) {
    EXPECT_EQ(ToStatusCode(s), absl::StatusCode::kUnavailable)
        << natsStatus_GetText(s);
  }
}

TEST(NatsStatusTest, BadInputIsInvalidArgument) {
  for (natsStatus s : {NATS_INVALID_SUBJECT, NATS_INVALID_ARG, NATS_MAX_PAYLOAD,
                       NATS_INVALID_QUEUE_NAME}) {
    EXPECT_EQ(ToStatusCode(s), absl::StatusCode::kInvalidArgument)
        << natsStatus_GetText(s);
  }
}

TEST(NatsStatusTest, OtherCodes) {
  EXPECT_EQ(ToStatusCode(NATS_TIMEOUT), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ToStatusCode(NATS_SLOW_CONSUMER),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ToStatusCode(NATS_CONNECTION_AUTH_FAILED),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ToStatusCode(NATS_NOT_PERMITTED),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ToStatusCode(NATS_NOT_FOUND), absl::StatusCode::kNotFound);
  EXPECT_EQ(ToStatusCode(NATS_ILLEGAL_STATE),
            absl::StatusCode::kFailedPrecondition);
}

TEST(NatsStatusTest, MessageCarriesContextAndNatsText) {
  EXPECT_THAT(FromNatsStatus(NATS_TIMEOUT, "request to greeter"),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("request to greeter"),
                             HasSubstr(natsStatus_GetText(NATS_TIMEOUT)))));
}

}  // namespace
}  // namespace micro_nats::nats
