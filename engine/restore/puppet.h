// The code a new process runs right after clone3(): it becomes a "puppet" that sets up what is
// easiest to set up from inside (session, group, fds, cwd, umask), creates its own children
// with their dumped pids, maps a trampoline and then waits to be taken over with ptrace.
//
// Everything here runs in a copy of the coordinator's address space without the coordinator's
// bookkeeping being safe to touch: no exceptions, no allocation, plain syscalls only; errors
// travel back as a short message over the control socket.
#pragma once

#include <sys/types.h>

#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"

namespace stasis::restore {

// Read-only for puppets: fully built before the first clone3 and never changed afterwards.
struct PuppetContext {
  const ImageSet* set = nullptr;
  const RestorePlan* plan = nullptr;
  pid_t coordinator = 0;
  int coordinator_tty_fd = -1;   // the coordinator's terminal (--shell-job), -1 if none
};

// clone3() with set_tid = {pid}. Like fork(): 0 in the child, the pid in the parent, -errno.
long CloneWithPid(pid_t pid, int exit_signal);

// The puppet's life; never returns. `parent` is the pid the new process must have as parent.
[[noreturn]] void PuppetMain(const PuppetContext& ctx, int index, int control_fd, pid_t parent);

}  // namespace stasis::restore
