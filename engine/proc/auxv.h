// /proc/PID/auxv: the ELF auxiliary vector as the kernel handed it to the program.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

// Raw native-endian u64 (type, value) pairs -> a flat vector of pairs ending with AT_NULL (0, 0).
// Trailing bytes after AT_NULL are ignored; a vector without AT_NULL is corrupt.
Result<std::vector<uint64_t>> ParseAuxv(std::span<const uint8_t> bytes);

}  // namespace stasis::proc
