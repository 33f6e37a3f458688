// Creating the process tree with its dumped pids (through the puppets) and tearing it down
// again if anything fails.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/fd.h"
#include "engine/common/log.h"
#include "engine/inject/seized_task.h"
#include "engine/restore/puppet.h"

namespace stasis::restore {

// One created process as the coordinator sees it.
struct Puppet {
  pid_t pid = 0;                // as the coordinator sees it (ptrace, /proc, kill)
  pid_t ns_pid = 0;             // inside the restored pid namespace (ns.img), 0 without one
  bool zombie = false;
  UniqueFd control;             // the coordinator's end of the puppet's control socket
  int control_fd_inside = -1;   // the puppet's end, as numbered inside the puppet
  uint64_t trampoline = 0;      // page 0: `syscall`; pages 1-2: argument data
  // Every thread once seized; [0] is the main thread, then the dumped order.
  std::vector<std::unique_ptr<inject::SeizedThread>> threads;
};

// Owns every process created so far. Unless Release()d, destroying it SIGKILLs them all and
// waits until they are gone, so a failed restore never leaves half a tree behind.
class CreatedTree {
 public:
  explicit CreatedTree(Logger& log) : log_(log) {}
  ~CreatedTree() { KillAll(); }
  CreatedTree(const CreatedTree&) = delete;
  CreatedTree& operator=(const CreatedTree&) = delete;

  std::vector<Puppet>& puppets() { return puppets_; }   // plan order; pid 0 = not created yet
  void KillAll();
  void Release() { released_ = true; }

 private:
  Logger& log_;
  std::vector<Puppet> puppets_;
  bool released_ = false;
};

// Creates every process of the plan in pstree order (each by its parent puppet), runs each
// puppet's setup, and has every living puppet map its trampoline. Afterwards all puppets block
// on their control sockets, ready to be seized.
Status CreateTree(const PuppetContext& ctx, CreatedTree& tree, Logger& log);

}  // namespace stasis::restore
