#include "engine/proc/auxv.h"

#include <cstring>
#include <string>

namespace stasis::proc {
namespace {
// The kernel's saved_auxv holds at most AT_VECTOR_SIZE (~50) entries; this is generous.
constexpr size_t kMaxAuxvPairs = 512;
}  // namespace

Result<std::vector<uint64_t>> ParseAuxv(std::span<const uint8_t> bytes) {
  std::vector<uint64_t> out;
  constexpr size_t kPair = 2 * sizeof(uint64_t);
  for (size_t off = 0; off + kPair <= bytes.size(); off += kPair) {
    if (out.size() / 2 >= kMaxAuxvPairs) return Corrupt("auxv: more than " + std::to_string(kMaxAuxvPairs) + " entries");
    uint64_t pair[2];
    std::memcpy(pair, bytes.data() + off, kPair);
    out.push_back(pair[0]);
    out.push_back(pair[1]);
    if (pair[0] == 0) return out;   // AT_NULL
  }
  return Corrupt("auxv: " + std::to_string(bytes.size()) + " bytes without an AT_NULL entry");
}

}  // namespace stasis::proc
