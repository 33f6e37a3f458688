// Kernel ABI newer than the build host's headers (Debian bookworm ships 6.1 uapi headers).
// Values are the kernel's stable user ABI; each is only defined when the headers lack it.
#pragma once

#include <linux/types.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace stasis::check::abi {

// PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7).
inline constexpr uint64_t kPageIsWpAllowed = 1u << 0;
inline constexpr uint64_t kPageIsWritten = 1u << 1;
inline constexpr uint64_t kPageIsFile = 1u << 2;
inline constexpr uint64_t kPageIsPresent = 1u << 3;
inline constexpr uint64_t kPmScanWpMatching = 1u << 0;
inline constexpr uint64_t kPmScanCheckWpAsync = 1u << 1;

struct PageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};

struct PmScanArg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
static_assert(sizeof(PmScanArg) == 96, "struct pm_scan_arg is 96 bytes");
inline constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);

// userfaultfd features after 6.1.
inline constexpr uint64_t kUffdFeatureWpUnpopulated = 1u << 13;  // 6.4
inline constexpr uint64_t kUffdFeatureWpAsync = 1u << 15;        // 6.7

// Syscalls after 6.1 (x86-64 numbers).
inline constexpr long kNrMseal = 462;  // 6.10

// arch_prctl for user shadow stacks (6.6).
inline constexpr int kArchShstkStatus = 0x5005;
inline constexpr uint64_t kArchShstkShstk = 1u << 0;
// arch_prctl for dynamically enabled xstate (AMX, 5.16).
inline constexpr int kArchGetXcompSupp = 0x1021;
inline constexpr int kArchGetXcompPerm = 0x1022;

// rseq: the x86 signature glibc and the kernel agree on.
inline constexpr uint32_t kRseqSig = 0x53053053;
inline constexpr int kRseqFlagUnregister = 1;

}  // namespace stasis::check::abi


namespace stasis::check::abi {

// struct clone_args of clone3(2), up to set_tid (5.5).
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
};
static_assert(sizeof(CloneArgs) == 80, "CLONE_ARGS_SIZE_VER1");

}  // namespace stasis::check::abi
