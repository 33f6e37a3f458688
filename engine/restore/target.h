// One puppet, seized, being turned back into its dumped process by syscalls injected through
// its trampoline. The steps (memory, threads, signals, creds, resume) each live in their own
// file and share this context.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/log.h"
#include "engine/images/image_format.h"
#include "engine/inject/syscall_injector.h"
#include "engine/restore/image_set.h"
#include "engine/restore/plan.h"
#include "engine/restore/tree.h"

namespace stasis::restore {

// What every per-process step may need from the whole restore.
struct RestoreContext {
  const ImageSet* set = nullptr;
  const RestorePlan* plan = nullptr;
  std::string images_dir;
  Logger* log = nullptr;
  pid_t coordinator = 0;
  int cap_last_cap = 40;
  // Where the coordinator maps each plan.shared_anon object; puppets map it through
  // /proc/COORDINATOR/map_files so every VMA shares the same shmem pages.
  std::vector<uint64_t> shared_anon_addrs;
};

class Target {
 public:
  Target(const ProcessImage& image, const ProcessPlan& plan, Puppet& puppet)
      : image_(image), plan_(plan), puppet_(puppet) {}
  // A target is never handed back as it was: on failure the whole tree is killed instead.
  ~Target() {
    for (inject::SyscallInjector& inj : injectors_) inj.Release();
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  const ProcessImage& image() const { return image_; }
  const ProcessPlan& plan() const { return plan_; }
  Puppet& puppet() { return puppet_; }
  pid_t pid() const { return puppet_.pid; }
  std::string who() const { return "pid " + std::to_string(puppet_.pid); }

  // injectors()[i] drives puppet().threads[i]; [0] is the main thread.
  std::vector<inject::SyscallInjector>& injectors() { return injectors_; }
  inject::SyscallInjector& main() { return injectors_[0]; }

  uint64_t trampoline() const { return puppet_.trampoline; }
  static constexpr size_t kDataSize = 2 * images::kPageSize;
  uint64_t data() const { return puppet_.trampoline + images::kPageSize; }
  // Copies bytes into the trampoline's data pages; returns their address in the target.
  Result<uint64_t> Put(size_t offset, const void* bytes, size_t size);
  // A NUL-terminated string at `offset` of the data pages.
  Result<uint64_t> PutString(size_t offset, const std::string& s);

 private:
  const ProcessImage& image_;
  const ProcessPlan& plan_;
  Puppet& puppet_;
  std::vector<inject::SyscallInjector> injectors_;
};

// memory.cc
Status DropPuppetRseq(Target& t);              // the coordinator's rseq area is about to vanish
Status UnmapPuppetMemory(Target& t);           // all but the trampoline and the vDSO areas
Status MoveVdso(const RestoreContext& ctx, Target& t);   // vDSO/vvar to their dumped addresses
Status MapVmas(const RestoreContext& ctx, Target& t);
Status WritePages(const RestoreContext& ctx, Target& t);   // process_vm_writev, many runs per call
Status FinishVmas(const RestoreContext& ctx, Target& t);   // final protections and madvise
// mm_fields.cc
Status RestoreMmFields(Target& t);             // PR_SET_MM_MAP: brk, args, env, auxv, exe
// threads.cc
Status CreateThreads(Target& t);
Status RestoreThreadState(Target& t);          // tid address, rseq, sigaltstack, comm
// signals.cc
Status RestoreSigactions(Target& t);
Status QueuePendingSignals(const RestoreContext& ctx, Target& t);
// creds.cc
Status RestoreRlimits(const RestoreContext& ctx, Target& t);
Status RestoreCredsAndProcessState(const RestoreContext& ctx, Target& t);
// resume.cc
Status SetFinalThreadState(Target& t);         // unmaps the trampoline; registers, xstate, mask

}  // namespace stasis::restore
