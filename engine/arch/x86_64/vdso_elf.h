// The exported functions of a vDSO image (an ELF64 shared object held in memory or read from an
// image file). Pure and bounds-checked: every offset and count the image claims is checked
// against the image size before it is read, so a hostile mm-PID.img gives an error, never a
// crash. Used by `stasis check` (to call the vDSO through a moved copy) and by restore (to
// redirect an old vDSO's entry points into this kernel's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::arch {

// Far above any real vDSO (two to four pages), low enough that a hostile image cannot make
// a parse loop long.
inline constexpr size_t kMaxVdsoBytes = 1u << 20;
inline constexpr size_t kMaxVdsoSymbols = 4096;

struct VdsoSymbol {
  std::string name;
  uint64_t offset = 0;   // from the start of the image
  uint64_t size = 0;     // st_size: bytes of code the symbol covers (0 if the image does not say)
};

// Every defined STT_FUNC symbol of the dynamic symbol table, in table order (aliases such as
// clock_gettime and __vdso_clock_gettime appear as separate entries with the same offset).
// Fails with kCorruption naming what is wrong with the image.
Result<std::vector<VdsoSymbol>> ListVdsoFunctions(std::span<const uint8_t> image);

// Offset of the defined dynamic symbol `name`, or 0 if it is absent or the image is malformed.
// Allocates nothing: safe in the probe children of `stasis check`.
uint64_t FindElfSymbolOffset(const unsigned char* image, size_t size, const char* name) noexcept;

}  // namespace stasis::arch
