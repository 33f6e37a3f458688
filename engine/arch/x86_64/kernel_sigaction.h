// struct sigaction as the x86-64 kernel's rt_sigaction reads and writes it (not glibc's layout),
// with an 8-byte signal set.
#pragma once

#include <cstdint>

namespace stasis::arch {

struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
static_assert(sizeof(KernelSigaction) == 32);

inline constexpr uint64_t kKernelSigsetSize = 8;

}  // namespace stasis::arch
