// Copyright 2026 The micro-nats Authors.

#include "message/message.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status/status_matchers.h"

namespace micro_nats {
namespace {

using ::micro_nats::testing::IsOk;
using ::micro_nats::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MessageTest, TokenHeaderNamesAreValid) {
  for (const char* name :
       {"Micro-Service", "Content-Type", "X_1", "a.b", "!#$%&'*+-.^_`|~"}) {
    EXPECT_THAT(ValidateHeaderName(name), IsOk()) << name;
  }
}

TEST(MessageTest, NamesThatWouldBreakTheWireAreRefused) {
  for (const std::string& name :
       {std::string(""), std::string("A:B"), std::string("has space"),
        std::string("tab\there"), std::string("X\r\nInjected: yes"),
        std::string("line\nbreak"), std::string("nul\0byte", 8),
        std::string("caf\xc3\xa9"), std::string("(comment)")}) {
    EXPECT_THAT(ValidateHeaderName(name),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
}

TEST(MessageTest, ValuesWithLineBreaksOrNulAreRefused) {
  EXPECT_THAT(ValidateHeaderValue("A", "plain value: with colon"), IsOk());
  EXPECT_THAT(ValidateHeaderValue("A", ""), IsOk());
  for (const std::string& value :
       {std::string("x\r\nInjected: yes"), std::string("x\ny"),
        std::string("x\ry"), std::string("x\0y", 3)}) {
    EXPECT_THAT(
        ValidateHeaderValue("A", value),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line break")));
  }
}

TEST(MessageTest, ValidateHeadersChecksEveryHeader) {
  EXPECT_THAT(ValidateHeaders({{"A", "1"}, {"B", "2"}}), IsOk());
  EXPECT_THAT(
      ValidateHeaders({{"A", "1"}, {"B\r\nC", "2"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("B\\r\\nC")));
}

TEST(MessageTest, SizeCountsBodyAndHeaderLines) {
  EXPECT_EQ(MessageSize({.headers = {{"ab", "cd"}}, .body = "12345"}),
            5u + 2 + 2 + 4);
}

TEST(MessageTest, ControlCharactersInValuesAreRefused) {
  EXPECT_THAT(ValidateHeaderValue("A", "tab\tis fine"), IsOk());
  for (const char* bad : {"\v", " \f ", "esc\x1b[2J", "del\x7f"}) {
    EXPECT_THAT(ValidateHeaderValue("A", bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("control character")))
        << bad;
  }
}

TEST(MessageTest, ALineBreakIsNamedBeforeAnEarlierControlCharacter) {
  // The check is one pass; which error it names is as before.
  EXPECT_THAT(
      ValidateHeaderValue("A", "\x1b then \r\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line break")));
  EXPECT_THAT(
      ValidateHeaderValue("A", std::string("\x7f\0", 2)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line break")));
  EXPECT_THAT(ValidateHeaderValue("A", "caf\xc3\xa9 ok"), IsOk());
}

TEST(MessageTest, EveryByteOfANameIsChecked) {
  for (int c = 0; c < 256; ++c) {
    const std::string name = std::string("Ok") + static_cast<char>(c) + "ok";
    const bool token =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') ||
        absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
            absl::string_view::npos;
    EXPECT_EQ(ValidateHeaderName(name).ok(), token) << c;
  }
}

TEST(MessageTest, EveryByteOfAValueIsCheckedWherever) {
  // Values are checked eight bytes at a time: each byte, at each place in
  // a word and in the tail, beside bytes of every kind.
  for (const char fill : {'a', '\t', '\x80', '\xff', ' '}) {
    for (int c = 0; c < 256; ++c) {
      for (size_t at : {0, 3, 7, 8, 15, 16, 19}) {
        std::string value(20, fill);
        value[at] = static_cast<char>(c);
        const bool bad = (c < 0x20 && c != '\t') || c == 0x7f;
        EXPECT_EQ(ValidateHeaderValue("A", value).ok(), !bad)
            << "byte " << c << " at " << at << " among " << int{fill};
      }
    }
  }
}

TEST(MessageTest, WireHeadersAreWhatNatsDelivers) {
  EXPECT_FALSE(HeadersChangeOnTheWire({{"A", "1"}, {"B", "x y"}}));
  EXPECT_TRUE(HeadersChangeOnTheWire({{"A", ""}}));
  EXPECT_TRUE(HeadersChangeOnTheWire({{"A", " 1"}}));
  EXPECT_TRUE(HeadersChangeOnTheWire({{"A", "1\t"}}));
  EXPECT_EQ(WireHeaders({{"A", ""}, {"B", " 2 "}, {"C", " \t"}, {"D", "x y"}}),
            (Headers{{"B", "2"}, {"D", "x y"}}));
}

}  // namespace
}  // namespace micro_nats
