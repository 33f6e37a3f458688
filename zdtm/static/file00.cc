// Regular files keep their open state: offsets (also past the end), access mode and status
// flags (O_APPEND, O_NONBLOCK, O_NOATIME...), FD_CLOEXEC, and dup'ed fds keep sharing one
// offset while separately opened fds of the same file do not.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

namespace {

struct OpenFile {
  int fd;
  off_t offset;
  int fl;  // F_GETFL
  int fd_flags;
};

OpenFile Record(int fd) { return {fd, lseek(fd, 0, SEEK_CUR), fcntl(fd, F_GETFL), fcntl(fd, F_GETFD)}; }

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const char* path = "file00.data";
  constexpr size_t kSize = 10000;
  std::vector<unsigned char> content(kSize);
  zdtm::FillPattern(content.data(), kSize, 9);
  int w = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
  if (w < 0 || write(w, content.data(), kSize) != static_cast<ssize_t>(kSize)) t.Fail("create %s", path);
  lseek(w, 20000, SEEK_SET);                          // past the end
  int ro = open(path, O_RDONLY | O_CLOEXEC);
  lseek(ro, 1234, SEEK_SET);
  int dup_ro = dup(ro);                               // shares ro's offset; no FD_CLOEXEC on the dup
  int app = open(path, O_WRONLY | O_APPEND | O_NONBLOCK);
  int noatime = open(path, O_RDONLY | O_NOATIME | O_SYNC);
  if (noatime < 0) noatime = open(path, O_RDONLY | O_SYNC);  // O_NOATIME needs ownership
  lseek(noatime, 777, SEEK_SET);
  std::vector<OpenFile> before;
  for (int fd : {w, ro, dup_ro, app, noatime}) before.push_back(Record(fd));
  struct stat st;
  stat(path, &st);

  t.Ready();
  t.WaitForTerm();

  for (const OpenFile& b : before) {
    OpenFile now = Record(b.fd);
    if (now.offset != b.offset) t.Fail("fd %d: offset %ld, was %ld", b.fd, static_cast<long>(now.offset), static_cast<long>(b.offset));
    if (now.fl != b.fl) t.Fail("fd %d: F_GETFL %#o, was %#o", b.fd, now.fl, b.fl);
    if (now.fd_flags != b.fd_flags) t.Fail("fd %d: F_GETFD %d, was %d", b.fd, now.fd_flags, b.fd_flags);
    struct stat fst;
    if (fstat(b.fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) t.Fail("fd %d: not the same file any more", b.fd);
  }
  unsigned char buf[100];
  if (read(dup_ro, buf, sizeof(buf)) != sizeof(buf)) t.Fail("read dup");
  if (std::memcmp(buf, content.data() + 1234, sizeof(buf)) != 0) t.Fail("read at the restored offset gave wrong data");
  if (lseek(ro, 0, SEEK_CUR) != 1334) t.Fail("dup'ed fds no longer share their offset");
  if (lseek(noatime, 0, SEEK_CUR) != 777) t.Fail("separately opened fds share an offset");
  const char tail[] = "appended";
  if (write(app, tail, 8) != 8) t.Fail("append write");
  struct stat after;
  fstat(app, &after);
  if (after.st_size != static_cast<off_t>(kSize + 8)) t.Fail("O_APPEND write did not go to the end (size %ld)", static_cast<long>(after.st_size));
  if (write(w, "x", 1) != 1 || lseek(w, 0, SEEK_CUR) != 20001) t.Fail("write at offset past the end");
  t.Pass();
}
