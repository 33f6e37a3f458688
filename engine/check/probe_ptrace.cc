// Ptrace and cross-process access, exercised on a tracee child: the same calls dump makes.
#include <elf.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "engine/inject/rseq_config.h"
#include "engine/check/kernel_abi.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr int kTraceeSetupTimeoutMs = 2000;

uint64_t SigBit(int sig) { return 1ull << (sig - 1); }

// Runs in the tracee: state for the tracer to find, then sleeps until killed.
int TraceeMain(int ready_fd) noexcept {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, nullptr);

  // A one-instruction filter that allows everything, for PTRACE_SECCOMP_GET_FILTER to find.
  sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  sock_fprog prog = {1, allow};
  unsigned char seccomp_errno = 0;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
    seccomp_errno = static_cast<unsigned char>(errno);
  if (write(ready_fd, &seccomp_errno, 1) != 1) return 1;
  for (;;) pause();
}

void ProbeProcessVm(ProbeReport& r, pid_t pid, const unsigned char* buf) noexcept {
  unsigned char local[256];
  iovec liov{local, sizeof(local)};
  iovec riov{const_cast<unsigned char*>(buf), sizeof(local)};
  if (process_vm_readv(pid, &liov, 1, &riov, 1, 0) != static_cast<ssize_t>(sizeof(local)))
    return r.MissingErrno(Feature::kProcessVmRw, errno, "process_vm_readv");
  if (std::memcmp(local, buf, sizeof(local)) != 0)
    return r.Missing(Feature::kProcessVmRw, "process_vm_readv returned the wrong bytes");
  for (size_t i = 0; i < sizeof(local); ++i) local[i] = static_cast<unsigned char>(~local[i]);
  if (process_vm_writev(pid, &liov, 1, &riov, 1, 0) != static_cast<ssize_t>(sizeof(local)))
    return r.MissingErrno(Feature::kProcessVmRw, errno, "process_vm_writev");
  unsigned char back[256];
  iovec biov{back, sizeof(back)};
  if (process_vm_readv(pid, &biov, 1, &riov, 1, 0) != static_cast<ssize_t>(sizeof(back)) ||
      std::memcmp(back, local, sizeof(back)) != 0)
    return r.Missing(Feature::kProcessVmRw, "process_vm_writev did not change the target");
  r.Ok(Feature::kProcessVmRw, "read and wrote %zu bytes of a child", sizeof(local));
}

void ProbePidfdAndKcmp(ProbeReport& r, pid_t pid, int shared_fd) noexcept {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    r.MissingErrno(Feature::kPidfdGetfd, errno, "pidfd_open");
  } else {
    int got = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, shared_fd, 0));
    struct stat a, b;
    if (got < 0) {
      r.MissingErrno(Feature::kPidfdGetfd, errno, "pidfd_getfd");
    } else if (fstat(got, &a) != 0 || fstat(shared_fd, &b) != 0 || a.st_ino != b.st_ino ||
               a.st_dev != b.st_dev) {
      r.Missing(Feature::kPidfdGetfd, "pidfd_getfd returned a different file");
    } else {
      r.Ok(Feature::kPidfdGetfd, "took fd %d from a child", shared_fd);
    }
    if (got >= 0) close(got);
    close(pidfd);
  }

  long same = syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, shared_fd, shared_fd);
  if (same < 0) return r.MissingErrno(Feature::kKcmp, errno, "kcmp(KCMP_FILE)");
  long vm = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);
  if (vm < 0) return r.MissingErrno(Feature::kKcmp, errno, "kcmp(KCMP_VM)");
  if (same != 0 || vm == 0)
    return r.Missing(Feature::kKcmp, "kcmp gave wrong answers (file %ld, vm %ld)", same, vm);
  r.Ok(Feature::kKcmp, "KCMP_FILE and KCMP_VM agree with fork()");
}

