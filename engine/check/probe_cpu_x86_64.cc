// CPU state the kernel lets us use: XCR0 (which xstate components exist), AVX-512, AMX and
// user shadow stacks. A restore must refuse an xstate that uses a component this CPU lacks.
#include <asm/prctl.h>
#include <cpuid.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "engine/check/kernel_abi.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr uint64_t kXcr0Avx512 = (1u << 5) | (1u << 6) | (1u << 7);  // opmask, ZMM_Hi256, Hi16_ZMM
constexpr uint64_t kXcr0Amx = (1u << 17) | (1u << 18);                // XTILECFG, XTILEDATA

struct Cpuid {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Cpuid Leaf(unsigned leaf, unsigned sub = 0) noexcept {
  Cpuid r;
  if (__get_cpuid_max(0, nullptr) >= leaf) __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

uint64_t Xgetbv0() noexcept {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

}  // namespace

void ProbeCpu(ProbeReport& r) noexcept {
  const Cpuid l1 = Leaf(1), l7 = Leaf(7);
  const bool osxsave = l1.c & (1u << 27);
  if (!osxsave) {
    r.Missing(Feature::kCpuXsave, "the OS has not enabled XSAVE (CPUID.1:ECX.OSXSAVE clear)");
    r.Missing(Feature::kCpuAvx512, "needs XSAVE");
    r.Missing(Feature::kCpuAmx, "needs XSAVE");
  } else {
    const uint64_t xcr0 = Xgetbv0();
    // CPUID 0xD.0 EBX: XSAVE area size for the features enabled in XCR0.
    r.Ok(Feature::kCpuXsave, "XCR0 0x%llx, XSAVE area %u bytes", static_cast<unsigned long long>(xcr0),
         Leaf(0xd, 0).b);
    const bool avx512_cpu = l7.b & (1u << 16);
    if (!avx512_cpu)
      r.Missing(Feature::kCpuAvx512, "CPU has no AVX-512F");
    else if ((xcr0 & kXcr0Avx512) != kXcr0Avx512)
      r.Missing(Feature::kCpuAvx512, "CPU has AVX-512F but XCR0 does not enable its state");
    else
      r.Ok(Feature::kCpuAvx512, "AVX-512F with opmask and ZMM state enabled");

    const bool amx_cpu = l7.d & (1u << 24);
    uint64_t supported = 0;
    if (!amx_cpu) {
      r.Missing(Feature::kCpuAmx, "CPU has no AMX-TILE");
    } else if (syscall(SYS_arch_prctl, abi::kArchGetXcompSupp, &supported) != 0) {
      r.MissingErrno(Feature::kCpuAmx, errno, "arch_prctl(ARCH_GET_XCOMP_SUPP)");
    } else if ((supported & kXcr0Amx) != kXcr0Amx) {
      r.Missing(Feature::kCpuAmx, "the kernel does not offer AMX tile state");
    } else {
      r.Ok(Feature::kCpuAmx, "AMX tile state offered (permission per process)");
    }
  }

  const bool shstk_cpu = l7.c & (1u << 7);
  uint64_t status = 0;
  if (syscall(SYS_arch_prctl, abi::kArchShstkStatus, &status) != 0)
    r.Missing(Feature::kShadowStack, "kernel without user shadow stacks (ARCH_SHSTK_STATUS: %s); CPU %s",
              strerrordesc_np(errno), shstk_cpu ? "has them" : "has none either");
  else if (!shstk_cpu)
    r.Missing(Feature::kShadowStack, "kernel supports user shadow stacks, this CPU has none");
  else
    r.Ok(Feature::kShadowStack, "supported; %s for this process",
         (status & abi::kArchShstkShstk) ? "enabled" : "not enabled");
}

}  // namespace stasis::check
