// inotify on real watches: wd numbers, masks and watched inodes survive; no stray events; the
// parsers on malformed text.
#include "engine/files/inotify.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>

#include "engine/files/files_test_util.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

class InotifyKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stasis-inotify-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ + "/watched";
    UniqueFd f(::open(file_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_TRUE(f.valid());
  }
  void TearDown() override {
    ::unlink((dir_ + "/new").c_str());
    ::unlink((dir_ + "/renamed").c_str());
    ::unlink(file_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, file_;
};

TEST_F(InotifyKindTest, WatchesKeepTheirWdMaskAndInode) {
  UniqueFd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(in.valid());
  ASSERT_EQ(::inotify_add_watch(in.get(), dir_.c_str(), IN_CREATE | IN_DELETE), 1);
  ASSERT_EQ(::inotify_add_watch(in.get(), "/tmp", IN_ATTRIB), 2);
  ASSERT_EQ(::inotify_rm_watch(in.get(), 2), 0);   // leaves a hole: the next wd is 3
  ASSERT_EQ(::inotify_add_watch(in.get(), file_.c_str(), IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK), 3);
  char drain[4096];
  while (::read(in.get(), drain, sizeof drain) > 0) {}
  const std::string before = testing::FdinfoBody(in.get());

  auto dumped = DumpFds({in.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  in.reset();
  // Renamed since the dump: the file handle still finds it.
  ASSERT_EQ(::rename(file_.c_str(), (dir_ + "/renamed").c_str()), 0);
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int fd = (*fds)[0].get();
  // Same wds, masks, inodes and handles, in the same order.
  EXPECT_EQ(testing::FdinfoBody(fd), before);
  EXPECT_EQ(testing::StatusFlags(fd), O_RDONLY | O_NONBLOCK);
  EXPECT_EQ(::read(fd, drain, sizeof drain), -1) << "no IN_IGNORED left from stepping the wds";

  UniqueFd created(::open((dir_ + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_EQ(::write(created.get(), "x", 1), 1);
  UniqueFd mod(::open((dir_ + "/renamed").c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_EQ(::write(mod.get(), "y", 1), 1);
  ssize_t n = ::read(fd, drain, sizeof drain);
  ASSERT_GT(n, 0);
  std::vector<std::pair<int, uint32_t>> events;
  for (ssize_t off = 0; off < n;) {
    auto* ev = reinterpret_cast<struct inotify_event*>(drain + off);
    events.emplace_back(ev->wd, ev->mask);
    off += static_cast<ssize_t>(sizeof *ev + ev->len);
  }
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0], std::make_pair(1, uint32_t{IN_CREATE}));
  EXPECT_EQ(events[1], std::make_pair(3, uint32_t{IN_MODIFY}));
}

TEST_F(InotifyKindTest, WatchedInodeDeletedBeforeDumpIsRefused) {
  UniqueFd in(::inotify_init1(IN_CLOEXEC));
  UniqueFd hold(::open(file_.c_str(), O_RDONLY | O_CLOEXEC));   // keeps the inode and its watch alive
  ASSERT_EQ(::inotify_add_watch(in.get(), file_.c_str(), IN_MODIFY), 1);
  ASSERT_EQ(::unlink(file_.c_str()), 0);
  auto dumped = DumpFds({in.get()});
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error().message().find(": watch 1: watched inode "), std::string::npos)
      << dumped.error().message();
}

constexpr char kHead[] = "pos:\t0\nflags:\t04000\nmnt_id:\t17\nino:\t1038\n";
constexpr char kLine[] =
    "inotify wd:2 ino:35d sdev:fe00000 mask:84000002 ignored_mask:0 fhandle-bytes:8 "
    "fhandle-type:1 f_handle:5d03000000000000\n";

std::string ParseError(const std::string& body) {
  auto r = ParseInotifyFdinfo(kHead + body);
  return r.ok() ? "(ok)" : r.error().message();
}

TEST(InotifyFdinfo, ParsesAndRefusesMalformedText) {
  auto ok = ParseInotifyFdinfo(std::string(kHead) + kLine);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  ASSERT_EQ(ok->watches_size(), 1);
  const auto& w = ok->watches(0);
  EXPECT_EQ(w.wd(), 2u);
  EXPECT_EQ(w.inode(), 0x35du);
  EXPECT_EQ(w.dev(), makedev(254, 0));
  EXPECT_EQ(w.mask(), 0x84000002u);
  EXPECT_EQ(w.handle_type(), 1);
  EXPECT_EQ(w.handle(), std::string("\x5d\x03\0\0\0\0\0\0", 8));
  EXPECT_EQ(ParseError("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0\n"), "(ok)") << "no fhandle";
  const std::string line = kLine;
  auto bad = [](std::string l) { return "inotify fdinfo: bad watch line \"" + l.substr(0, l.size() - 1) + "\""; };
  for (const std::string& broken : {
           std::string("inotify wd:0 ino:1 sdev:1 mask:2 ignored_mask:0\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2\n"),
           std::string("inotify wd:1 wd:1 ino:1 sdev:1 mask:2 ignored_mask:0\n"),
           std::string("inotify wd:1 ino:zz sdev:1 mask:2 ignored_mask:0\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:100000000 ignored_mask:0\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0 garbage\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0 fhandle-bytes:4 fhandle-type:1 f_handle:5d03\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0 fhandle-bytes:2 fhandle-type:1 f_handle:5g03\n"),
           std::string("inotify wd:1 ino:1 sdev:1 mask:2 ignored_mask:0 fhandle-bytes:81 fhandle-type:1 f_handle:00\n"),
       })
    EXPECT_EQ(ParseError(broken), bad(broken));
}

TEST(MountInfo, FindsTheMountPointOfADevice) {
  const std::string text =
      "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
      "27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
      "40 27 254:3 / /mnt/with\\040space rw - ext4 /dev/vda3 rw\n"
      "garbage\n"
      "41 27 x:y / /bad rw - ext4 /dev/x rw\n";
  EXPECT_EQ(MountPointOfDev(text, makedev(254, 1)), "/");
  EXPECT_EQ(MountPointOfDev(text, makedev(254, 3)), "/mnt/with space");
  EXPECT_EQ(MountPointOfDev(text, makedev(8, 1)), std::nullopt);
  EXPECT_EQ(MountPointOfDev("", makedev(8, 1)), std::nullopt);
}

}  // namespace
}  // namespace stasis::files
