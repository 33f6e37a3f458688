// Runs system calls inside a stopped tracee, as if the tracee had called them itself.
//
// The tracee's registers are pointed at a `syscall` instruction that already exists in its
// address space (in the vDSO on the dump side, in the puppet's trampoline on the restore side)
// and stepped with PTRACE_SYSCALL from syscall-entry stop to syscall-exit stop, so no code of
// the tracee other than that one instruction ever runs. Dropping the injector (or calling
// Restore) puts back the original registers such that the kernel's own syscall-restart
// handling still applies to a thread that was frozen inside a syscall.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>

#include "engine/common/error.h"

namespace stasis::inject {

class SyscallInjector {
 public:
  // `tid` must be seized with PTRACE_O_TRACESYSGOOD and in a ptrace-stop.
  static Result<SyscallInjector> Create(pid_t tid, uint64_t syscall_insn);
  SyscallInjector(SyscallInjector&& other) noexcept;
  SyscallInjector& operator=(SyscallInjector&&) = delete;
  ~SyscallInjector();

  // Returns the raw return value (a negative errno on failure of the syscall itself). An
  // Error means the tracee could not be driven (it died, ptrace failed).
  Result<int64_t> Syscall(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                          uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);

  // Like Syscall, but a negative result becomes an Error naming `what`.
  Result<uint64_t> Checked(const char* what, long nr, uint64_t a1 = 0, uint64_t a2 = 0,
                           uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);

  // Puts the original registers back and leaves the thread in a ptrace-stop equivalent to the
  // one it was in before (a thread interrupted inside a syscall will restart it on resume).
  Status Restore();

  // Restore side: leaves the thread at its last syscall-exit stop without restoring anything;
  // the caller then sets the final registers itself.
  void Release() { active_ = false; }

  pid_t tid() const { return tid_; }
  const user_regs_struct& original_regs() const { return saved_; }
  // The blocked-signal mask the thread had before injection. While an injector is active the
  // thread's mask is "everything blocked" (PTRACE_GETSIGMASK would show that): read masks
  // through this, or before creating the injector.
  uint64_t original_sigmask() const { return saved_mask_; }

 private:
  SyscallInjector(pid_t tid, uint64_t insn, const user_regs_struct& saved)
      : tid_(tid), insn_(insn), saved_(saved) {}
  pid_t tid_;
  uint64_t insn_;
  user_regs_struct saved_;
  uint64_t saved_mask_ = 0;
  bool active_ = true;
  bool moved_regs_ = false;   // registers changed since Create
};

// Address of a `syscall` instruction in the target's vDSO, found from /proc/PID/maps and the
// vDSO bytes. Fails with kNotSupported if the process has no vDSO.
Result<uint64_t> FindVdsoSyscall(pid_t pid);

// Reads/writes tracee memory with process_vm_readv/writev (falling back to /proc/PID/mem,
// which can also write read-only pages).
Status ReadRemote(pid_t pid, uint64_t addr, void* buf, size_t size);
Status WriteRemote(pid_t pid, uint64_t addr, const void* buf, size_t size);

// A scratch page mapped in the tracee through the injector, unmapped on destruction.
// Must be destroyed before the injector it was made with.
class RemoteScratch {
 public:
  static Result<RemoteScratch> Map(SyscallInjector& inj, size_t size);
  RemoteScratch(RemoteScratch&& o) noexcept;
  ~RemoteScratch();
  uint64_t addr() const { return addr_; }
  size_t size() const { return size_; }
  Status Unmap();

 private:
  RemoteScratch(SyscallInjector* inj, uint64_t addr, size_t size) : inj_(inj), addr_(addr), size_(size) {}
  SyscallInjector* inj_;
  uint64_t addr_;
  size_t size_;
};

}  // namespace stasis::inject
