// Fd numbers survive, including high ones and gaps: fds at 7, 100, 1000 and near the (raised)
// soft RLIMIT_NOFILE; /dev/null and /dev/zero stay those devices; a directory fd and an O_PATH
// fd keep what they point at; closed numbers stay closed.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/zdtm.h"

namespace {

struct Expect {
  int fd;
  std::string target;
  dev_t rdev;
  ino_t ino;
  int fl;
};

std::string Target(int fd) {
  char buf[4096];
  ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof(buf));
  return n < 0 ? "?" : std::string(buf, static_cast<size_t>(n));
}

int MoveTo(int fd, int number) {
  if (fd == number) return fd;
  int r = dup3(fd, number, (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? O_CLOEXEC : 0);
  close(fd);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct rlimit nofile;
  getrlimit(RLIMIT_NOFILE, &nofile);
  rlim_t want = nofile.rlim_max == RLIM_INFINITY || nofile.rlim_max > 70000 ? 70000 : nofile.rlim_max;
  nofile.rlim_cur = want;
  setrlimit(RLIMIT_NOFILE, &nofile);
  const int high = static_cast<int>(want) - 1;

  std::vector<int> fds;
  fds.push_back(MoveTo(open("/dev/null", O_RDWR), 7));
  fds.push_back(MoveTo(open("/dev/zero", O_RDONLY), 100));
  fds.push_back(MoveTo(open(".", O_RDONLY | O_DIRECTORY), 1000));
  fds.push_back(MoveTo(open("/proc/self/exe", O_PATH), high));
  fds.push_back(MoveTo(open("/dev/null", O_WRONLY | O_CLOEXEC), 8));
  for (int fd : fds)
    if (fd < 0) t.Fail("set-up: %s", std::strerror(errno));
  const std::vector<int> closed = {3, 4, 5, 6, 9, 99, 101, 999, high - 1};
  std::vector<Expect> expect;
  for (int fd : fds) {
    struct stat st;
    fstat(fd, &st);
    expect.push_back({fd, Target(fd), st.st_rdev, st.st_ino, fcntl(fd, F_GETFL)});
  }

  t.Ready();
  t.WaitForTerm();

  for (const Expect& e : expect) {
    struct stat st;
    if (fstat(e.fd, &st) != 0) t.Fail("fd %d is closed", e.fd);
    if (Target(e.fd) != e.target) t.Fail("fd %d points at %s, was %s", e.fd, Target(e.fd).c_str(), e.target.c_str());
    if (st.st_rdev != e.rdev || st.st_ino != e.ino) t.Fail("fd %d is another file now", e.fd);
    if (fcntl(e.fd, F_GETFL) != e.fl) t.Fail("fd %d: F_GETFL %#o, was %#o", e.fd, fcntl(e.fd, F_GETFL), e.fl);
  }
  for (int fd : closed)
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) t.Fail("fd %d should be closed but is open (%s)", fd, Target(fd).c_str());
  if (!(fcntl(8, F_GETFD) & FD_CLOEXEC)) t.Fail("fd 8 lost FD_CLOEXEC");
  if (write(7, "x", 1) != 1) t.Fail("/dev/null not writable");
  char zeros[64] = {1};
  if (read(100, zeros, sizeof(zeros)) != sizeof(zeros) || zeros[0] != 0 || zeros[63] != 0) t.Fail("/dev/zero does not give zeros");
  struct stat dir_st, cwd_st;
  fstat(1000, &dir_st);
  stat(".", &cwd_st);
  if (dir_st.st_ino != cwd_st.st_ino) t.Fail("directory fd is not the work dir");
  t.Pass();
}