void ProbeSigmask(ProbeReport& r, pid_t pid) noexcept {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask) != 0)
    return r.MissingErrno(Feature::kPtraceSigmask, errno, "PTRACE_GETSIGMASK");
  if ((mask & (SigBit(SIGUSR1) | SigBit(SIGUSR2))) != (SigBit(SIGUSR1) | SigBit(SIGUSR2)))
    return r.Missing(Feature::kPtraceSigmask, "mask 0x%llx lacks the blocked signals",
                     static_cast<unsigned long long>(mask));
  uint64_t more = mask | SigBit(SIGHUP), back = 0;
  if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(more), &more) != 0)
    return r.MissingErrno(Feature::kPtraceSigmask, errno, "PTRACE_SETSIGMASK");
  if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(back), &back) != 0 || back != more)
    return r.Missing(Feature::kPtraceSigmask, "PTRACE_SETSIGMASK did not take");
  r.Ok(Feature::kPtraceSigmask, "get and set");
}

void ProbePeekSiginfo(ProbeReport& r, pid_t pid) noexcept {
  siginfo_t si[4];
  __ptrace_peeksiginfo_args args{0, 0, 4};
  long n = ptrace(PTRACE_PEEKSIGINFO, pid, &args, si);
  if (n < 0) return r.MissingErrno(Feature::kPtracePeekSiginfo, errno, "PTRACE_PEEKSIGINFO");
  if (n != 1 || si[0].si_signo != SIGUSR2)
    return r.Missing(Feature::kPtracePeekSiginfo, "per-thread queue: %ld entries, expected SIGUSR2", n);
  args.flags = PTRACE_PEEKSIGINFO_SHARED;
  n = ptrace(PTRACE_PEEKSIGINFO, pid, &args, si);
  if (n < 0) return r.MissingErrno(Feature::kPtracePeekSiginfo, errno, "PTRACE_PEEKSIGINFO shared");
  if (n != 1 || si[0].si_signo != SIGUSR1)
    return r.Missing(Feature::kPtracePeekSiginfo, "shared queue: %ld entries, expected SIGUSR1", n);
  r.Ok(Feature::kPtracePeekSiginfo, "per-thread and shared queues");
}

void ProbeXstate(ProbeReport& r, pid_t pid) noexcept {
  alignas(64) unsigned char area[32768];
  iovec iov{area, sizeof(area)};
  if (ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov) != 0)
    return r.MissingErrno(Feature::kPtraceXstate, errno, "PTRACE_GETREGSET NT_X86_XSTATE");
  if (iov.iov_len < 576)
    return r.Missing(Feature::kPtraceXstate, "xstate of only %zu bytes", iov.iov_len);
  uint64_t xstate_bv;
  std::memcpy(&xstate_bv, area + 512, sizeof(xstate_bv));
  r.Ok(Feature::kPtraceXstate, "%zu bytes, XSTATE_BV 0x%llx", iov.iov_len,
       static_cast<unsigned long long>(xstate_bv));
}

void ProbeRseqConfig(ProbeReport& r, pid_t pid) noexcept {
  auto conf = inject::GetRseqConfig(pid);
  if (!conf.ok())
    return r.MissingErrno(Feature::kPtraceRseqConfig, conf.error().sys_errno(), "PTRACE_GET_RSEQ_CONFIGURATION");
  if (conf->area == 0) return r.Ok(Feature::kPtraceRseqConfig, "works; the test child has no rseq area");
  r.Ok(Feature::kPtraceRseqConfig, "rseq area of %u bytes, signature 0x%x", conf->size, conf->signature);
}

