// Symbol lookup in an ELF image mapped in memory (the vDSO). Pure and bounds-checked: every
// offset the image claims is checked against `size` before it is read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stasis::check {

// Offset of dynamic symbol `name` from the start of the image, or 0 if it is absent or the
// image is malformed.
uint64_t FindElfSymbolOffset(const unsigned char* image, size_t size, const char* name) noexcept;

}  // namespace stasis::check
