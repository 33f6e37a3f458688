// Open-file-description locks (F_OFD_SETLK) survive: a write lock on bytes 0-9 through one
// description, read locks from 10 to the end through two others. After restore a fourth
// description conflicts exactly there (F_OFD_GETLK reports pid -1), the read holders share,
// and each holder can still change its own lock.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

namespace {

const char* kPath = "ofd_lock00.data";

struct flock Range(short type, off_t start, off_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int writer = open(kPath, O_RDWR | O_CREAT | O_TRUNC, 0644);
  int reader1 = open(kPath, O_RDONLY);
  int reader2 = open(kPath, O_RDONLY);
  if (writer < 0 || reader1 < 0 || reader2 < 0) t.Fail("open: %s", std::strerror(errno));
  struct flock w = Range(F_WRLCK, 0, 10), r = Range(F_RDLCK, 10, 0);
  if (fcntl(writer, F_OFD_SETLK, &w) != 0) t.Fail("OFD write lock: %s", std::strerror(errno));
  if (fcntl(reader1, F_OFD_SETLK, &r) != 0) t.Fail("OFD read lock 1: %s", std::strerror(errno));
  if (fcntl(reader2, F_OFD_SETLK, &r) != 0) t.Fail("OFD read lock 2: %s", std::strerror(errno));

  t.Ready();
  t.WaitForTerm();

  int other = open(kPath, O_RDWR);
  struct flock q = Range(F_RDLCK, 5, 1);
  if (fcntl(other, F_OFD_GETLK, &q) != 0 || q.l_type != F_WRLCK || q.l_pid != -1 || q.l_start != 0 || q.l_len != 10)
    t.Fail("the write lock: type %d pid %d range %ld+%ld", q.l_type, q.l_pid, (long)q.l_start, (long)q.l_len);
  q = Range(F_WRLCK, 100, 1);
  if (fcntl(other, F_OFD_GETLK, &q) != 0 || q.l_type != F_RDLCK || q.l_start != 10 || q.l_len != 0)
    t.Fail("the read lock: type %d range %ld+%ld", q.l_type, (long)q.l_start, (long)q.l_len);
  q = Range(F_RDLCK, 50, 10);
  if (fcntl(other, F_OFD_SETLK, &q) != 0) t.Fail("cannot share the read-locked range: %s", std::strerror(errno));
  q = Range(F_UNLCK, 50, 10);
  fcntl(other, F_OFD_SETLK, &q);
  // reader1 drops its lock: reader2's still excludes writers.
  q = Range(F_UNLCK, 10, 0);
  if (fcntl(reader1, F_OFD_SETLK, &q) != 0) t.Fail("unlock reader1: %s", std::strerror(errno));
  q = Range(F_WRLCK, 20, 1);
  if (fcntl(other, F_OFD_SETLK, &q) == 0 || errno != EAGAIN) t.Fail("reader2's lock is gone");
  // The writer downgrades its own lock: now the range is shareable.
  q = Range(F_RDLCK, 0, 10);
  if (fcntl(writer, F_OFD_SETLK, &q) != 0) t.Fail("downgrade the write lock: %s", std::strerror(errno));
  q = Range(F_RDLCK, 0, 10);
  if (fcntl(other, F_OFD_SETLK, &q) != 0) t.Fail("the downgraded range is not shareable: %s", std::strerror(errno));
  t.Pass();
}
