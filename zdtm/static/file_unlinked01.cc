// Files deleted while open whose path is taken again by a new file, and one open write-only
// with O_APPEND: each fd keeps its contents, offset and flags, the new file is untouched, and
// no stray file is left in the directory.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

int CountEntries(const char* dir) {
  DIR* d = opendir(dir);
  int n = 0;
  while (dirent* e = d ? readdir(d) : nullptr) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  mkdir("file_unlinked01.dir", 0700);
  const char* path = "file_unlinked01.dir/data";
  const char* wo_path = "file_unlinked01.dir/log";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
  int wo = open(wo_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || wo < 0) t.Fail("create");
  if (write(fd, "old contents", 12) != 12 || write(wo, "log1", 4) != 4) t.Fail("write");
  lseek(fd, 4, SEEK_SET);
  unlink(path);
  unlink(wo_path);
  int fresh = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fresh < 0 || write(fresh, "new", 3) != 3) t.Fail("re-create");
  close(fresh);
  const int entries = CountEntries("file_unlinked01.dir");

  t.Ready();
  t.WaitForTerm();

  char buf[32] = {};
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_nlink != 0 || (st.st_mode & 0777) != 0640) t.Fail("first file: nlink or mode changed");
  if (lseek(fd, 0, SEEK_CUR) != 4) t.Fail("offset changed");
  if (pread(fd, buf, sizeof buf, 0) != 12 || memcmp(buf, "old contents", 12) != 0) t.Fail("first file's contents differ");
  if ((fcntl(wo, F_GETFL) & O_ACCMODE) != O_WRONLY || !(fcntl(wo, F_GETFL) & O_APPEND)) t.Fail("write-only file lost its flags");
  if (write(wo, "log2", 4) != 4 || fstat(wo, &st) != 0 || st.st_size != 8) t.Fail("append did not append");
  int check = open(path, O_RDONLY);
  memset(buf, 0, sizeof buf);
  if (check < 0 || read(check, buf, sizeof buf) != 3 || memcmp(buf, "new", 3) != 0) t.Fail("the new file at the path changed");
  if (CountEntries("file_unlinked01.dir") != entries) t.Fail("a stray file was left in the directory");
  t.Pass();
}
