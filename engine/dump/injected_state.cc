#include "engine/dump/injected_state.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstring>

#include "engine/arch/x86_64/kernel_sigaction.h"
#include "engine/inject/syscall_injector.h"

namespace stasis::dump {
namespace {

constexpr size_t kScratchSize = 4096;
constexpr int kMaxSignal = 64;

using arch::KernelSigaction;

// kernel stack_t
struct KernelStack {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};

// Layout of the scratch page.
struct ScratchLayout {
  KernelSigaction actions[kMaxSignal];
  int32_t pdeath_signal;
  int32_t child_subreaper;
  KernelStack altstack;
  uint64_t tid_address;
};
static_assert(sizeof(ScratchLayout) <= kScratchSize);
static_assert(std::is_trivially_copyable_v<ScratchLayout>);

uint64_t Field(uint64_t scratch, size_t offset) { return scratch + offset; }

Status CollectSigactions(inject::SyscallInjector& inj, pid_t pid, uint64_t scratch, img::TaskCore* core) {
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    STASIS_TRY(inj.Checked("rt_sigaction", SYS_rt_sigaction, static_cast<uint64_t>(sig), 0,
                           Field(scratch, offsetof(ScratchLayout, actions) + (sig - 1) * sizeof(KernelSigaction)),
                           sizeof(uint64_t)));
  }
  KernelSigaction actions[kMaxSignal];
  STASIS_TRY(inject::ReadRemote(pid, Field(scratch, offsetof(ScratchLayout, actions)), actions, sizeof actions));
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    const KernelSigaction& a = actions[sig - 1];
    if (a.handler == 0 && a.flags == 0 && a.mask == 0 && a.restorer == 0) continue;   // SIG_DFL, untouched
    img::SigAction* out = core->add_sigactions();
    out->set_signo(static_cast<uint32_t>(sig));
    out->set_handler(a.handler);
    out->set_flags(a.flags);
    out->set_restorer(a.restorer);
    out->set_mask(a.mask);
  }
  return Status::Ok();
}

Status CollectProcessPrctls(inject::SyscallInjector& inj, pid_t pid, uint64_t scratch, ProcessImages* out) {
  STASIS_TRY(inj.Checked("prctl(PR_GET_PDEATHSIG)", SYS_prctl, PR_GET_PDEATHSIG,
                         Field(scratch, offsetof(ScratchLayout, pdeath_signal))));
  STASIS_TRY(inj.Checked("prctl(PR_GET_CHILD_SUBREAPER)", SYS_prctl, PR_GET_CHILD_SUBREAPER,
                         Field(scratch, offsetof(ScratchLayout, child_subreaper))));
  uint64_t dumpable = STASIS_VALUE(inj.Checked("prctl(PR_GET_DUMPABLE)", SYS_prctl, PR_GET_DUMPABLE));
  uint64_t thp_disable = STASIS_VALUE(inj.Checked("prctl(PR_GET_THP_DISABLE)", SYS_prctl, PR_GET_THP_DISABLE));
  // brk(0) cannot fail: it returns the current break.
  uint64_t brk = STASIS_VALUE(inj.Checked("brk", SYS_brk, 0));
  int32_t values[2];
  STASIS_TRY(inject::ReadRemote(pid, Field(scratch, offsetof(ScratchLayout, pdeath_signal)), values, sizeof values));
  out->core.set_pdeath_signal(static_cast<uint32_t>(values[0]));
  out->core.set_child_subreaper(values[1] != 0);
  out->core.set_dumpable(static_cast<uint32_t>(dumpable));
  out->core.set_thp_disable(static_cast<uint32_t>(thp_disable));
  out->mm.set_brk(brk);
  return Status::Ok();
}

Status CollectThreadState(inject::SyscallInjector& inj, pid_t pid, uint64_t scratch, img::ThreadCore* t) {
  STASIS_TRY(inj.Checked("sigaltstack", SYS_sigaltstack, 0, Field(scratch, offsetof(ScratchLayout, altstack))));
  STASIS_TRY(inj.Checked("prctl(PR_GET_TID_ADDRESS)", SYS_prctl, PR_GET_TID_ADDRESS,
                         Field(scratch, offsetof(ScratchLayout, tid_address))));
  uint64_t securebits = STASIS_VALUE(inj.Checked("prctl(PR_GET_SECUREBITS)", SYS_prctl, PR_GET_SECUREBITS));
  // Timer slack is per thread: each injector asks its own thread.
  uint64_t timer_slack = STASIS_VALUE(inj.Checked("prctl(PR_GET_TIMERSLACK)", SYS_prctl, PR_GET_TIMERSLACK));
  struct {
    KernelStack altstack;
    uint64_t tid_address;
  } got;
  static_assert(offsetof(ScratchLayout, tid_address) - offsetof(ScratchLayout, altstack) == sizeof(KernelStack));
  STASIS_TRY(inject::ReadRemote(pid, Field(scratch, offsetof(ScratchLayout, altstack)), &got, sizeof got));
  t->mutable_altstack()->set_sp(got.altstack.sp);
  t->mutable_altstack()->set_flags(static_cast<uint32_t>(got.altstack.flags));
  t->mutable_altstack()->set_size(got.altstack.size);
  t->set_clear_child_tid(got.tid_address);
  t->mutable_creds()->set_securebits(static_cast<uint32_t>(securebits));
  t->set_timer_slack_ns(timer_slack);
  return Status::Ok();
}

}  // namespace

Status CollectInjectedState(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  const pid_t pid = p.pid;
  const std::string who = "pid " + std::to_string(pid);
  if (out->core.threads_size() != static_cast<int>(p.threads.size()))
    return Internal(who + ": thread list changed between collectors");
  const uint64_t insn = STASIS_VALUE_CTX(inject::FindVdsoSyscall(pid), who);
  inject::SyscallInjector main = STASIS_VALUE_CTX(inject::SyscallInjector::Create(pid, insn), who);
  {
    inject::RemoteScratch scratch = STASIS_VALUE_CTX(inject::RemoteScratch::Map(main, kScratchSize), who);
    ctx.log.Debug("pid %d: scratch page at %#llx", pid, static_cast<unsigned long long>(scratch.addr()));
    STASIS_TRY_CTX(CollectSigactions(main, pid, scratch.addr(), &out->core), who);
    STASIS_TRY_CTX(CollectProcessPrctls(main, pid, scratch.addr(), out), who);
    for (size_t i = 0; i < p.threads.size(); ++i) {
      const pid_t tid = p.threads[i]->tid();
      img::ThreadCore* t = out->core.mutable_threads(static_cast<int>(i));
      if (tid == pid) {
        STASIS_TRY_CTX(CollectThreadState(main, pid, scratch.addr(), t), who);
        continue;
      }
      inject::SyscallInjector inj = STASIS_VALUE_CTX(inject::SyscallInjector::Create(tid, insn), who);
      STASIS_TRY_CTX(CollectThreadState(inj, pid, scratch.addr(), t), who + " thread " + std::to_string(tid));
      STASIS_TRY_CTX(inj.Restore(), who);
    }
    STASIS_TRY_CTX(scratch.Unmap(), who);
  }
  STASIS_TRY_CTX(main.Restore(), who);
  return Status::Ok();
}

}  // namespace stasis::dump
