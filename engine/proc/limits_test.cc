#include "engine/proc/limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "engine/common/fd.h"

namespace stasis::proc {
namespace {

constexpr char kSample[] =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max file size             unlimited            unlimited            bytes     \n"
    "Max data size             unlimited            unlimited            bytes     \n"
    "Max stack size            8388608              unlimited            bytes     \n"
    "Max core file size        0                    unlimited            bytes     \n"
    "Max resident set          unlimited            unlimited            bytes     \n"
    "Max processes             95426                95426                processes \n"
    "Max open files            1024                 20000                files     \n";

TEST(ParseLimits, ReadsValuesByPosition) {
  auto l = ParseLimits(kSample);
  ASSERT_TRUE(l.ok()) << l.error().message();
  ASSERT_EQ(l->size(), 8u);
  EXPECT_EQ((*l)[RLIMIT_STACK].soft, 8388608u);
  EXPECT_EQ((*l)[RLIMIT_STACK].hard, ~0ull);
  EXPECT_EQ((*l)[RLIMIT_NOFILE].resource, static_cast<uint32_t>(RLIMIT_NOFILE));
  EXPECT_EQ((*l)[RLIMIT_NOFILE].soft, 1024u);
  EXPECT_EQ((*l)[RLIMIT_NOFILE].hard, 20000u);
}

TEST(ParseLimits, MatchesGetrlimitOnThisProcess) {
  auto text = ReadFileToString("/proc/self/limits");
  ASSERT_TRUE(text.ok());
  auto l = ParseLimits(*text);
  ASSERT_TRUE(l.ok()) << l.error().message();
  ASSERT_GE(l->size(), static_cast<size_t>(RLIM_NLIMITS));
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    rlimit mine{};
    getrlimit(r, &mine);
    EXPECT_EQ((*l)[r].soft, mine.rlim_cur) << r;
    EXPECT_EQ((*l)[r].hard, mine.rlim_max) << r;
  }
}

TEST(ParseLimits, RejectsMalformed) {
  EXPECT_FALSE(ParseLimits("").ok());
  EXPECT_FALSE(ParseLimits("garbage\n").ok());
  EXPECT_FALSE(ParseLimits("Limit  Soft\nMax cpu time              lots                 unlimited\n").ok());
  EXPECT_FALSE(ParseLimits("Limit  Soft\nshort\n").ok());
}

}  // namespace
}  // namespace stasis::proc
