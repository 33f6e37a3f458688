// Freezing a process tree: every thread of every process under the root is PTRACE_SEIZEd and
// interrupted, re-walking /proc until no new thread or child shows up. The FrozenTree owns the
// attachments: dropping it detaches every thread, so the tree runs on exactly as before.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/log.h"
#include "engine/inject/seized_task.h"
#include "engine/proc/stat.h"

namespace stasis::dump {

struct FrozenProcess {
  pid_t pid = 0;
  pid_t ppid = 0;                 // 0 for the root of the tree
  proc::ProcStat stat;            // read once every thread was stopped
  bool zombie = false;            // exited, not reaped: nothing seized, nothing to collect
  int stop_signal = 0;            // != 0: the process was in group-stop when frozen
  std::vector<std::unique_ptr<inject::SeizedThread>> threads;   // [0] is the main thread

  pid_t main_tid() const { return pid; }
};

class FrozenTree {
 public:
  // Processes come out parents first (breadth first from the root).
  static Result<FrozenTree> Freeze(pid_t root, Logger& log);

  FrozenTree(FrozenTree&&) = default;
  FrozenTree& operator=(FrozenTree&&) = default;
  ~FrozenTree() { Resume(); }

  std::vector<FrozenProcess>& processes() { return processes_; }
  const std::vector<FrozenProcess>& processes() const { return processes_; }
  pid_t root() const { return processes_.front().pid; }

  // Detaches every thread; each resumes from where it was stopped (group-stopped ones stay stopped).
  void Resume();
  // SIGKILLs every process of the tree, consumes the exits we are told about as tracer, and
  // waits (bounded) until each process is gone or left as a zombie for its outside parent.
  Status Kill(Logger& log);

 private:
  FrozenTree() = default;
  std::vector<FrozenProcess> processes_;
};

}  // namespace stasis::dump
