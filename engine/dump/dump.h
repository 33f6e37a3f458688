// `stasis dump`: freeze a process tree, write its state to an images directory, then kill it
// or (--leave-running) resume it. Any failure before the images are complete resumes the tree
// exactly as it was.
#pragma once

#include <string>
#include <sys/types.h>

#include "engine/common/error.h"
#include "engine/common/log.h"

namespace stasis::dump {

struct DumpOptions {
  pid_t pid = 0;                 // -t/--tree: root of the tree
  std::string images_dir;        // -D/--images-dir
  bool leave_running = false;    // -R/--leave-running
  bool shell_job = false;        // -j/--shell-job: the tree may hold the calling shell's terminal
  bool tcp_established = false;  // --tcp-established: established TCP connections may be in the tree
  bool file_locks = false;       // --file-locks: file locks held by the tree are dumped (else refused)
};

// Statistics a caller (the CLI, the benchmark) may print.
struct DumpStats {
  double frozen_seconds = 0;     // from the first PTRACE_INTERRUPT to resume/kill
  uint64_t pages_scanned = 0;
  uint64_t pages_written = 0;
  uint64_t zero_pages_skipped = 0;
};

Status Dump(const DumpOptions& options, Logger& log, DumpStats* stats = nullptr);

}  // namespace stasis::dump
