// Hardware CRC-32C, provided by the architecture directory chosen at configure time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stasis::arch {

bool HaveCrc32cInstruction();
// Same contract as stasis::Crc32c; only valid when HaveCrc32cInstruction().
uint32_t Crc32cInstruction(uint32_t crc, const void* data, size_t size);

}  // namespace stasis::arch
