#include "engine/restore/timers_checks.h"

#include <time.h>

#include <set>

namespace stasis::restore {
namespace {

// Beyond any real timeout (about 292 years), below what the time fields can carry.
constexpr uint64_t kMaxTimeNs = 1ull << 62;

bool ValidClock(int32_t clock) {
  if (clock < 0) return true;   // a CPU-time clock of a pid or thread: the kernel checks it
  switch (clock) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
    case CLOCK_BOOTTIME: case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM: case CLOCK_TAI:
      return true;
    default:
      return false;
  }
}

}  // namespace

Status CheckTimers(const img::TaskTimers& timers, const img::TaskCore& core, const std::string& name) {
  std::set<uint32_t> which;
  for (const img::Itimer& it : timers.itimers()) {
    const std::string where = name + ": itimer " + std::to_string(it.which());
    if (it.which() > 2) return Corrupt(where + ": unknown kind");
    if (!which.insert(it.which()).second) return Corrupt(where + ": listed twice");
    if (it.value_us() == 0 || it.value_us() > kMaxTimeNs / 1000 || it.interval_us() > kMaxTimeNs / 1000)
      return Corrupt(where + ": time out of range");
  }
  if (static_cast<size_t>(timers.posix_size()) > kMaxPosixTimersInImage)
    return Corrupt(name + ": " + std::to_string(timers.posix_size()) + " POSIX timers");
  std::set<uint32_t> tids;
  for (const img::ThreadCore& th : core.threads()) tids.insert(th.tid());
  int64_t previous = -1;
  for (const img::PosixTimer& pt : timers.posix()) {
    const std::string where = name + ": POSIX timer " + std::to_string(pt.id());
    if (pt.id() <= previous) return Corrupt(where + ": ids not unique and ascending");
    previous = pt.id();
    if (!ValidClock(pt.clock_id())) return Corrupt(where + ": unknown clock " + std::to_string(pt.clock_id()));
    if (!img::TimerNotify_IsValid(pt.notify())) return Corrupt(where + ": unknown notify mode");
    if (pt.notify() != img::NOTIFY_NONE && (pt.signo() == 0 || pt.signo() > 64))
      return Corrupt(where + ": signal " + std::to_string(pt.signo()));
    if (pt.notify() == img::NOTIFY_THREAD && tids.count(pt.notify_tid()) == 0)
      return Corrupt(where + ": signals thread " + std::to_string(pt.notify_tid()) + ", not one of the process");
    if (pt.value_ns() > kMaxTimeNs || pt.interval_ns() > kMaxTimeNs) return Corrupt(where + ": time out of range");
  }
  return Status::Ok();
}

}  // namespace stasis::restore
