// POSIX record locks (fcntl F_SETLK) survive with their ranges and types: a write lock on bytes
// 0-99 and a read lock from 200 to the end of the file; a child with locks of its own on
// another range keeps them too. After restore another process sees exactly those conflicts
// (F_GETLK names the owner pid) and nothing on the free range.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

namespace {

const char* kPath = "posix_lock00.data";

// F_GETLK for a `type` lock on [start, start+len): the conflicting lock's type and owner.
struct Probe {
  short type;
  pid_t pid;
};
Probe GetLk(int fd, short type, off_t start, off_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  if (fcntl(fd, F_GETLK, &fl) != 0) return {-1, 0};
  return {fl.l_type, fl.l_pid};
}

bool SetLk(int fd, short type, off_t start, off_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fcntl(fd, F_SETLK, &fl) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int fd = open(kPath, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) t.Fail("create %s", kPath);
  if (!SetLk(fd, F_WRLCK, 0, 100)) t.Fail("write lock: %s", std::strerror(errno));
  if (!SetLk(fd, F_RDLCK, 200, 0)) t.Fail("read lock: %s", std::strerror(errno));

  int go[2];
  if (pipe(go) != 0) t.Fail("pipe");
  const pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    if (!SetLk(fd, F_WRLCK, 120, 30)) zdtm::ChildFail("child write lock: %s", std::strerror(errno));
    char c = 0;
    ssize_t n;
    while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR) {
    }
    // The parent's locks as the child sees them after restore.
    Probe p = GetLk(fd, F_RDLCK, 50, 1);
    if (p.type != F_WRLCK || p.pid != parent) zdtm::ChildFail("parent's write lock: type %d pid %d", p.type, p.pid);
    p = GetLk(fd, F_WRLCK, 300, 10);
    if (p.type != F_RDLCK || p.pid != parent) zdtm::ChildFail("parent's read lock: type %d pid %d", p.type, p.pid);
    _exit(0);
  }
  close(go[0]);
  // Wait until the child holds its lock.
  for (int i = 0; i < 1000 && GetLk(fd, F_RDLCK, 130, 1).type != F_WRLCK; ++i) usleep(1000);

  t.Ready();
  t.WaitForTerm();

  Probe p = GetLk(fd, F_RDLCK, 125, 1);
  if (p.type != F_WRLCK || p.pid != child) t.Fail("the child's write lock: type %d pid %d", p.type, p.pid);
  p = GetLk(fd, F_WRLCK, 100, 20);
  if (p.type != F_UNLCK) t.Fail("bytes 100-119 are locked (type %d pid %d)", p.type, p.pid);
  if (write(go[1], "x", 1) != 1) t.Fail("wake the child");
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    t.Fail("the child saw other locks (status %#x)", status);
  // A fresh process sees our locks (our own F_GETLK never conflicts with ourselves).
  pid_t probe = fork();
  if (probe == 0) {
    int pfd = open(kPath, O_RDWR);
    Probe q = GetLk(pfd, F_RDLCK, 0, 1);
    if (q.type != F_WRLCK || q.pid != parent) _exit(1);
    q = GetLk(pfd, F_RDLCK, 4000, 10);
    if (q.type != F_UNLCK) _exit(2);
    q = GetLk(pfd, F_WRLCK, 1 << 20, 1);   // past the end: the read lock runs to EOF and beyond
    if (q.type != F_RDLCK || q.pid != parent) _exit(3);
    _exit(0);
  }
  if (waitpid(probe, &status, 0) != probe || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    t.Fail("a fresh process sees other locks (exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  t.Pass();
}
