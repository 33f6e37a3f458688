// File locks (flock, POSIX and OFD) held through the open fds of a frozen process.
//
// /proc/PID/fdinfo/FD lists, as "lock:" lines, the locks set through that fd's open file
// description and owned by this process or by the description itself; waiters are not listed
// (a task blocked on a lock is in a restartable syscall and asks again after restore).
// Without --file-locks a held lock refuses the dump, as in CRIU: restoring a tree without its
// locks would silently give up mutual exclusion.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"
#include "engine/images/lock.pb.h"

namespace stasis::dump {

// One "lock:" line of an fdinfo file.
struct FdinfoLock {
  img::LockKind kind = img::LOCK_FLOCK;
  bool write = false;
  int64_t pid = 0;        // -1 for OFD locks
  uint64_t inode = 0;
  uint64_t start = 0;
  uint64_t end = 0;       // inclusive
  bool to_eof = false;
};

// Pure: the "lock:" lines of a whole fdinfo text; other lines are ignored. Leases and unknown
// lock kinds are refused (kNotSupported), malformed lines are kCorruption.
Result<std::vector<FdinfoLock>> ParseFdinfoLocks(std::string_view fdinfo);

// Appends the process's locks to ctx.file_locks (a lock of a description shared with an
// earlier process is recorded once). Runs after CollectFiles, which fills out->fds.
Status CollectLocks(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
