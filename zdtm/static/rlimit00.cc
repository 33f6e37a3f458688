// Resource limits survive exactly, including lowered soft limits and lowered hard limits
// (which nobody here could raise back without CAP_SYS_RESOURCE), and still act.
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct Change {
    int resource;
    rlim_t soft, hard;  // RLIM_SAVED_CUR = keep the current hard limit
  };
  const Change changes[] = {
      {RLIMIT_NOFILE, 200, RLIM_SAVED_CUR},
      {RLIMIT_CORE, 4096, RLIM_SAVED_CUR},
      {RLIMIT_STACK, 4 << 20, RLIM_SAVED_CUR},
      {RLIMIT_CPU, 100000, 200000},
      {RLIMIT_FSIZE, 1 << 30, RLIM_SAVED_CUR},
      {RLIMIT_MSGQUEUE, 4096, 8192},
      {RLIMIT_NICE, 0, 0},
      {RLIMIT_SIGPENDING, 1000, RLIM_SAVED_CUR},
  };
  for (const Change& c : changes) {
    struct rlimit r;
    getrlimit(c.resource, &r);
    rlimit n = {c.soft, c.hard == RLIM_SAVED_CUR ? r.rlim_max : c.hard};
    if (n.rlim_cur > n.rlim_max) n.rlim_cur = n.rlim_max;
    if (setrlimit(c.resource, &n) != 0) t.Fail("setrlimit(%d)", c.resource);
  }
  struct rlimit before[RLIM_NLIMITS];
  for (int r = 0; r < RLIM_NLIMITS; ++r) getrlimit(r, &before[r]);

  t.Ready();
  t.WaitForTerm();

  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    struct rlimit now;
    getrlimit(r, &now);
    if (now.rlim_cur != before[r].rlim_cur || now.rlim_max != before[r].rlim_max)
      t.Fail("limit %d is %llu/%llu, was %llu/%llu", r, static_cast<unsigned long long>(now.rlim_cur),
             static_cast<unsigned long long>(now.rlim_max), static_cast<unsigned long long>(before[r].rlim_cur),
             static_cast<unsigned long long>(before[r].rlim_max));
  }
  // RLIMIT_NOFILE acts: fd 200 cannot be reached.
  if (dup2(0, 199) != 199) t.Fail("fd 199 should be allowed");
  if (dup2(0, 200) != -1 || errno != EBADF) t.Fail("fd 200 should be refused by the soft limit 200");
  close(199);
  t.Pass();
}
