#pragma once

#include <string_view>

#include "engine/common/error.h"
#include "engine/images/timerfd.pb.h"

namespace stasis::files {

// Pure: the whole fdinfo text of a timerfd -> its image message (flags included;
// dump_clock_ns is left for the caller, who reads the clock).
Result<img::TimerfdFile> ParseTimerfdFdinfo(std::string_view text);

}  // namespace stasis::files
