// `stasis restore`: validate a whole image set, recreate the process tree with its pids, and
// resume it. Any failure kills everything that was created.
#pragma once

#include <string>

#include "engine/common/error.h"
#include "engine/common/log.h"

namespace stasis::restore {

struct RestoreOptions {
  std::string images_dir;        // -D/--images-dir
  bool detached = false;         // -d/--restore-detached: return once the tree runs
  bool shell_job = false;        // -j/--shell-job: give the tree this terminal
  bool tcp_established = false;  // --tcp-established: established TCP connections may be in the tree
  bool file_locks = false;       // --file-locks: the images may hold file locks (file-locks.img)
  std::string pidfile;           // --pidfile: the root's pid, written once it runs
};

struct RestoreStats {
  double seconds = 0;            // from the start of the command to the resume
};

// Without `detached`, waits for the restored root to exit and returns its status through
// *exit_status (like CRIU, whose exit code is then the root's).
Status Restore(const RestoreOptions& options, Logger& log, int* exit_status,
               RestoreStats* stats = nullptr);

}  // namespace stasis::restore
