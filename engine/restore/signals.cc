// Signal dispositions (process-wide) and pending signals (shared and per thread).
#include <signal.h>
#include <sys/syscall.h>

#include <cstring>

#include "engine/arch/x86_64/kernel_sigaction.h"
#include "engine/restore/target.h"

namespace stasis::restore {
namespace {

using arch::KernelSigaction;

int SignalOf(const std::string& siginfo) {
  int32_t signo;
  std::memcpy(&signo, siginfo.data(), sizeof signo);
  return signo;
}

bool Unblockable(int sig) { return sig == SIGKILL || sig == SIGSTOP; }

}  // namespace

Status RestoreSigactions(Target& t) {
  for (const img::SigAction& sa : t.image().core.sigactions()) {
    KernelSigaction act{sa.handler(), sa.flags(), sa.restorer(), sa.mask()};
    const uint64_t remote = STASIS_VALUE(t.Put(0, &act, sizeof act));
    STASIS_TRY_CTX(t.main().Checked("rt_sigaction", SYS_rt_sigaction, sa.signo(), remote, 0, 8),
                   t.who() + ": signal " + std::to_string(sa.signo()));
  }
  return Status::Ok();
}

// Every thread has all signals blocked while an injector drives it, so what is queued here
// stays pending until the final masks are set. Queued from inside the process so the kernel
// accepts every si_code, in the dumped order.
Status QueuePendingSignals(const RestoreContext& ctx, Target& t) {
  const img::TaskCore& core = t.image().core;
  for (const std::string& info : core.shared_pending()) {
    const int sig = SignalOf(info);
    if (Unblockable(sig)) {
      ctx.log->Warn("%s: pending signal %d is not restored", t.who().c_str(), sig);
      continue;
    }
    const uint64_t remote = STASIS_VALUE(t.Put(0, info.data(), info.size()));
    STASIS_TRY_CTX(t.main().Checked("rt_sigqueueinfo", SYS_rt_sigqueueinfo, static_cast<uint64_t>(t.image().pid()),
                                    static_cast<uint64_t>(sig), remote),
                   t.who() + ": queue shared signal " + std::to_string(sig));
  }
  for (int i = 0; i < core.threads_size(); ++i) {
    const img::ThreadCore& th = core.threads(i);
    for (const std::string& info : th.pending()) {
      const int sig = SignalOf(info);
      if (Unblockable(sig)) {
        ctx.log->Warn("%s: pending signal %d of thread %u is not restored", t.who().c_str(), sig, th.tid());
        continue;
      }
      const uint64_t remote = STASIS_VALUE(t.Put(0, info.data(), info.size()));
      STASIS_TRY_CTX(t.injectors()[static_cast<size_t>(i)].Checked(
                         "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, static_cast<uint64_t>(t.image().pid()),
                         th.tid(), static_cast<uint64_t>(sig), remote),
                     t.who() + ": queue signal " + std::to_string(sig) + " for thread " + std::to_string(th.tid()));
    }
  }
  return Status::Ok();
}

}  // namespace stasis::restore
