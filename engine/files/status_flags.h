// The file status flags every class dumps from fdinfo and sets again at restore.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <string>

#include "engine/common/error.h"

namespace stasis::files {

// The kernel's O_LARGEFILE: on x86_64 user space defines O_LARGEFILE as 0, but fdinfo shows
// the bit the kernel sets on every 64-bit open().
inline constexpr uint32_t kKernelLargefile = 0100000;

// Flags fdinfo shows on any file: the access mode, O_LARGEFILE and O_CLOEXEC (which mirrors
// the fd flag; the pipeline restores that).
inline constexpr uint32_t kCommonFlags = O_ACCMODE | kKernelLargefile | O_CLOEXEC;

// Corrupt "<what>: unknown flags 0x80000" when flags has a bit outside allowed.
Status CheckFlags(uint32_t flags, uint32_t allowed, const std::string& what);

// Sets the changeable status flags (O_NONBLOCK, O_APPEND, O_DIRECT, O_NOATIME) of fd to those
// of `flags`; the others are fixed at open.
Status SetStatusFlags(int fd, uint32_t flags, const std::string& what);

}  // namespace stasis::files
