// A tree of processes (children, grandchildren, a great-grandchild, one of them threaded)
// keeps its pids and parent links: every process checks getpid() and getppid() after restore
// and reports through its exit status.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "zdtm/lib/children.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

// Runs one node: forks `fanout[depth]` children, waits for SIGTERM, checks its identity and
// passes SIGTERM down. Returns the exit code.
int Node(const zdtm::Test& t, const std::vector<int>& fanout, size_t depth, bool root) {
  const pid_t me = getpid(), parent = getppid();
  std::vector<pid_t> kids;
  for (int i = 0; depth < fanout.size() && i < fanout[depth]; ++i) {
    pid_t c = zdtm::ForkChild([&] { return Node(t, fanout, depth + 1, false); });
    if (c < 0) zdtm::ChildFail("fork failed");
    std::string why;
    if (!zdtm::WaitChildReady(t, c, &why)) zdtm::ChildFail("%s", why.c_str());
    kids.push_back(c);
  }
  std::atomic<bool> stop{false};
  std::atomic<pid_t> thread_tid{0};
  std::thread helper;
  if (depth == 1) {  // a threaded process in the middle of the tree
    helper = std::thread([&] {
      zdtm::BlockTermInThisThread();
      thread_tid = zdtm::Gettid();
      while (!stop) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, nullptr);
      }
    });
    while (!thread_tid) std::this_thread::yield();
  }
  if (root) return -1;  // the root goes on in main()
  zdtm::MarkChildReady(t);
  while (!zdtm::Test::TermRequested()) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  std::string problems;
  if (getpid() != me) problems += "pid changed from " + std::to_string(me) + "; ";
  if (getppid() != parent) problems += "parent is " + std::to_string(getppid()) + ", was " + std::to_string(parent) + "; ";
  if (helper.joinable()) {
    if (zdtm::Gettid() != me) problems += "main thread tid changed; ";
    stop = true;
    helper.join();
  }
  problems += zdtm::TermAndReap(kids);
  if (!problems.empty()) zdtm::ChildFail("%s", problems.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const pid_t me = getpid();
  // root -> 2 children -> 2 grandchildren each -> 1 great-grandchild each.
  const std::vector<int> fanout = {2, 2, 1};
  std::vector<pid_t> kids;
  for (int i = 0; i < fanout[0]; ++i) {
    pid_t c = zdtm::ForkChild([&] { return Node(t, fanout, 1, false); });
    std::string why;
    if (c < 0 || !zdtm::WaitChildReady(t, c, &why)) t.Fail("set-up: %s", why.c_str());
    kids.push_back(c);
  }

  t.Ready();
  t.WaitForTerm();

  if (getpid() != me) t.Fail("root pid changed");
  std::string problems = zdtm::TermAndReap(kids);
  if (!problems.empty()) t.Fail("%s", problems.c_str());
  t.Pass();
}
