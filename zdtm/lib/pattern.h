// Deterministic memory patterns: fill a region from a seed, later find the first byte that differs.
// The value of each 8-byte word depends on the seed and the word's offset, so a page restored at
// the wrong place, a stale copy or a zeroed page are all told apart.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zdtm {

void FillPattern(void* addr, size_t len, uint64_t seed);

// Offset of the first byte that differs from FillPattern(addr, len, seed), or -1 if all match.
long FindPatternMismatch(const void* addr, size_t len, uint64_t seed);

// Offset of the first non-zero byte, or -1.
long FindNonZero(const void* addr, size_t len);

}  // namespace zdtm
