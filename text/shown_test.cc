// Copyright 2026 The micro-nats Authors.

#include "text/shown.h"

#include <string>

#include "gtest/gtest.h"

namespace micro_nats {
namespace {

TEST(ShownInErrorTest, EscapesControlsAndQuotes) {
  EXPECT_EQ(ShownInError(absl::string_view("a\r\n'\0b", 6)),
            "a\\r\\n\\'\\000b");
}

TEST(ShownInErrorTest, CutsLongTextAndSaysSo) {
  EXPECT_EQ(ShownInError(std::string(64, 'x')), std::string(64, 'x'));
  EXPECT_EQ(ShownInError(std::string(65, 'x')), std::string(64, 'x') + "...");
}

}  // namespace
}  // namespace micro_nats
