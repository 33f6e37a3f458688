// Named FIFOs on a real filesystem: data, ends, flags, and a FIFO whose path was unlinked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "engine/files/files_test_util.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

using testing::DumpFds;
using testing::RestoreFds;

class FifoKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stasis-fifo-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/the fifo";
    ASSERT_EQ(::mkfifo(path_.c_str(), 0640), 0);
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  static std::string Link(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }
  std::string dir_, path_;
};

TEST_F(FifoKindTest, ReaderWriterAndDataSurvive) {
  UniqueFd r(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  UniqueFd w(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(r.valid() && w.valid());
  ASSERT_EQ(::fcntl(w.get(), F_SETPIPE_SZ, 1 << 18), 1 << 18);
  ASSERT_EQ(::write(w.get(), "in flight", 9), 9);
  auto dumped = DumpFds({r.get(), w.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  r.reset();
  w.reset();   // the FIFO's buffer dies with its last opener: the data comes from the image

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int rr = (*fds)[0].get(), rw = (*fds)[1].get();
  EXPECT_EQ(Link(rr), path_);
  EXPECT_EQ(testing::StatusFlags(rr) & ~kKernelLargefile, O_RDONLY | O_NONBLOCK);
  EXPECT_EQ(testing::StatusFlags(rw) & ~kKernelLargefile, O_WRONLY);
  EXPECT_EQ(::fcntl(rr, F_GETPIPE_SZ), 1 << 18);
  exchange.Clear();   // drops the keeper: only the restored reader and writer remain
  char buf[32] = {};
  ASSERT_EQ(::read(rr, buf, sizeof buf), 9);
  EXPECT_EQ(std::string(buf), "in flight");
  ASSERT_EQ(::write(rw, "more", 4), 4);
  ASSERT_EQ(::read(rr, buf, sizeof buf), 4);
  (*fds)[1].reset();
  EXPECT_EQ(::read(rr, buf, sizeof buf), 0) << "the writer gone, the reader sees EOF";
}

TEST_F(FifoKindTest, UnlinkedFifoComesBackUnlinkedWithItsData) {
  UniqueFd rw(::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));   // a failed read must not hang
  ASSERT_TRUE(rw.valid());
  ASSERT_EQ(::write(rw.get(), "orphan", 6), 6);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  auto dumped = DumpFds({rw.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  rw.reset();

  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int fd = (*fds)[0].get();
  EXPECT_EQ(Link(fd), path_ + " (deleted)");
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "nothing left on disk";
  char buf[16] = {};
  ASSERT_EQ(::read(fd, buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf), "orphan");
}

TEST_F(FifoKindTest, MissingFifoAtRestoreIsOneClearError) {
  UniqueFd rw(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
  auto dumped = DumpFds({rw.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  rw.reset();
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);   // something else took its place
  LocalFdExchange exchange;
  auto fds = RestoreFds(*dumped, exchange);
  ::rmdir(path_.c_str());
  ASSERT_FALSE(fds.ok());
  EXPECT_EQ(fds.error().message(), "fifo " + path_ + ": open: Is a directory");
}

}  // namespace
}  // namespace stasis::files
