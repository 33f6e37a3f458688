#include "engine/inject/seized_task.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <string>

namespace stasis::inject {
namespace {

std::string Tid(pid_t tid) { return "thread " + std::to_string(tid); }

bool IsGroupStopSignal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

}  // namespace

Result<int> WaitForStop(pid_t tid) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return SysError("wait for " + Tid(tid));
    }
    if (WIFEXITED(status) || WIFSIGNALED(status))
      return Error(ErrorKind::kNotFound, Tid(tid) + " exited while stopped by stasis");
    if (WIFSTOPPED(status)) return status;
  }
}

Result<std::unique_ptr<SeizedThread>> SeizedThread::Seize(pid_t tid, unsigned options) {
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, options | PTRACE_O_TRACESYSGOOD) != 0)
    return SysError("PTRACE_SEIZE " + Tid(tid));
  std::unique_ptr<SeizedThread> t(new SeizedThread(tid));
  if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
    Error e = SysError("PTRACE_INTERRUPT " + Tid(tid));
    ::ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    t->Forget();
    return e;
  }
  for (;;) {
    auto st = WaitForStop(tid);
    if (!st.ok()) {
      t->Forget();
      return std::move(st).error();
    }
    const int status = *st;
    const int sig = WSTOPSIG(status);
    if ((status >> 16) == PTRACE_EVENT_STOP) {
      if (IsGroupStopSignal(sig)) t->stop_signal_ = sig;
      return t;
    }
    // A signal reached the thread before our interrupt did: let it be delivered as it would
    // have been (the interrupt stays pending and stops the thread right after), so nothing
    // is lost or reordered.
    if (::ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0) {
      Error e = SysError("PTRACE_CONT " + Tid(tid));
      t->Forget();
      return e;
    }
  }
}

std::unique_ptr<SeizedThread> SeizedThread::Adopt(pid_t tid) {
  return std::unique_ptr<SeizedThread>(new SeizedThread(tid));
}

Status SeizedThread::Detach(int sig) {
  if (!attached_) return Status::Ok();
  attached_ = false;
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) == 0)
    return Status::Ok();
  if (errno != ESRCH) return SysError("PTRACE_DETACH " + Tid(tid_));
  // ESRCH: either gone, or running (not in a ptrace-stop). Stop it, then detach.
  if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return Status::Ok();  // gone
  auto st = WaitForStop(tid_);
  if (!st.ok()) return Status::Ok();
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0)
    return SysError("PTRACE_DETACH " + Tid(tid_));
  return Status::Ok();
}

SeizedThread::~SeizedThread() { (void)Detach(0); }

}  // namespace stasis::inject
