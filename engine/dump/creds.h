// A thread's credentials as the image stores them, from /proc/PID/task/TID/status.
#pragma once

#include "engine/images/core.pb.h"
#include "engine/proc/status.h"

namespace stasis::dump {

// securebits are not in status; the caller fills them in (prctl(PR_GET_SECUREBITS)).
void CredsFromStatus(const proc::ProcStatus& status, img::Credentials* out);

}  // namespace stasis::dump
