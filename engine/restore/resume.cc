// The last injected syscall removes the trampoline; then every thread gets the registers,
// xstate and signal mask it was dumped with, and waits at its syscall-exit stop to be resumed.
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "engine/arch/x86_64/cpu_state.h"
#include "engine/restore/target.h"

namespace stasis::restore {

Status SetFinalThreadState(Target& t) {
  // The thread stops at syscall exit before returning to the now unmapped instruction.
  STASIS_TRY_CTX(t.main().Checked("munmap trampoline", SYS_munmap, t.trampoline(),
                                  kTrampolinePages * images::kPageSize),
                 t.who());
  for (inject::SyscallInjector& inj : t.injectors()) inj.Release();
  const img::TaskCore& core = t.image().core;
  for (int i = 0; i < core.threads_size(); ++i) {
    const img::ThreadCore& th = core.threads(i);
    // As ptrace sees it: inside a restored pid namespace th.tid() is the inside id.
    const pid_t tid = static_cast<size_t>(i) < t.puppet().threads.size() ? t.puppet().threads[static_cast<size_t>(i)]->tid()
                                                                        : static_cast<pid_t>(th.tid());
    const std::string who = t.who() + ": thread " + std::to_string(th.tid());
    STASIS_TRY_CTX(arch::SetRegs(tid, arch::RegsForResume(arch::RegsFromImage(th.regs()))), who);
    if (!th.xstate().empty()) STASIS_TRY_CTX(arch::SetXstate(tid, th.xstate()), who);
    uint64_t mask = th.blocked_mask();
    if (::ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
      return SysError(who + ": PTRACE_SETSIGMASK");
  }
  return Status::Ok();
}

}  // namespace stasis::restore
