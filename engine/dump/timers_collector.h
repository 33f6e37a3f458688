// Interval timers (setitimer) and POSIX timers (timer_create) of a frozen process.
//
// /proc/PID/timers names every POSIX timer with its id, signal, sigev_value, notify mode and
// clock; what is left of its time, its interval and its overrun only the task can tell, so
// those (and the three itimers) are read with syscalls injected into the frozen main thread.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"
#include "engine/images/timer.pb.h"

namespace stasis::dump {

// One record of /proc/PID/timers.
struct ProcTimer {
  int32_t id = 0;
  uint32_t signo = 0;
  uint64_t sigev_value = 0;
  img::TimerNotify notify = img::NOTIFY_SIGNAL;
  uint32_t notify_pid = 0;   // "pid.N" or, with NOTIFY_THREAD, "tid.N"
  int32_t clock_id = 0;
};

// Pure: parses the whole of /proc/PID/timers (records of "ID:", "signal:", "notify:",
// "ClockID:" lines). Refuses unknown notify modes, malformed numbers and more than
// kMaxPosixTimers records.
inline constexpr size_t kMaxPosixTimers = 1u << 16;
Result<std::vector<ProcTimer>> ParseProcTimers(std::string_view text);

// Fills out->timers. Runs after CollectInjectedState; leaves no injector or scratch page behind.
Status CollectTimers(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
