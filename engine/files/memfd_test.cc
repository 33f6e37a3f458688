// memfd on real objects: name, size, sparse contents, seals, mode, position, and two open file
// descriptions of one memfd staying one inode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <climits>

#include "engine/files/files_test_util.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

std::string Link(int fd) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string ReadAt(int fd, size_t len, off_t off) {
  std::string s(len, '\0');
  ssize_t n = ::pread(fd, s.data(), len, off);
  s.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return s;
}

TEST(MemfdKind, SparseContentsSealsAndSharingSurvive) {
  UniqueFd m(::memfd_create("my name", MFD_ALLOW_SEALING | MFD_CLOEXEC));
  ASSERT_TRUE(m.valid());
  const uint64_t size = 5u << 20;
  ASSERT_EQ(::ftruncate(m.get(), size), 0);
  std::string head(3000, 'h'), far(2 * 4096 + 5, 'f');
  ASSERT_EQ(::pwrite(m.get(), head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  ASSERT_EQ(::pwrite(m.get(), far.data(), far.size(), 3u << 20), static_cast<ssize_t>(far.size()));
  ASSERT_EQ(::lseek(m.get(), 123, SEEK_SET), 123);
  // A second open file description of the same inode, read-only and appending its own way.
  UniqueFd ro(::open(("/proc/self/fd/" + std::to_string(m.get())).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ro.valid());
  ASSERT_EQ(::lseek(ro.get(), 4000, SEEK_SET), 4000);
  ASSERT_EQ(::fcntl(m.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);

  auto dumped = DumpFds({m.get(), ro.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  // Only the pages with data were stored, once for both descriptions.
  ASSERT_EQ(dumped->object_images.count("memfd-data.img"), 1u);
  EXPECT_LT(dumped->object_images["memfd-data.img"].size(), 64u << 10);
  m.reset();
  ro.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int rm = (*fds)[0].get(), rro = (*fds)[1].get();
  EXPECT_EQ(Link(rm), "/memfd:my name (deleted)");
  struct stat a {}, b {};
  ASSERT_EQ(::fstat(rm, &a), 0);
  ASSERT_EQ(::fstat(rro, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "both descriptions are one memfd";
  EXPECT_EQ(static_cast<uint64_t>(a.st_size), size);
  EXPECT_EQ(a.st_mode & 07777, 0777u);
  EXPECT_EQ(::fcntl(rm, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_EQ(::lseek(rm, 0, SEEK_CUR), 123);
  EXPECT_EQ(::lseek(rro, 0, SEEK_CUR), 4000);
  EXPECT_EQ(testing::StatusFlags(rm) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(testing::StatusFlags(rro) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(ReadAt(rm, head.size(), 0), head);
  EXPECT_EQ(ReadAt(rm, far.size(), 3u << 20), far);
  EXPECT_EQ(ReadAt(rm, 10, 1u << 20), std::string(10, '\0'));
  ASSERT_EQ(::pwrite(rm, "Z", 1, 0), 1);
  EXPECT_EQ(ReadAt(rro, 1, 0), "Z");
}

TEST(MemfdKind, UnsealableAndNoexecMemfdsKeepTheirSeals) {
  UniqueFd plain(::memfd_create("plain", MFD_CLOEXEC));
  UniqueFd noexec(::memfd_create("noexec", MFD_CLOEXEC | MFD_NOEXEC_SEAL));
  ASSERT_TRUE(plain.valid());
  if (!noexec.valid()) GTEST_SKIP() << "MFD_NOEXEC_SEAL needs Linux 6.3";
  auto dumped = DumpFds({plain.get(), noexec.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_TRUE(dumped->object_images.empty()) << "empty memfds store no contents";
  plain.reset();
  noexec.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(::fcntl((*fds)[0].get(), F_GET_SEALS), F_SEAL_SEAL);
  EXPECT_EQ(::fcntl((*fds)[0].get(), F_ADD_SEALS, F_SEAL_WRITE), -1) << "still unsealable";
  EXPECT_EQ(::fcntl((*fds)[1].get(), F_GET_SEALS), F_SEAL_EXEC);
  struct stat st {};
  ASSERT_EQ(::fstat((*fds)[1].get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
}

TEST(MemfdKind, UnalignedTailPageIsKept) {
  UniqueFd m(::memfd_create("tail", MFD_CLOEXEC));
  ASSERT_EQ(::ftruncate(m.get(), 10000), 0);
  ASSERT_EQ(::pwrite(m.get(), "q", 1, 9999), 1);
  ASSERT_EQ(::pwrite(m.get(), "p", 1, 0), 1);
  auto dumped = DumpFds({m.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  m.reset();
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  std::string want(10000, '\0');
  want[0] = 'p';
  want[9999] = 'q';
  EXPECT_EQ(ReadAt((*fds)[0].get(), 20000, 0), want);
}

TEST(MemfdKind, ContentsPastTheSizeAreRefused) {
  img::FileEntry e;
  e.mutable_memfd()->set_name("x");
  e.mutable_memfd()->set_dev(1);
  e.mutable_memfd()->set_inode(9);
  e.mutable_memfd()->set_size(4);
  e.mutable_memfd()->set_flags(O_RDWR);
  img::ObjectData d;
  d.set_dev(1);
  d.set_inode(9);
  d.set_offset(2);
  d.set_data("abc");
  auto store = ObjectStore::Parse(
      {{"memfd-data.img", images::EncodeMessageImage(images::ImageKind::kMemfdData, {d.SerializeAsString()})}});
  ASSERT_TRUE(store.ok()) << store.error().message();
  auto st = FindKindFor(e)->Validate(e, *store);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "memfd:x: contents run past its size 4");
  e.mutable_memfd()->set_size(5);
  EXPECT_TRUE(FindKindFor(e)->Validate(e, *store).ok());
  e.mutable_memfd()->set_seals(0x40);
  EXPECT_EQ(FindKindFor(e)->Validate(e, *store).error().message(), "memfd:x seals: unknown flags 0x40");
}

}  // namespace
}  // namespace stasis::files
