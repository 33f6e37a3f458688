// The working directory and the umask survive; a file created afterwards lands in the restored
// cwd with the mode the umask allows.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (mkdir("cwd00.dir", 0755) != 0 || mkdir("cwd00.dir/sub dir", 0700) != 0) t.Fail("mkdir");
  if (chdir("cwd00.dir/sub dir") != 0) t.Fail("chdir");
  char before[PATH_MAX];
  if (!getcwd(before, sizeof(before))) t.Fail("getcwd");
  struct stat st_before;
  stat(".", &st_before);
  umask(027);

  t.Ready();
  t.WaitForTerm();

  char now[PATH_MAX];
  if (!getcwd(now, sizeof(now)) || std::string(now) != before) t.Fail("cwd is %s, was %s", now, before);
  struct stat st_now;
  stat(".", &st_now);
  if (st_now.st_ino != st_before.st_ino) t.Fail("cwd is another directory with the same name");
  mode_t mask = umask(027);
  if (mask != 027) t.Fail("umask is %03o, was 027", mask);
  int fd = open("created", O_CREAT | O_WRONLY | O_EXCL, 0666);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) t.Fail("create in cwd");
  if ((st.st_mode & 0777) != 0640) t.Fail("new file has mode %03o, want 640", st.st_mode & 0777);
  t.Pass();
}
