// x86-64 thread CPU state: general registers, XSAVE area, and syscall-restart fix-ups.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>

#include "engine/common/error.h"
#include "engine/images/core.pb.h"

namespace stasis::arch {

Result<user_regs_struct> GetRegs(pid_t tid);
Status SetRegs(pid_t tid, const user_regs_struct& regs);

// Raw NT_X86_XSTATE (the full XSAVE area the kernel exposes, sized from CPUID 0xD).
Result<std::string> GetXstate(pid_t tid);
Status SetXstate(pid_t tid, const std::string& xstate);
// XSTATE_BV of a raw xstate (bytes 512..519), 0 if too short.
uint64_t XstateFeatures(const std::string& xstate);
// XCR0 of this CPU: the features a restored xstate may use.
uint64_t SupportedXfeatures();

void RegsToImage(const user_regs_struct& in, img::X86Regs* out);
user_regs_struct RegsFromImage(const img::X86Regs& in);

// Registers a restored thread must resume with, given the registers it was frozen with:
// a thread stopped inside an interrupted syscall (ax = -ERESTART*) is set up to re-issue it
// (nanosleep with its remaining time), and orig_ax is cleared so the kernel adds nothing.
user_regs_struct RegsForResume(const user_regs_struct& frozen);

// Program counter / syscall number accessors so common code stays arch-neutral.
inline uint64_t InstructionPointer(const user_regs_struct& r) { return r.rip; }

// Points `r` at the syscall instruction at `insn` with number `nr` and six arguments. orig_ax is
// cleared so that resuming from a signal stop applies no restart fix-up to these registers.
void PrepareSyscall(user_regs_struct& r, uint64_t insn, long nr, const uint64_t args[6]);
inline int64_t SyscallReturn(const user_regs_struct& r) { return static_cast<int64_t>(r.rax); }

}  // namespace stasis::arch
