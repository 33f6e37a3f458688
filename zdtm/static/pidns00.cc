// The pid namespace survives: the test runs under the namespace's init (pid 1, the dumped root);
// after restore it has the same pid inside the namespace and its parent is still pid 1, and two
// children (one with a grandchild) keep their pids and parents as the namespace sees them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/children.h"
#include "zdtm/lib/zdtm.h"

namespace {

ino_t PidNsInode(const char* path) {
  struct stat st{};
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

// Exits 0 iff getpid()/getppid() are after restore what they were before it.
int KeepsIds(zdtm::Test& t, bool with_grandchild) {
  const pid_t pid = getpid(), ppid = getppid();
  std::vector<pid_t> kids;
  if (with_grandchild) {
    kids.push_back(zdtm::ForkChild([&t] { return KeepsIds(t, false); }));
    std::string why;
    if (!zdtm::WaitChildReady(t, kids.back(), &why)) return 3;
  }
  zdtm::MarkChildReady(t);
  t.WaitForTerm();
  if (getpid() != pid || getppid() != ppid) return 1;
  return zdtm::TermAndReap(kids).empty() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  // /proc is the host's: its pid 1 is the host's init, not ours.
  if (PidNsInode("/proc/self/ns/pid") == PidNsInode("/proc/1/ns/pid"))
    t.Fail("not in a pid namespace of its own (run in flavor ns)");
  const pid_t pid = getpid();
  std::vector<pid_t> children;
  for (bool grandchild : {false, true}) {
    children.push_back(zdtm::ForkChild([&t, grandchild] { return KeepsIds(t, grandchild); }));
    std::string why;
    if (!zdtm::WaitChildReady(t, children.back(), &why)) t.Fail("child: %s", why.c_str());
  }

  t.Ready();
  t.WaitForTerm();

  if (getpid() != pid) t.Fail("pid is %d inside the namespace, was %d", getpid(), pid);
  if (getppid() != 1) t.Fail("parent is %d after restore, want 1", getppid());
  if (kill(1, 0) != 0) t.Fail("the namespace's init is gone: %s", std::strerror(errno));
  for (pid_t c : children)
    if (kill(c, 0) != 0) t.Fail("child %d is gone: %s", c, std::strerror(errno));
  const std::string failures = zdtm::TermAndReap(children);
  if (!failures.empty()) t.Fail("%s", failures.c_str());
  t.Pass();
}
