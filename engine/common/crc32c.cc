#include "engine/common/crc32c.h"

#include <array>

#include "engine/arch/crc32c_arch.h"

namespace stasis {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = MakeTable();

uint32_t SoftwareCrc32c(uint32_t crc, const unsigned char* p, size_t n) {
  crc = ~crc;
  while (n--) crc = kTable[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t size) {
  static const bool hw = arch::HaveCrc32cInstruction();
  if (hw) return arch::Crc32cInstruction(crc, data, size);
  return SoftwareCrc32c(crc, static_cast<const unsigned char*>(data), size);
}

}  // namespace stasis
