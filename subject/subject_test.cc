// Copyright 2026 The micro-nats Authors.

#include "subject/subject.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(SubjectTest, ValidConcreteSubjects) {
  for (const char* s :
       {"a", "a.b.c", "_INBOX.abc123", "orders-v1.created", "$SRV.PING"}) {
    EXPECT_THAT(ValidateSubject(s, SubjectKind::kConcrete), IsOk()) << s;
  }
}

TEST(SubjectTest, InvalidSubjects) {
  for (const char* s :
       {"", "a b", "a..b", ".a", "a.", "a\tb", "a*", "*a", "a.b>", "a.>.b"}) {
    EXPECT_THAT(ValidateSubject(s, SubjectKind::kPattern),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "'" << s << "'";
  }
  EXPECT_THAT(ValidateSubject(std::string(256, 'a'), SubjectKind::kConcrete),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("longer than 255")));
}

TEST(SubjectTest, WildcardsOnlyInPatterns) {
  EXPECT_THAT(ValidateSubject("a.*", SubjectKind::kPattern), IsOk());
  EXPECT_THAT(ValidateSubject("a.>", SubjectKind::kPattern), IsOk());
  EXPECT_THAT(ValidateSubject(">", SubjectKind::kPattern), IsOk());
  EXPECT_THAT(
      ValidateSubject("a.*", SubjectKind::kConcrete, "transport address"),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("transport address 'a.*'"), HasSubstr("wildcards"))));
}

TEST(SubjectTest, Matching) {
  EXPECT_TRUE(SubjectMatches("a.b", "a.b"));
  EXPECT_FALSE(SubjectMatches("a.b", "a.b.c"));
  EXPECT_TRUE(SubjectMatches("a.*", "a.b"));
  EXPECT_FALSE(SubjectMatches("a.*", "a"));
  EXPECT_TRUE(SubjectMatches("a.>", "a.b.c"));
  EXPECT_FALSE(SubjectMatches("a.>", "a"));
  EXPECT_TRUE(SubjectMatches(">", "a"));
  EXPECT_TRUE(SubjectMatches("*.b.>", "x.b.y"));
  EXPECT_FALSE(SubjectMatches("*.b.>", "x.c.y"));
}

}  // namespace
}  // namespace micro_nats
