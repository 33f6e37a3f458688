// CRC-32C (Castagnoli), the checksum of every image file and every page run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stasis {

// Extends crc with size bytes of data; start with crc = 0.
uint32_t Crc32c(uint32_t crc, const void* data, size_t size);

}  // namespace stasis
