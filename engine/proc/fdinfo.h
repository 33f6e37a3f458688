// /proc/PID/fdinfo/N: the common head every file type prints (pos, flags, mnt_id, ino).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/common/error.h"

namespace stasis::proc {

struct FdInfo {
  uint64_t pos = 0;
  uint32_t flags = 0;                 // f_flags, printed in octal; O_CLOEXEC reflects the fd flag
  uint32_t mnt_id = 0;
  std::optional<uint64_t> inode;      // "ino:" appeared in Linux 5.15
  bool cloexec() const;
};

// Type-specific lines after the head (eventfd-count, tfd, inotify, ...) are ignored here.
Result<FdInfo> ParseFdInfo(std::string_view text);

}  // namespace stasis::proc
