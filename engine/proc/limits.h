// /proc/PID/limits: every resource limit of a process. Readable without CAP_SYS_RESOURCE,
// unlike prlimit() on a task with other credentials.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

struct ResourceLimit {
  uint32_t resource = 0;   // RLIMIT_*: the line's position, as the kernel prints them in order
  uint64_t soft = 0;       // RLIM_INFINITY (~0) for "unlimited"
  uint64_t hard = 0;
};

Result<std::vector<ResourceLimit>> ParseLimits(std::string_view text);

}  // namespace stasis::proc
