#include "engine/proc/fdinfo.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace stasis::proc {
namespace {

TEST(ParseFdInfo, RegularFile) {
  auto r = ParseFdInfo("pos:\t4096\nflags:\t02102002\nmnt_id:\t24\nino:\t1234567\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->pos, 4096u);
  EXPECT_EQ(r->flags, 02102002u);
  EXPECT_TRUE(r->cloexec());
  EXPECT_EQ(r->flags & O_ACCMODE, static_cast<uint32_t>(O_RDWR));
  EXPECT_TRUE(r->flags & O_APPEND);
  EXPECT_EQ(r->mnt_id, 24u);
  ASSERT_TRUE(r->inode.has_value());
  EXPECT_EQ(*r->inode, 1234567u);
}

TEST(ParseFdInfo, TypeSpecificLinesAndOldKernelWithoutIno) {
  auto r = ParseFdInfo("pos:\t0\nflags:\t04002\nmnt_id:\t15\neventfd-count:                0\n"
                       "tfd:        5 events:       19 data:                5  pos:0 ino:1f sdev:8\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->cloexec());
  EXPECT_FALSE(r->inode.has_value());
}

TEST(ParseFdInfo, RejectsMalformed) {
  const char* bad[] = {
      "",
      "flags:\t02\nmnt_id:\t1\n",                       // no pos
      "pos:\t0\nmnt_id:\t1\n",                          // no flags
      "pos:\t0\nflags:\t02\n",                          // no mnt_id
      "pos:\t-1\nflags:\t02\nmnt_id:\t1\n",
      "pos:\t0\nflags:\t09\nmnt_id:\t1\n",              // not octal
      "pos:\t0\nflags:\t0777777777777\nmnt_id:\t1\n",   // > 32 bits
      "pos:\t0\nflags:\t02\nmnt_id:\tx\n",
      "pos:\t0\nflags:\t02\nmnt_id:\t1\nino:\t\n",
      "pos:\t0\npos:\t1\nflags:\t02\nmnt_id:\t1\n",
  };
  for (const char* b : bad) EXPECT_FALSE(ParseFdInfo(b).ok()) << b;
}

}  // namespace
}  // namespace stasis::proc
