// A pipe shared across fork: the child holds the write end, the parent the read end (the
// other ends closed). Bytes the child wrote before the dump arrive after it; the child writes
// more after the restore and exits, and the parent then sees EOF (no extra writer survived).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/children.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int p[2], q[2];
  if (pipe(p) != 0 || pipe(q) != 0) t.Fail("pipe: %s", std::strerror(errno));
  // q is held by both processes, both ends: the same open file descriptions in two processes.
  pid_t child = zdtm::ForkChild([&]() -> int {
    close(p[0]);
    if (write(p[1], "before", 6) != 6) zdtm::ChildFail("write before");
    if (write(q[1], "Q", 1) != 1) zdtm::ChildFail("write q");
    zdtm::MarkChildReady(t);
    while (!zdtm::Test::TermRequested()) pause();
    if (write(p[1], "after", 5) != 5) zdtm::ChildFail("write after: %s", std::strerror(errno));
    return 0;
  });
  close(p[1]);
  std::string why;
  if (!zdtm::WaitChildReady(t, child, &why)) t.Fail("child: %s", why.c_str());

  t.Ready();
  t.WaitForTerm();

  char buf[64];
  std::string got;
  if (kill(child, SIGTERM) != 0) t.Fail("kill child");
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    t.Fail("child failed (status %#x)", status);
  if (got != "beforeafter") t.Fail("read '%s', want 'beforeafter'", got.c_str());
  if (read(q[0], buf, 1) != 1 || buf[0] != 'Q') t.Fail("shared pipe q lost its byte");
  if (write(q[1], "R", 1) != 1 || read(q[0], buf, 1) != 1 || buf[0] != 'R') t.Fail("pipe q broken");
  t.Pass();
}
