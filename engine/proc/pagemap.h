// /proc/PID/pagemap: one little 64-bit entry per virtual page (Documentation/admin-guide/mm/pagemap.rst).
#pragma once

#include <cstdint>

namespace stasis::proc {

inline constexpr uint64_t kPmPresent = 1ull << 63;
inline constexpr uint64_t kPmSwap = 1ull << 62;
inline constexpr uint64_t kPmFileOrSharedAnon = 1ull << 61;
inline constexpr uint64_t kPmExclusive = 1ull << 56;
inline constexpr uint64_t kPmSoftDirty = 1ull << 55;

// What a dumper wants from one pagemap entry, by the kind of mapping it belongs to.
enum class PagePolicy {
  kPrivateAnon,    // present or swapped
  kPrivateFile,    // present or swapped, and not the file's own page (a COW'd anonymous copy)
  kSharedAnon,     // present (shmem pages swapped out are not visible here)
};

inline bool PageHoldsData(uint64_t entry, PagePolicy policy) {
  switch (policy) {
    case PagePolicy::kPrivateAnon: return (entry & (kPmPresent | kPmSwap)) != 0;
    case PagePolicy::kPrivateFile:
      return (entry & (kPmPresent | kPmSwap)) != 0 && (entry & kPmFileOrSharedAnon) == 0;
    case PagePolicy::kSharedAnon: return (entry & kPmPresent) != 0;
  }
  return false;
}

}  // namespace stasis::proc
