// A file deleted while open stays usable through its fd: same contents, same offset, still
// unlinked (nlink 0, "(deleted)" in /proc/self/fd). The engine may instead refuse the dump
// with a clear error (issue 2 allows either); then this test fails with that error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const char* path = "file_unlinked00.data";
  constexpr size_t kSize = 3 * 4096 + 100;
  std::vector<unsigned char> content(kSize);
  zdtm::FillPattern(content.data(), kSize, 123);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, content.data(), kSize) != static_cast<ssize_t>(kSize)) t.Fail("create %s", path);
  lseek(fd, 4000, SEEK_SET);
  if (unlink(path) != 0) t.Fail("unlink");

  t.Ready();
  t.WaitForTerm();

  struct stat st;
  if (fstat(fd, &st) != 0) t.Fail("fd is closed");
  if (st.st_nlink != 0) t.Fail("file has %lu links: it was re-created instead of staying deleted", static_cast<unsigned long>(st.st_nlink));
  if (st.st_size != static_cast<off_t>(kSize)) t.Fail("size %ld, want %zu", static_cast<long>(st.st_size), kSize);
  if (lseek(fd, 0, SEEK_CUR) != 4000) t.Fail("offset %ld, want 4000", static_cast<long>(lseek(fd, 0, SEEK_CUR)));
  std::vector<unsigned char> now(kSize);
  if (pread(fd, now.data(), kSize, 0) != static_cast<ssize_t>(kSize) || now != content) t.Fail("contents differ");
  char link[PATH_MAX] = {};
  readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof(link) - 1);
  if (!std::string(link).ends_with(" (deleted)")) t.Fail("/proc/self/fd/%d is '%s', want a deleted file", fd, link);
  if (access(path, F_OK) == 0) t.Fail("%s exists again", path);
  t.Pass();
}
