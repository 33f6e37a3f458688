// A memfd keeps its name, contents (with a hole), size, seals and offset; a dup shares the offset.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int fd = memfd_create("zdtm-memfd", MFD_ALLOW_SEALING);
  if (fd < 0) t.Fail("memfd_create: %s", std::strerror(errno));
  std::string head(10000, '\0');
  for (size_t i = 0; i < head.size(); ++i) head[i] = static_cast<char>(i * 13);
  if (pwrite(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) t.Fail("pwrite");
  if (pwrite(fd, "tail", 4, 1 << 20) != 4) t.Fail("pwrite tail");
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) t.Fail("seal");
  lseek(fd, 1234, SEEK_SET);
  int dupfd = dup(fd);
  char link[256] = {};
  readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);

  t.Ready();
  t.WaitForTerm();

  char now[256] = {};
  readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), now, sizeof now - 1);
  if (strcmp(now, link) != 0) t.Fail("name '%s', was '%s'", now, link);
  struct stat st;
  fstat(fd, &st);
  if (st.st_size != (1 << 20) + 4) t.Fail("size %lld", (long long)st.st_size);
  if (lseek(dupfd, 0, SEEK_CUR) != 1234) t.Fail("offset %lld", (long long)lseek(dupfd, 0, SEEK_CUR));
  std::string got(head.size(), '\0');
  if (pread(fd, got.data(), got.size(), 0) != static_cast<ssize_t>(got.size()) || got != head) t.Fail("contents differ");
  char mid[16] = {1}, tail[4] = {};
  if (pread(fd, mid, sizeof mid, 500000) != sizeof mid || mid[0] != 0 || mid[15] != 0) t.Fail("hole is not zeros");
  if (pread(fd, tail, 4, 1 << 20) != 4 || memcmp(tail, "tail", 4) != 0) t.Fail("tail differs");
  if (fcntl(fd, F_GET_SEALS) != F_SEAL_SHRINK) t.Fail("seals %#x", fcntl(fd, F_GET_SEALS));
  if (ftruncate(fd, 10) != -1 || errno != EPERM) t.Fail("F_SEAL_SHRINK not enforced");
  lseek(fd, 0, SEEK_SET);
  if (lseek(dupfd, 0, SEEK_CUR) != 0) t.Fail("the dup does not share the offset");
  t.Pass();
}
