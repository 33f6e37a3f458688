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
#include "engine/restore/namespaces_restore.h"
#include "engine/restore/plan.h"

namespace stasis::restore {

// The cross-process FdExchange: one MAP_SHARED page range the coordinator maps before the
// first clone3, so every puppet sees what the earlier ones shared. The restore is sequential,
// so no locking. A sharer keeps its fd above its dumped fds; a taker pidfd_getfd's it; every
// puppet closes what it still holds before the tree resumes (kMapTrampoline).
inline constexpr size_t kMaxSharedFds = 8192;

struct SharedFdSlot {
  char kind[24];       // ShareKey::kind, NUL-terminated
  uint64_t dev;
  uint64_t inode;
  uint32_t part;
  int32_t pid;         // the sharer
  int32_t fd;          // its number inside the sharer
  uint32_t taken;
};

struct SharedFdTable {
  uint32_t used;
  SharedFdSlot slots[kMaxSharedFds];
};

// Read-only for puppets (except *exchange): fully built before the first clone3 and never
// changed afterwards.
struct PuppetContext {
  const ImageSet* set = nullptr;
  const RestorePlan* plan = nullptr;
  pid_t coordinator = 0;
  int coordinator_tty_fd = -1;   // the coordinator's terminal (--shell-job), -1 if none
  SharedFdTable* exchange = nullptr;   // MAP_SHARED, see above
  const NamespacePlan* namespaces = nullptr;   // the root is cloned into new namespaces (ns.img)
};

// clone3() with set_tid = {pid} (the innermost pid namespace level) and extra clone flags
// (CLONE_NEW* for the root of a namespaced tree). Like fork(): 0 in the child, the pid as the
// parent sees it in the parent, -errno.
long CloneWithPid(pid_t pid, int exit_signal, uint64_t flags = 0);

// The puppet's life; never returns. `parent` is the pid the new process must have as parent.
[[noreturn]] void PuppetMain(const PuppetContext& ctx, int index, int control_fd, pid_t parent);

}  // namespace stasis::restore
