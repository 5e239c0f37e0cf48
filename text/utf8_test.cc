// Copyright 2026 The micro-nats Authors.

#include "text/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace micro_nats {
namespace {

TEST(Utf8Test, ReadsWellFormedSequences) {
  uint32_t code = 0;
  EXPECT_EQ(Utf8SequenceAt("a", 0, &code), 1u);
  EXPECT_EQ(code, 0x61u);
  EXPECT_EQ(Utf8SequenceAt("\xc3\xbc", 0, &code), 2u);
  EXPECT_EQ(code, 0xFCu);
  EXPECT_EQ(Utf8SequenceAt("\xe4\xb8\x96", 0, &code), 3u);
  EXPECT_EQ(Utf8SequenceAt("\xf0\x9f\x99\x82", 0, &code), 4u);
  EXPECT_EQ(code, 0x1F642u);
  EXPECT_TRUE(IsValidUtf8("Grüße, 世界 🙂"));
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(Utf8Test, RefusesMalformedSequences) {
  uint32_t code = 0;
  for (const char* bad :
       {"\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3\x28"}) {
    EXPECT_EQ(Utf8SequenceAt(bad, 0, &code), 0u) << bad;
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
  EXPECT_FALSE(IsValidUtf8("ok\xff"));
}

}  // namespace
}  // namespace micro_nats
