// flock(2) locks survive (dumped and restored with --file-locks): an exclusive lock and a
// shared lock on two files, the exclusive one on a description shared with a child process.
// After restore another open file description cannot take what they exclude, the holders can
// still convert their own locks, and the child's copy of the description holds the same lock.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

namespace {

// 0: the lock request was granted; otherwise the errno.
int TryFlock(const char* path, int op) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return errno;
  int r = flock(fd, op | LOCK_NB) == 0 ? 0 : errno;
  close(fd);
  return r;
}

// Runs `check` in a fresh child (a new process has no locks of its own): its exit status.
template <typename F>
int InChild(F check) {
  pid_t pid = fork();
  if (pid == 0) _exit(check());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const char* excl_path = "flock00.excl";
  const char* shared_path = "flock00.shared";
  int excl = open(excl_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  int shared = open(shared_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (excl < 0 || shared < 0) t.Fail("open: %s", std::strerror(errno));
  if (flock(excl, LOCK_EX | LOCK_NB) != 0) t.Fail("flock LOCK_EX: %s", std::strerror(errno));
  if (flock(shared, LOCK_SH | LOCK_NB) != 0) t.Fail("flock LOCK_SH: %s", std::strerror(errno));

  // A child sharing the exclusive lock's description: it stays alive through the dump and,
  // once told (a marker file appears), checks that the lock is still its description's.
  const char* go = "flock00.go";
  unlink(go);
  pid_t child = fork();
  if (child == 0) {
    while (access(go, F_OK) != 0) usleep(10 * 1000);
    // Converting to shared and back works only for the holder of the description's lock
    // when another description is not in the way.
    if (flock(excl, LOCK_EX | LOCK_NB) != 0) _exit(3);
    _exit(0);
  }

  t.Ready();
  t.WaitForTerm();

  if (int e = InChild([&] { return TryFlock(excl_path, LOCK_SH); }); e != EWOULDBLOCK)
    t.Fail("another description got a shared lock on the exclusively locked file (%s)", std::strerror(e));
  if (int e = InChild([&] { return TryFlock(shared_path, LOCK_SH); }); e != 0)
    t.Fail("another description cannot share the shared lock (%s)", std::strerror(e));
  if (int e = InChild([&] { return TryFlock(shared_path, LOCK_EX); }); e != EWOULDBLOCK)
    t.Fail("another description got an exclusive lock on the shared-locked file (%s)", std::strerror(e));
  const int marker = open(go, O_WRONLY | O_CREAT, 0644);
  if (marker < 0) t.Fail("create %s: %s", go, std::strerror(errno));
  close(marker);
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    t.Fail("the child's shared description lost the exclusive lock (status %#x)", status);
  if (flock(shared, LOCK_EX | LOCK_NB) != 0) t.Fail("cannot upgrade our own shared lock: %s", std::strerror(errno));
  if (flock(excl, LOCK_UN) != 0 || TryFlock(excl_path, LOCK_EX) != 0) t.Fail("unlock did not free the file");
  t.Pass();
}
