#include "engine/proc/maps.h"

#include <gtest/gtest.h>

namespace stasis::proc {
namespace {

// From a real `sleep` on Linux 6.18 (trimmed).
constexpr std::string_view kMaps =
    "55a5ae547000-55a5ae549000 r--p 00000000 fe:00 248056                     /usr/bin/sleep\n"
    "55a5ae551000-55a5ae552000 rw-p 0000a000 fe:00 248056                     /usr/bin/sleep\n"
    "55a5cab53000-55a5cab74000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f445a669000-7f445a66c000 rw-p 00000000 00:00 0 \n"
    "7f445a854000-7f445a85b000 r--s 00000000 fe:00 332280                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n"
    "7f445a85e000-7f445a862000 r--p 00000000 00:00 0                          [vvar]\n"
    "7f445a862000-7f445a864000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
    "7f445a864000-7f445a866000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7f445a870000-7f445a871000 rw-s 00000000 00:01 1055                       /dev/zero (deleted)\n"
    "7f445a872000-7f445a873000 rw-p 00000000 fe:00 99                         /tmp/with space (deleted)\n"
    "7f445a874000-7f445a875000 r--p 00000000 fe:00 98                         /tmp/  leading\n"
    "7ffde8daa000-7ffde8dcb000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

TEST(ParseMaps, RealSample) {
  auto r = ParseMaps(kMaps);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& v = *r;
  ASSERT_EQ(v.size(), 13u);
  EXPECT_EQ(v[0].start, 0x55a5ae547000u);
  EXPECT_EQ(v[0].end, 0x55a5ae549000u);
  EXPECT_TRUE(v[0].readable);
  EXPECT_FALSE(v[0].writable);
  EXPECT_FALSE(v[0].shared);
  EXPECT_EQ(v[0].dev_major, 0xfeu);
  EXPECT_EQ(v[0].inode, 248056u);
  EXPECT_EQ(v[0].path, "/usr/bin/sleep");
  EXPECT_EQ(v[1].offset, 0xa000u);
  EXPECT_EQ(v[2].path, "[heap]");
  EXPECT_EQ(v[3].path, "");
  EXPECT_TRUE(v[4].shared);
  EXPECT_EQ(v[4].path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
  EXPECT_EQ(v[6].path, "[vvar_vclock]");
  EXPECT_TRUE(v[7].executable);
  EXPECT_EQ(v[8].path, "/dev/zero (deleted)");
  EXPECT_TRUE(v[8].deleted());
  EXPECT_EQ(v[8].PathWithoutDeleted(), "/dev/zero");
  EXPECT_EQ(v[8].dev_minor, 1u);
  EXPECT_EQ(v[9].PathWithoutDeleted(), "/tmp/with space");
  EXPECT_EQ(v[10].path, "/tmp/  leading");   // blanks at the start of a name survive
  EXPECT_FALSE(v[10].deleted());
  EXPECT_EQ(v[12].start, 0xffffffffff600000u);
  EXPECT_EQ(v[12].path, "[vsyscall]");
  EXPECT_FALSE(v[0].has_smaps);
}

TEST(ParseMaps, LooseSpacingFallsBackToBlanks) {
  auto r = ParseMaps("1000-2000 rw-p 00000000 08:01 12 /bin/x\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)[0].path, "/bin/x");
  EXPECT_EQ((*r)[0].dev_major, 8u);
}

TEST(ParseMaps, EmptyIsNoVmas) {
  auto r = ParseMaps("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseMaps, RejectsMalformed) {
  const char* bad[] = {
      "1000 rw-p 00000000 00:00 0\n",                 // no range
      "2000-1000 rw-p 00000000 00:00 0\n",            // inverted
      "1000-1000 rw-p 00000000 00:00 0\n",            // empty
      "1001-2000 rw-p 00000000 00:00 0\n",            // unaligned
      "1000-2000 rwxq 00000000 00:00 0\n",            // perms
      "1000-2000 rw- 00000000 00:00 0\n",             // perms length
      "1000-2000 rw-p zz 00:00 0\n",                  // offset
      "1000-2000 rw-p 00000000 0000 0\n",             // device
      "1000-2000 rw-p 00000000 00:00 x\n",            // inode
      "1000-2000 rw-p 00000000 00:00\n",              // missing inode
      "1000-3000 rw-p 0 00:00 0\n2000-4000 rw-p 0 00:00 0\n",   // overlap
      "1000-2000 rw-p 0 00:00 0\n\n",                 // empty line
      "10000000000000000-10000000000001000 rw-p 0 00:00 0\n",  // overflow
  };
  for (const char* b : bad) EXPECT_FALSE(ParseMaps(b).ok()) << b;
}

constexpr std::string_view kSmaps =
    "55a5cab53000-55a5cab74000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "KernelPageSize:        4 kB\n"
    "Rss:                   8 kB\n"
    "Anonymous:             8 kB\n"
    "Swap:                  4 kB\n"
    "THPeligible:           0\n"
    "VmFlags: rd wr mr mw me ac sd \n"
    "7ffde8daa000-7ffde8dcb000 rw-p 00000000 00:00 0                          [stack]\n"
    "Size:                132 kB\n"
    "Rss:                  12 kB\n"
    "VmFlags: rd wr mr mw me gd ac dd \n";

TEST(ParseSmaps, RealSample) {
  auto r = ParseSmaps(kSmaps);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  const auto& heap = (*r)[0];
  EXPECT_TRUE(heap.has_smaps);
  EXPECT_EQ(heap.rss_kb, 8u);
  EXPECT_EQ(heap.anonymous_kb, 8u);
  EXPECT_EQ(heap.swap_kb, 4u);
  EXPECT_TRUE(heap.HasVmFlag("mw"));
  EXPECT_FALSE(heap.HasVmFlag("gd"));
  const auto& stack = (*r)[1];
  EXPECT_TRUE(stack.HasVmFlag("gd"));
  EXPECT_TRUE(stack.HasVmFlag("dd"));
  EXPECT_EQ(stack.vm_flags.size(), 8u);
}

TEST(ParseSmaps, RejectsMalformed) {
  const char* bad[] = {
      "Rss: 4 kB\n",                                                      // key before a VMA
      "1000-2000 rw-p 0 00:00 0\nRss: 4 kB\n",                            // no VmFlags
      "1000-2000 rw-p 0 00:00 0\n2000-3000 rw-p 0 00:00 0\nVmFlags: rd\n", // first lacks VmFlags
      "1000-2000 rw-p 0 00:00 0\nRss: four kB\nVmFlags: rd\n",            // bad number
      "1000-2000 rw-p 0 00:00 0\nRss: 4 MB\nVmFlags: rd\n",               // bad unit
      "1000-2000 rw-p 0 00:00 0\nVmFlags: rd wrx\n",                      // bad mnemonic
      "1000-2000 rw-p 0 00:00 0\nVmFlags: rd\nVmFlags: rd\n",             // twice
  };
  for (const char* b : bad) EXPECT_FALSE(ParseSmaps(b).ok()) << b;
}

}  // namespace
}  // namespace stasis::proc
