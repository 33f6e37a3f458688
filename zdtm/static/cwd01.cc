// Kernel paths are bytes, not text: a cwd, an open file and a file mapping whose names are not
// valid UTF-8 (Latin-1 "café", a lone 0xff) survive the dump and the restore.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const char* dir = "cwd01.caf\xe9";
  if (mkdir(dir, 0755) != 0 || chdir(dir) != 0) t.Fail("mkdir/chdir a non-UTF-8 name");
  char before[PATH_MAX];
  if (!getcwd(before, sizeof(before))) t.Fail("getcwd");
  struct stat cwd_before;
  stat(".", &cwd_before);
  const char* name = "data\xff\xfe.bin";
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "0123456789", 10) != 10) t.Fail("create %s", "data\\xff\\xfe.bin");
  lseek(fd, 3, SEEK_SET);
  void* map = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) t.Fail("mmap");
  struct stat file_before;
  fstat(fd, &file_before);

  t.Ready();
  t.WaitForTerm();

  char now[PATH_MAX];
  if (!getcwd(now, sizeof(now)) || std::string(now) != before) t.Fail("cwd changed");
  struct stat cwd_now;
  stat(".", &cwd_now);
  if (cwd_now.st_ino != cwd_before.st_ino) t.Fail("cwd is another directory");
  struct stat file_now;
  if (fstat(fd, &file_now) != 0 || file_now.st_ino != file_before.st_ino) t.Fail("fd is another file");
  if (lseek(fd, 0, SEEK_CUR) != 3) t.Fail("offset lost");
  char buf[4] = {};
  if (read(fd, buf, 3) != 3 || std::memcmp(buf, "345", 3) != 0) t.Fail("read through the fd");
  if (std::memcmp(map, "0123456789", 10) != 0) t.Fail("file mapping content");
  t.Pass();
}