void ProbeSeccompFilter(ProbeReport& r, pid_t pid, int tracee_seccomp_errno) noexcept {
  if (tracee_seccomp_errno != 0)
    return r.MissingErrno(Feature::kPtraceSeccompFilter, tracee_seccomp_errno,
                          "installing a test filter");
  sock_filter insns[4];
  long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, insns);
  if (n < 0) return r.MissingErrno(Feature::kPtraceSeccompFilter, errno, "PTRACE_SECCOMP_GET_FILTER");
  if (n != 1 || insns[0].code != (BPF_RET | BPF_K) || insns[0].k != SECCOMP_RET_ALLOW)
    return r.Missing(Feature::kPtraceSeccompFilter, "read back %ld instructions, expected our 1", n);
  r.Ok(Feature::kPtraceSeccompFilter, "read back a test filter");
}

void MissingAfterSeize(ProbeReport& r, const char* why) noexcept {
  for (Feature f : {Feature::kPtraceSigmask, Feature::kPtracePeekSiginfo, Feature::kPtraceXstate,
                    Feature::kPtraceRseqConfig, Feature::kPtraceSeccompFilter})
    r.Missing(f, "not tried: %s", why);
}

}  // namespace

void ProbePtrace(ProbeReport& r) noexcept {
  // Known bytes at an address the tracee shares with us (fork copies this stack frame).
  unsigned char pattern[256];
  for (size_t i = 0; i < sizeof(pattern); ++i) pattern[i] = static_cast<unsigned char>(i * 7 + 1);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    for (Feature f : {Feature::kPtraceSeize, Feature::kProcessVmRw, Feature::kPidfdGetfd, Feature::kKcmp})
      r.MissingErrno(f, errno, "pipe2");
    return MissingAfterSeize(r, "no pipe");
  }
  const int ready_w = pipe_fds[1];
  pid_t pid = ForkHelper([ready_w]() noexcept { return TraceeMain(ready_w); });
  close(pipe_fds[1]);
  if (pid < 0) {
    for (Feature f : {Feature::kPtraceSeize, Feature::kProcessVmRw, Feature::kPidfdGetfd, Feature::kKcmp})
      r.MissingErrno(f, -pid, "fork");
    return MissingAfterSeize(r, "no child");
  }

  pollfd pfd{pipe_fds[0], POLLIN, 0};
  unsigned char seccomp_errno = 0;
  if (poll(&pfd, 1, kTraceeSetupTimeoutMs) != 1 || read(pipe_fds[0], &seccomp_errno, 1) != 1) {
    r.Missing(Feature::kPtraceSeize, "test child did not start");
    MissingAfterSeize(r, "test child did not start");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, __WALL);
    return;
  }

  ProbeProcessVm(r, pid, pattern);
  ProbePidfdAndKcmp(r, pid, pipe_fds[0]);

  // One signal pending for the process, one for the thread, both blocked: PEEKSIGINFO finds them.
  kill(pid, SIGUSR1);
  syscall(SYS_tgkill, pid, pid, SIGUSR2);

  int status = 0;
  if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) != 0) {
    r.MissingErrno(Feature::kPtraceSeize, errno, "PTRACE_SEIZE");
    MissingAfterSeize(r, "PTRACE_SEIZE failed");
  } else if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) {
    r.MissingErrno(Feature::kPtraceSeize, errno, "PTRACE_INTERRUPT");
    MissingAfterSeize(r, "PTRACE_INTERRUPT failed");
  } else if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status) ||
             (status >> 16) != PTRACE_EVENT_STOP) {
    r.Missing(Feature::kPtraceSeize, "no PTRACE_EVENT_STOP after PTRACE_INTERRUPT (status 0x%x)", status);
    MissingAfterSeize(r, "the child did not stop");
  } else {
    r.Ok(Feature::kPtraceSeize, "seized and interrupted a child");
    ProbeSigmask(r, pid);
    ProbePeekSiginfo(r, pid);
    ProbeXstate(r, pid);
    ProbeRseqConfig(r, pid);
    ProbeSeccompFilter(r, pid, seccomp_errno);
  }
  close(pipe_fds[0]);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, __WALL);
}

}  // namespace stasis::check
