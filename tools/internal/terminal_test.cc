// Copyright 2026 The micro-nats Authors.

#include "tools/internal/terminal.h"

#include <string>

#include "gtest/gtest.h"

namespace micro_nats::tools_internal {
namespace {

TEST(TerminalSafeTest, KeepsPrintableAsciiAndUtf8) {
  EXPECT_EQ(TerminalSafe("greeter-1 v1.0.0 {\"a\":1}"),
            "greeter-1 v1.0.0 {\"a\":1}");
  EXPECT_EQ(TerminalSafe("Grüße, 世界 🙂"), "Grüße, 世界 🙂");
  EXPECT_EQ(TerminalSafe(""), "");
}

TEST(TerminalSafeTest, EscapesControlCharacters) {
  // A title change (OSC), a colour (CSI) and a cursor move.
  EXPECT_EQ(TerminalSafe("\x1b]0;pwned\x07id"), "\\x1b]0;pwned\\x07id");
  EXPECT_EQ(TerminalSafe("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(TerminalSafe("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(TerminalSafe(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(TerminalSafe("\x7f"), "\\x7f");
}

TEST(TerminalSafeTest, EscapesC1ControlsAndInvalidUtf8) {
  EXPECT_EQ(TerminalSafe("\xc2\x9b"
                         "31m"),
            "\\u009b31m");  // UTF-8 CSI
  EXPECT_EQ(TerminalSafe("\x9b"
                         "31m"),
            "\\x9b31m");                                       // raw 8-bit CSI
  EXPECT_EQ(TerminalSafe("\xc3"), "\\xc3");                    // truncated
  EXPECT_EQ(TerminalSafe("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

}  // namespace
}  // namespace micro_nats::tools_internal
