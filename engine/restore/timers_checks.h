// Validation of timers-PID.img before anything is created (see timers_restore.h).
#pragma once

#include <string>

#include "engine/common/error.h"
#include "engine/images/core.pb.h"
#include "engine/images/timer.pb.h"

namespace stasis::restore {

inline constexpr size_t kMaxPosixTimersInImage = 1u << 16;

// Pure: every field within what the kernel accepts, ids unique and ascending, every
// SIGEV_THREAD_ID target one of the process's threads. `name` is the image file name.
Status CheckTimers(const img::TaskTimers& timers, const img::TaskCore& core, const std::string& name);

}  // namespace stasis::restore
