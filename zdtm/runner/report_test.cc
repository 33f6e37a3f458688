#include "zdtm/runner/report.h"

#include <gtest/gtest.h>

namespace zdtm::runner {
namespace {

TEST(XmlEscape, EscapesMarkupAndControlCharacters) {
  EXPECT_EQ(XmlEscape("a<b>&\"c\"\n\td"), "a&lt;b&gt;&amp;&quot;c&quot;\n\td");
  EXPECT_EQ(XmlEscape(std::string("x\x01y", 3)), "x?y");
}

TEST(XmlEscape, KeepsUtf8AndSpellsOutOtherBytes) {
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // A path that is bytes, not text (zdtm's cwd01 makes such names): valid XML either way.
  EXPECT_EQ(XmlEscape("caf\xe9/data\xff\xfe.bin"), "caf\\xe9/data\\xff\\xfe.bin");
  EXPECT_EQ(XmlEscape("\xc3"), "\\xc3");                  // truncated sequence
  EXPECT_EQ(XmlEscape("\xc0\xaf"), "\\xc0\\xaf");         // overlong '/'
  EXPECT_EQ(XmlEscape("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate
}

}  // namespace
}  // namespace zdtm::runner
