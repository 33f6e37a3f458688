#include "engine/restore/locks_checks.h"

#include <gtest/gtest.h>

#include "engine/restore/image_set.h"

namespace stasis::restore {
namespace {

struct Fixture {
  ImageSet set;
  std::vector<img::FileLock> locks;
  Fixture() {
    set.processes.resize(2);
    set.processes[0].entry.set_pid(42);
    set.processes[1].entry.set_pid(43);
    set.processes[1].entry.set_state(img::TASK_ZOMBIE);
    img::FdEntry& fd = set.processes[0].fds.emplace_back();
    fd.set_fd(5);
    fd.set_file_id(9);
    img::FileLock& l = locks.emplace_back();
    l.set_kind(img::LOCK_POSIX);
    l.set_pid(42);
    l.set_fd(5);
    l.set_file_id(9);
    l.set_start(10);
    l.set_end(19);
  }
};

void ExpectCorrupt(const Fixture& f, const char* part) {
  Status s = CheckFileLocks(f.locks, f.set);
  ASSERT_FALSE(s.ok()) << "accepted: " << part;
  EXPECT_EQ(s.error().kind(), ErrorKind::kCorruption);
  EXPECT_NE(s.error().message().find(part), std::string::npos) << s.error().message();
}

TEST(CheckFileLocks, AcceptsAValidLock) {
  Fixture f;
  Status s = CheckFileLocks(f.locks, f.set);
  EXPECT_TRUE(s.ok()) << s.error().message();
  f.locks[0].set_to_eof(true);
  f.locks[0].set_end(0);
  EXPECT_TRUE(CheckFileLocks(f.locks, f.set).ok());
}

TEST(CheckFileLocks, RefusesDanglingReferencesAndBadRanges) {
  { Fixture f; f.locks[0].set_kind(static_cast<img::LockKind>(7)); ExpectCorrupt(f, "unknown kind"); }
  { Fixture f; f.locks[0].set_pid(44); ExpectCorrupt(f, "no such process"); }
  { Fixture f; f.locks[0].set_pid(43); ExpectCorrupt(f, "zombie"); }
  { Fixture f; f.locks[0].set_fd(6); ExpectCorrupt(f, "no such fd"); }
  { Fixture f; f.locks[0].set_file_id(8); ExpectCorrupt(f, "file id 8"); }
  { Fixture f; f.locks[0].set_end(5); ExpectCorrupt(f, "bad range"); }
  { Fixture f; f.locks[0].set_start(1ull << 63); ExpectCorrupt(f, "bad range"); }
  { Fixture f; f.locks.resize(kMaxFileLocks + 1, f.locks[0]); ExpectCorrupt(f, "locks"); }
}

}  // namespace
}  // namespace stasis::restore
