#include "zdtm/lib/pattern.h"

#include <cstring>

namespace zdtm {
namespace {

uint64_t WordAt(uint64_t seed, uint64_t index) {
  // splitmix64 of (seed, index): cheap, and no two nearby words or seeds look alike.
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + index + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

void FillPattern(void* addr, size_t len, uint64_t seed) {
  auto* p = static_cast<unsigned char*>(addr);
  for (size_t off = 0; off < len; off += 8) {
    uint64_t w = WordAt(seed, off / 8);
    std::memcpy(p + off, &w, len - off < 8 ? len - off : 8);
  }
}

long FindPatternMismatch(const void* addr, size_t len, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(addr);
  for (size_t off = 0; off < len; off += 8) {
    uint64_t w = WordAt(seed, off / 8);
    size_t n = len - off < 8 ? len - off : 8;
    if (std::memcmp(p + off, &w, n) != 0) {
      const auto* e = reinterpret_cast<const unsigned char*>(&w);
      for (size_t i = 0; i < n; ++i)
        if (p[off + i] != e[i]) return static_cast<long>(off + i);
    }
  }
  return -1;
}

long FindNonZero(const void* addr, size_t len) {
  const auto* p = static_cast<const unsigned char*>(addr);
  for (size_t i = 0; i < len; ++i)
    if (p[i] != 0) return static_cast<long>(i);
  return -1;
}

}  // namespace zdtm
