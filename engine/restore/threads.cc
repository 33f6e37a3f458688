// Threads: created by a clone3 injected into the main thread with each dumped tid, then given
// their per-thread kernel state (tid address, rseq, sigaltstack, name) through their own
// injectors.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "engine/inject/seized_task.h"
#include "engine/restore/clone_args.h"
#include "engine/restore/image_checks.h"
#include "engine/restore/namespaces_restore.h"
#include "engine/restore/target.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                  CLONE_SYSVSEM;
constexpr size_t kTidOffset = 128;
constexpr uint32_t kSsAutodisarm = 1u << 31;   // <linux/signal.h>, not in glibc   // after the CloneArgs in the data pages

// stack_t of the kernel ABI.
struct KernelStack {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};

}  // namespace

Status CreateThreads(Target& t) {
  const img::TaskCore& core = t.image().core;
  for (int i = 1; i < core.threads_size(); ++i) {
    const pid_t tid = static_cast<pid_t>(core.threads(i).tid());
    const std::string who = t.who() + ": thread " + std::to_string(tid);
    const uint64_t set_tid = STASIS_VALUE(t.Put(kTidOffset, &tid, sizeof tid));
    CloneArgs args;
    args.flags = kThreadFlags;
    args.set_tid = set_tid;
    args.set_tid_size = 1;
    const uint64_t remote_args = STASIS_VALUE(t.Put(0, &args, sizeof args));
    auto r = t.main().Syscall(SYS_clone3, remote_args, sizeof args);
    if (!r.ok()) return std::move(r.error().Context(who));
    if (*r == -EEXIST) return InvalidArg(who + ": tid " + std::to_string(tid) + " is in use");
    if (*r < 0) return SysError(who + ": clone3", static_cast<int>(-*r));
    if (*r != tid) return Internal(who + ": the kernel gave tid " + std::to_string(*r) + " instead");
    // Inside a restored pid namespace, `tid` is the inside id; ptrace wants ours.
    const pid_t traced = t.puppet().ns_pid != 0 ? STASIS_VALUE_CTX(HostTidOf(t.pid(), tid), who) : tid;
    // PTRACE_O_TRACECLONE attached it; it reports a stop before running any user code.
    auto stop = inject::WaitForStop(traced);
    if (!stop.ok()) return std::move(stop.error().Context(who));
    t.puppet().threads.push_back(inject::SeizedThread::Adopt(traced));
    t.injectors().push_back(STASIS_VALUE_CTX(inject::SyscallInjector::Create(traced, t.trampoline()), who));
  }
  return Status::Ok();
}

Status RestoreThreadState(Target& t) {
  const img::TaskCore& core = t.image().core;
  for (int i = 0; i < core.threads_size(); ++i) {
    const img::ThreadCore& th = core.threads(i);
    inject::SyscallInjector& inj = t.injectors()[static_cast<size_t>(i)];
    const std::string who = t.who() + ": thread " + std::to_string(th.tid());

    STASIS_TRY_CTX(inj.Checked("set_tid_address", SYS_set_tid_address, th.clear_child_tid()), who);
    if (th.has_rseq() && th.rseq().ptr() != 0)
      STASIS_TRY_CTX(inj.Checked("rseq", SYS_rseq, th.rseq().ptr(), th.rseq().len(), 0, th.rseq().sig()),
                     who + ": rseq area " + Hex(th.rseq().ptr()));
    if (th.has_altstack() && !(th.altstack().flags() & SS_DISABLE) && th.altstack().size() != 0) {
      // SS_ONSTACK only describes where the thread was; the kernel takes SS_AUTODISARM.
      KernelStack ss{th.altstack().sp(), static_cast<int32_t>(th.altstack().flags() & kSsAutodisarm), 0,
                     th.altstack().size()};
      const uint64_t remote = STASIS_VALUE(t.Put(0, &ss, sizeof ss));
      STASIS_TRY_CTX(inj.Checked("sigaltstack", SYS_sigaltstack, remote, 0), who);
    }
    if (!th.comm().empty()) {
      const uint64_t name = STASIS_VALUE(t.PutString(0, th.comm().substr(0, 15)));
      STASIS_TRY_CTX(inj.Checked("prctl(PR_SET_NAME)", SYS_prctl, PR_SET_NAME, name), who);
    }
  }
  return Status::Ok();
}

}  // namespace stasis::restore
