#include "engine/inject/syscall_injector.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/arch/x86_64/cpu_state.h"
#include "engine/common/fd.h"
#include "engine/inject/seized_task.h"

namespace stasis::inject {
namespace {

constexpr int kSyscallStop = SIGTRAP | 0x80;  // with PTRACE_O_TRACESYSGOOD

std::string Tid(pid_t tid) { return "thread " + std::to_string(tid); }

Status Resume(pid_t tid, __ptrace_request request) {
  if (::ptrace(request, tid, nullptr, nullptr) != 0)
    return SysError(std::string(request == PTRACE_SYSCALL ? "PTRACE_SYSCALL " : "PTRACE_CONT ") + Tid(tid));
  return Status::Ok();
}

// Resumes with PTRACE_SYSCALL until the next syscall stop, passing over the event stops a
// clone (PTRACE_EVENT_CLONE) or an interrupt produces on the way.
Status StepToSyscallStop(pid_t tid) {
  for (;;) {
    STASIS_TRY(Resume(tid, PTRACE_SYSCALL));
    int status = STASIS_VALUE(WaitForStop(tid));
    if (WSTOPSIG(status) == kSyscallStop) return Status::Ok();
    if ((status >> 16) != 0) continue;  // PTRACE_EVENT_*: nothing to deliver
    // With every signal blocked only synchronous faults or SIGSTOP arrive here: the injected
    // code is a single syscall instruction, so a fault means the address is wrong.
    return Error(ErrorKind::kInternal, Tid(tid) + ": unexpected signal " +
                                           std::to_string(WSTOPSIG(status)) + " during syscall injection");
  }
}

Status SetSigmask(pid_t tid, uint64_t mask) {
  if (::ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    return SysError("PTRACE_SETSIGMASK " + Tid(tid));
  return Status::Ok();
}

}  // namespace

Result<SyscallInjector> SyscallInjector::Create(pid_t tid, uint64_t syscall_insn) {
  user_regs_struct saved = STASIS_VALUE(arch::GetRegs(tid));
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, tid, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    return SysError("PTRACE_GETSIGMASK " + Tid(tid));
  // Block everything while we drive the thread: a signal arriving meanwhile stays pending
  // instead of being dequeued (and lost) at one of our stops.
  STASIS_TRY(SetSigmask(tid, ~0ull));
  SyscallInjector inj(tid, syscall_insn, saved);
  inj.saved_mask_ = mask;
  return inj;
}

SyscallInjector::SyscallInjector(SyscallInjector&& o) noexcept
    : tid_(o.tid_), insn_(o.insn_), saved_(o.saved_), saved_mask_(o.saved_mask_),
      active_(o.active_), moved_regs_(o.moved_regs_) {
  o.active_ = false;
}

SyscallInjector::~SyscallInjector() { (void)Restore(); }

Result<int64_t> SyscallInjector::Syscall(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                         uint64_t a5, uint64_t a6) {
  if (!active_) return Internal(Tid(tid_) + ": syscall injector used after release");
  const uint64_t args[6] = {a1, a2, a3, a4, a5, a6};
  user_regs_struct r = saved_;
  arch::PrepareSyscall(r, insn_, nr, args);
  STASIS_TRY(arch::SetRegs(tid_, r));
  moved_regs_ = true;
  STASIS_TRY(StepToSyscallStop(tid_));  // entry
  STASIS_TRY(StepToSyscallStop(tid_));  // exit
  user_regs_struct after = STASIS_VALUE(arch::GetRegs(tid_));
  return arch::SyscallReturn(after);
}

Result<uint64_t> SyscallInjector::Checked(const char* what, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                          uint64_t a4, uint64_t a5, uint64_t a6) {
  int64_t ret = STASIS_VALUE(Syscall(nr, a1, a2, a3, a4, a5, a6));
  if (ret < 0 && ret > -4096)
    return SysError(std::string(what) + " in " + Tid(tid_), static_cast<int>(-ret));
  return static_cast<uint64_t>(ret);
}

Status SyscallInjector::Restore() {
  if (!active_) return Status::Ok();
  active_ = false;
  if (moved_regs_) {
    // The thread sits at a syscall-exit stop. Ask for an interrupt and let it run into the
    // signal-handling path, where it stops again before any user instruction; registers set
    // there get the kernel's normal syscall-restart treatment when the thread is resumed, so
    // a thread frozen inside read() or nanosleep() continues exactly as it would have.
    if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return SysError("PTRACE_INTERRUPT " + Tid(tid_));
    STASIS_TRY(Resume(tid_, PTRACE_CONT));
    for (;;) {
      int status = STASIS_VALUE(WaitForStop(tid_));
      if ((status >> 16) == PTRACE_EVENT_STOP) break;
      STASIS_TRY(Resume(tid_, PTRACE_CONT));
    }
  }
  STASIS_TRY(arch::SetRegs(tid_, saved_));
  return SetSigmask(tid_, saved_mask_);
}

Result<uint64_t> FindVdsoSyscall(pid_t pid) {
  const std::string maps = STASIS_VALUE(ReadFileToString("/proc/" + std::to_string(pid) + "/maps"));
  size_t pos = maps.find("[vdso]");
  if (pos == std::string::npos) return Unsupported("pid " + std::to_string(pid) + " has no vDSO");
  size_t line = maps.rfind('\n', pos);
  line = (line == std::string::npos) ? 0 : line + 1;
  unsigned long long start = 0, end = 0;
  if (std::sscanf(maps.c_str() + line, "%llx-%llx", &start, &end) != 2 || end <= start || end - start > (1 << 20))
    return Internal("pid " + std::to_string(pid) + ": cannot parse the [vdso] line of maps");
  std::vector<unsigned char> code(end - start);
  STASIS_TRY(ReadRemote(pid, start, code.data(), code.size()));
  for (size_t i = 0; i + 1 < code.size(); ++i)
    if (code[i] == 0x0f && code[i + 1] == 0x05) return start + i;
  return Unsupported("pid " + std::to_string(pid) + ": no syscall instruction in the vDSO");
}

namespace {

Status ProcMemIo(pid_t pid, uint64_t addr, void* buf, size_t size, bool write) {
  const std::string path = "/proc/" + std::to_string(pid) + "/mem";
  auto fd = STASIS_VALUE(OpenFile(path, write ? O_RDWR : O_RDONLY));
  char* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = write ? ::pwrite(fd.get(), p, size, static_cast<off_t>(addr))
                      : ::pread(fd.get(), p, size, static_cast<off_t>(addr));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SysError((write ? "write " : "read ") + path + " at " + std::to_string(addr), n == 0 ? EIO : errno);
    p += n;
    addr += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status ReadRemote(pid_t pid, uint64_t addr, void* buf, size_t size) {
  iovec local{buf, size};
  iovec remote{reinterpret_cast<void*>(addr), size};
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(size)) return Status::Ok();
  return ProcMemIo(pid, addr, buf, size, false);
}

Status WriteRemote(pid_t pid, uint64_t addr, const void* buf, size_t size) {
  iovec local{const_cast<void*>(buf), size};
  iovec remote{reinterpret_cast<void*>(addr), size};
  ssize_t n = ::process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(size)) return Status::Ok();
  return ProcMemIo(pid, addr, const_cast<void*>(buf), size, true);
}

Result<RemoteScratch> RemoteScratch::Map(SyscallInjector& inj, size_t size) {
  uint64_t addr = STASIS_VALUE(inj.Checked("mmap scratch", SYS_mmap, 0, size, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0));
  return RemoteScratch(&inj, addr, size);
}

RemoteScratch::RemoteScratch(RemoteScratch&& o) noexcept : inj_(o.inj_), addr_(o.addr_), size_(o.size_) {
  o.inj_ = nullptr;
}

Status RemoteScratch::Unmap() {
  if (inj_ == nullptr) return Status::Ok();
  SyscallInjector* inj = inj_;
  inj_ = nullptr;
  return inj->Checked("munmap scratch", SYS_munmap, addr_, size_).ok()
             ? Status::Ok()
             : Status(Internal("cannot unmap the scratch page"));
}

RemoteScratch::~RemoteScratch() { (void)Unmap(); }

}  // namespace stasis::inject
