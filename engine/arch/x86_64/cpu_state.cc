#include "engine/arch/x86_64/cpu_state.h"

#include <cpuid.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace stasis::arch {
namespace {

// Kernel-internal restart codes a thread frozen inside a syscall carries in ax.
constexpr long kErestartSys = 512;
constexpr long kErestartNoIntr = 513;
constexpr long kErestartNoHand = 514;
constexpr long kErestartRestartBlock = 516;
constexpr size_t kMaxXstate = 64 * 1024;
constexpr size_t kXstateBvOffset = 512;
constexpr uint64_t kSyscallInsnLen = 2;  // 0f 05

std::string Tid(pid_t tid) { return "thread " + std::to_string(tid); }

}  // namespace

Result<user_regs_struct> GetRegs(pid_t tid) {
  user_regs_struct r{};
  if (::ptrace(PTRACE_GETREGS, tid, nullptr, &r) != 0) return SysError("PTRACE_GETREGS " + Tid(tid));
  return r;
}

Status SetRegs(pid_t tid, const user_regs_struct& regs) {
  if (::ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) return SysError("PTRACE_SETREGS " + Tid(tid));
  return Status::Ok();
}

Result<std::string> GetXstate(pid_t tid) {
  std::string buf(kMaxXstate, '\0');
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
    return SysError("PTRACE_GETREGSET NT_X86_XSTATE " + Tid(tid));
  buf.resize(iov.iov_len);
  return buf;
}

Status SetXstate(pid_t tid, const std::string& xstate) {
  // The kernel wants exactly its own XSAVE size and takes min(iov_len, that size) bytes, so an
  // image from a CPU with a smaller area (a TCG guest's 832 bytes on an AVX-512 host) is padded:
  // the zeros past it are components whose XSTATE_BV bit is clear, i.e. in their init state.
  // (A larger image is cut to this CPU's size by the kernel; CheckCpuFeatures has already
  // refused any component this CPU lacks.)
  std::string copy = xstate;
  copy.resize(std::max(copy.size(), kMaxXstate), '\0');
  iovec iov{copy.data(), copy.size()};
  if (::ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
    return SysError("PTRACE_SETREGSET NT_X86_XSTATE " + Tid(tid) + " (" + std::to_string(xstate.size()) +
                    " bytes, features 0x" + [&] {
                      char b[32];
                      std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(XstateFeatures(xstate)));
                      return std::string(b);
                    }() + ")");
  return Status::Ok();
}

uint64_t XstateFeatures(const std::string& xstate) {
  if (xstate.size() < kXstateBvOffset + 8) return 0;
  uint64_t bv;
  std::memcpy(&bv, xstate.data() + kXstateBvOffset, 8);
  return bv;
}

uint64_t SupportedXfeatures() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0x3;  // x87 + SSE only
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

void RegsToImage(const user_regs_struct& in, img::X86Regs* out) {
  out->set_r15(in.r15); out->set_r14(in.r14); out->set_r13(in.r13); out->set_r12(in.r12);
  out->set_bp(in.rbp); out->set_bx(in.rbx); out->set_r11(in.r11); out->set_r10(in.r10);
  out->set_r9(in.r9); out->set_r8(in.r8); out->set_ax(in.rax); out->set_cx(in.rcx);
  out->set_dx(in.rdx); out->set_si(in.rsi); out->set_di(in.rdi); out->set_orig_ax(in.orig_rax);
  out->set_ip(in.rip); out->set_cs(in.cs); out->set_flags(in.eflags); out->set_sp(in.rsp);
  out->set_ss(in.ss); out->set_fs_base(in.fs_base); out->set_gs_base(in.gs_base);
  out->set_ds(in.ds); out->set_es(in.es); out->set_fs(in.fs); out->set_gs(in.gs);
}

user_regs_struct RegsFromImage(const img::X86Regs& in) {
  user_regs_struct r{};
  r.r15 = in.r15(); r.r14 = in.r14(); r.r13 = in.r13(); r.r12 = in.r12();
  r.rbp = in.bp(); r.rbx = in.bx(); r.r11 = in.r11(); r.r10 = in.r10();
  r.r9 = in.r9(); r.r8 = in.r8(); r.rax = in.ax(); r.rcx = in.cx();
  r.rdx = in.dx(); r.rsi = in.si(); r.rdi = in.di(); r.orig_rax = in.orig_ax();
  r.rip = in.ip(); r.cs = in.cs(); r.eflags = in.flags(); r.rsp = in.sp();
  r.ss = in.ss(); r.fs_base = in.fs_base(); r.gs_base = in.gs_base();
  r.ds = in.ds(); r.es = in.es(); r.fs = in.fs(); r.gs = in.gs();
  return r;
}

user_regs_struct RegsForResume(const user_regs_struct& frozen) {
  user_regs_struct r = frozen;
  const long nr = static_cast<long>(frozen.orig_rax);
  if (nr >= 0) {
    const long ret = -static_cast<long>(frozen.rax);
    switch (ret) {
      case kErestartSys:
      case kErestartNoIntr:
      case kErestartNoHand:
        // The kernel would re-issue the call when no handler runs: do exactly that.
        r.rax = frozen.orig_rax;
        r.rip -= kSyscallInsnLen;
        break;
      case kErestartRestartBlock:
        // The restart block (the kernel's memory of the remaining time) does not survive.
        // nanosleep already wrote the remaining time to *rem: sleep exactly that long.
        if (nr == SYS_nanosleep && frozen.rsi != 0) {
          r.rdi = frozen.rsi;
          r.rax = frozen.orig_rax;
          r.rip -= kSyscallInsnLen;
        } else if (nr == SYS_clock_nanosleep && !(frozen.rsi & TIMER_ABSTIME) && frozen.r10 != 0) {
          r.rdx = frozen.r10;
          r.rax = frozen.orig_rax;
          r.rip -= kSyscallInsnLen;
        } else if (nr == SYS_futex && ((frozen.rsi & 0x7f) == 9 || (frozen.rsi & 0x7f) == 0)) {
          // FUTEX_WAIT_BITSET's timeout is absolute: re-issue as is. FUTEX_WAIT's is relative
          // and its remaining part is lost; waiting the whole timeout again is closer to the
          // caller's intent than a wait that returns EINTR without being woken.
          r.rax = frozen.orig_rax;
          r.rip -= kSyscallInsnLen;
        } else {
          r.rax = static_cast<uint64_t>(-EINTR);  // what the kernel gives a lost restart block
        }
        break;
      default:
        break;
    }
  }
  r.orig_rax = static_cast<uint64_t>(-1);
  return r;
}

void PrepareSyscall(user_regs_struct& r, uint64_t insn, long nr, const uint64_t args[6]) {
  r.rip = insn;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = args[0];
  r.rsi = args[1];
  r.rdx = args[2];
  r.r10 = args[3];
  r.r8 = args[4];
  r.r9 = args[5];
}

}  // namespace stasis::arch
