#include "engine/common/printable.h"

#include <gtest/gtest.h>

namespace stasis {
namespace {

TEST(Printable, EscapesControlAndHighBytes) {
  EXPECT_EQ(Printable("core-1.img"), "core-1.img");
  EXPECT_EQ(Printable(std::string("a\nb\x01\xe9", 5)), "a\\x0ab\\x01\\xe9");
  EXPECT_EQ(Printable("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace stasis
