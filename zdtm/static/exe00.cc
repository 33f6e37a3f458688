// /proc/self/exe keeps pointing at this test's executable (same path, same inode), and the
// comm name set with PR_SET_NAME survives.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  char link[PATH_MAX] = {};
  if (readlink("/proc/self/exe", link, sizeof(link) - 1) <= 0) t.Fail("readlink /proc/self/exe");
  struct stat exe_st;
  if (stat(argv[0], &exe_st) != 0) t.Fail("stat %s", argv[0]);
  prctl(PR_SET_NAME, "zdtm-exe-name");

  t.Ready();
  t.WaitForTerm();

  char now[PATH_MAX] = {};
  if (readlink("/proc/self/exe", now, sizeof(now) - 1) <= 0 || std::strcmp(now, link) != 0)
    t.Fail("/proc/self/exe is '%s', was '%s'", now, link);
  struct stat st;
  if (stat("/proc/self/exe", &st) != 0 || st.st_ino != exe_st.st_ino || st.st_dev != exe_st.st_dev)
    t.Fail("/proc/self/exe is another file now");
  int fd = open("/proc/self/exe", O_RDONLY);
  char magic[4] = {};
  if (fd < 0 || read(fd, magic, 4) != 4 || std::memcmp(magic, "\x7f" "ELF", 4) != 0) t.Fail("/proc/self/exe is not readable as ELF");
  close(fd);
  char name[17] = {};
  prctl(PR_GET_NAME, name);
  if (std::string(name) != "zdtm-exe-name") t.Fail("comm is '%s'", name);
  t.Pass();
}
