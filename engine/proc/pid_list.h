// /proc/PID/task/TID/children: a blank-separated list of pids.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

Result<std::vector<pid_t>> ParsePidList(std::string_view text);

}  // namespace stasis::proc
