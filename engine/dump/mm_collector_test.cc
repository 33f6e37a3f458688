#include "engine/dump/mm_collector.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

namespace stasis::dump {
namespace {

proc::MapsEntry Entry(std::string_view smaps) {
  auto r = proc::ParseSmaps(smaps);
  EXPECT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->size(), 1u);
  return r->front();
}

TEST(VmaFromSmaps, Stack) {
  auto v = VmaFromSmaps(Entry("7ffde8daa000-7ffde8dcb000 rw-p 00000000 00:00 0                          [stack]\n"
                              "VmFlags: rd wr mr mw me gd ac \n"));
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->kind(), img::VMA_ANON_PRIVATE);
  EXPECT_EQ(v->prot(), static_cast<uint32_t>(PROT_READ | PROT_WRITE));
  EXPECT_EQ(v->flags(), static_cast<uint32_t>(MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN));
  EXPECT_EQ(v->name(), "[stack]");
  EXPECT_EQ(v->path(), "");
  EXPECT_TRUE(v->may_write());
}

TEST(VmaFromSmaps, FilePrivateWithAdvice) {
  auto v = VmaFromSmaps(Entry("7f445a692000-7f445a7e8000 r-xp 00026000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
                              "VmFlags: rd ex mr me dc dd rr \n"));
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->kind(), img::VMA_FILE_PRIVATE);
  EXPECT_EQ(v->path(), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(v->pgoff(), 0x26000u);
  EXPECT_EQ(v->inode(), 332835u);
  EXPECT_EQ(v->flags(), static_cast<uint32_t>(MAP_PRIVATE));
  EXPECT_EQ(v->advice(), static_cast<uint32_t>(img::ADV_DONTFORK | img::ADV_DONTDUMP | img::ADV_RANDOM));
  EXPECT_FALSE(v->may_write());
}

TEST(VmaFromSmaps, SharedAnonAndSharedFile) {
  auto anon = VmaFromSmaps(Entry("7f445a870000-7f445a871000 rw-s 00000000 00:01 1055                       /dev/zero (deleted)\n"
                                 "VmFlags: rd wr sh mr mw me ms \n"));
  ASSERT_TRUE(anon.ok()) << anon.error().message();
  EXPECT_EQ(anon->kind(), img::VMA_ANON_SHARED);
  EXPECT_EQ(anon->flags(), static_cast<uint32_t>(MAP_SHARED | MAP_ANONYMOUS));
  EXPECT_EQ(anon->inode(), 1055u);
  auto file = VmaFromSmaps(Entry("7f445a854000-7f445a85b000 r--s 00000000 fe:00 332280                     /usr/lib/gconv.cache\n"
                                 "VmFlags: rd sh mr me ms \n"));
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->kind(), img::VMA_FILE_SHARED);
  EXPECT_EQ(file->flags(), static_cast<uint32_t>(MAP_SHARED));
}

TEST(VmaFromSmaps, SystemMappings) {
  struct { const char* line; img::VmaKind kind; } cases[] = {
      {"7f445a85e000-7f445a862000 r--p 00000000 00:00 0                          [vvar]\nVmFlags: rd mr pf io de dd \n", img::VMA_VVAR},
      {"7f445a862000-7f445a864000 r--p 00000000 00:00 0                          [vvar_vclock]\nVmFlags: rd mr pf io de dd \n", img::VMA_VVAR_VCLOCK},
      {"7f445a864000-7f445a866000 r-xp 00000000 00:00 0                          [vdso]\nVmFlags: rd ex mr mw me de \n", img::VMA_VDSO},
      {"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\nVmFlags: ex \n", img::VMA_VSYSCALL},
  };
  for (const auto& c : cases) {
    auto v = VmaFromSmaps(Entry(c.line));
    ASSERT_TRUE(v.ok()) << c.line << v.error().message();
    EXPECT_EQ(v->kind(), c.kind) << c.line;
  }
}

TEST(VmaFromSmaps, RefusesWhatCannotBeRestored) {
  const char* cases[] = {
      "1000-2000 rw-s 00000000 00:01 7   /memfd:x (deleted)\nVmFlags: rd wr sh \n",
      "1000-2000 r--p 00000000 fe:00 7   /tmp/gone (deleted)\nVmFlags: rd \n",
      "1000-2000 rw-p 00000000 00:00 0   [uprobes]\nVmFlags: rd \n",
      "1000-2000 rw-s 00000000 00:05 9   /dev/fb0\nVmFlags: rd wr sh io pf \n",
      "1000-2000 rw-p 00000000 00:00 0 \nVmFlags: rd wr ss \n",
      "1000-2000 rw-p 00000000 00:00 0 \nVmFlags: rd wr sl \n",
      "1000-2000 rw-p 00000000 00:00 0 \nVmFlags: rd wr ht \n",
  };
  for (const char* c : cases) {
    auto v = VmaFromSmaps(Entry(c));
    EXPECT_FALSE(v.ok()) << c;
    if (!v.ok()) { EXPECT_NE(v.error().message().find("VMA 1000-2000"), std::string::npos) << v.error().message(); }
  }
}

TEST(VmaFromSmaps, AttachedSysvShmIsItsSegment) {
  auto v = VmaFromSmaps(Entry("1000-3000 rw-s 00000000 00:01 98311   /SYSV5a5a0001 (deleted)\nVmFlags: rd wr sh mr mw me ms \n"));
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->kind(), img::VMA_SYSV_SHM);
  EXPECT_EQ(v->inode(), 98311u) << "the shmid, which shmat takes at restore";
  EXPECT_EQ(v->prot(), static_cast<uint32_t>(PROT_READ | PROT_WRITE));
}

}  // namespace
}  // namespace stasis::dump
