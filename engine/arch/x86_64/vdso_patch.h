// Redirecting an old vDSO image into this kernel's vDSO (cross-kernel restore).
//
// A restored process's libc cached the addresses of the vDSO functions it found at start-up,
// so the dumped image must stay at its dumped address. But its code reads the data pages
// ([vvar]) of the kernel it was built for, whose layout the running kernel need not share.
// So each exported function of the old image is overwritten with a jump into the function of
// the same name in this kernel's vDSO (mapped elsewhere), or, if this kernel lacks it, with a
// small stub that behaves as the kernel's own fallback would. Pure: no I/O, every input checked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/arch/x86_64/vdso_elf.h"
#include "engine/common/error.h"

namespace stasis::arch {

enum class VdsoFix {
  kJump,          // jmp to the same function in this kernel's vDSO
  kSyscall,       // mov eax, nr; syscall; ret: the function has the syscall's arguments
  kGetrandom,     // vgetrandom: the getrandom syscall; -ENOSYS for the opaque_len == ~0 query
  kNotSupported,  // return -ENOSYS (a function without a syscall equivalent, e.g. SGX)
};

// One entry point of the old image (aliases share one entry).
struct VdsoEntryFix {
  std::string name;          // the first exported name at this address, for messages
  uint64_t old_offset = 0;
  uint64_t old_size = 0;
  VdsoFix fix = VdsoFix::kJump;
  uint64_t new_offset = 0;   // kJump: the target's offset in this kernel's vDSO
  int syscall_nr = 0;        // kSyscall
};

struct VdsoRedirectPlan {
  std::vector<VdsoEntryFix> entries;   // by old_offset, non-overlapping patches
};

inline constexpr size_t kRel32JumpBytes = 5;     // jmp rel32
inline constexpr size_t kAbsJumpBytes = 13;      // movabs r11, imm64; jmp r11

// Pairs every exported function of the old image with what replaces it. Fails with one line
// naming the function if one cannot be redirected (unknown to this kernel and to stasis, or
// too small to hold its patch).
Result<VdsoRedirectPlan> PlanVdsoRedirect(const std::vector<VdsoSymbol>& old_functions,
                                          const std::vector<VdsoSymbol>& new_functions);

// The bytes to place at old_base: old_image with every entry of `plan` patched, for this
// kernel's vDSO image mapped at new_base. Fails if a jump cannot reach (the entry is shorter
// than an absolute jump and new_base is beyond +-2 GiB).
Result<std::string> BuildRedirectedVdso(std::span<const uint8_t> old_image, const VdsoRedirectPlan& plan,
                                        uint64_t old_base, uint64_t new_base);

// Whether every jump of `plan` fits as placed (see BuildRedirectedVdso).
bool RedirectFits(const VdsoRedirectPlan& plan, uint64_t old_base, uint64_t new_base);

}  // namespace stasis::arch
