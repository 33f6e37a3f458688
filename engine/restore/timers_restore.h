// Interval timers and POSIX timers of a restored process, recreated inside the puppet by
// injected setitimer / timer_create / timer_settime once its threads exist (a timer may
// signal one thread).
//
// POSIX timer ids: the kernel picks them itself. Since Linux 6.16, prctl
// PR_TIMER_CREATE_RESTORE_IDS makes timer_create take the wanted id from *timer_id; without it
// ids come out of a per-process counter that starts at 0, so the timers are created in id
// order and every gap is filled with a dummy timer that is deleted afterwards.
#pragma once

#include "engine/common/error.h"
#include "engine/images/timer.pb.h"
#include "engine/restore/target.h"

namespace stasis::restore {

// A sequential-id fallback never creates more dummies than this to reach an id.
inline constexpr int32_t kMaxSequentialTimerId = 1 << 16;

Status RestoreTimers(const RestoreContext& ctx, Target& t);

}  // namespace stasis::restore
