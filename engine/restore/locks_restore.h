// File locks taken again by the restored processes (--file-locks): flock(2) for flock locks,
// fcntl F_SETLK / F_OFD_SETLK for POSIX and OFD locks, injected into the process that held them
// through the fd it held them by. Runs after the memory is restored: closing any fd of a file
// (as mapping files does) would drop the process's POSIX locks on it.
#pragma once

#include "engine/common/error.h"
#include "engine/restore/target.h"

namespace stasis::restore {

Status RestoreFileLocks(const RestoreContext& ctx, Target& t);

}  // namespace stasis::restore
