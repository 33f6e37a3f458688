#include "engine/restore/timers_restore.h"
#include "engine/restore/timers_checks.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <string>
#include <vector>

#include "engine/inject/syscall_injector.h"

namespace stasis::restore {
namespace {

constexpr int kPrTimerCreateRestoreIds = 77;   // linux/prctl.h, 6.16+
constexpr int kRestoreIdsOff = 0;
constexpr int kRestoreIdsOn = 1;
constexpr int kSigevThreadId = 4;              // SIGEV_THREAD_ID
constexpr uint64_t kNsPerSec = 1000000000u;
constexpr uint64_t kUsPerSec = 1000000u;

// The kernel's struct sigevent (64 bytes) with the SIGEV_THREAD_ID target in its union.
struct KernelSigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};
static_assert(sizeof(KernelSigevent) == 64);
struct KernelItimerspec {
  int64_t interval_sec, interval_nsec;
  int64_t value_sec, value_nsec;
};
struct KernelItimerval {
  int64_t interval_sec, interval_usec;
  int64_t value_sec, value_usec;
};

// Offsets in the trampoline's data pages.
constexpr size_t kIdSlot = 0;
constexpr size_t kSigeventSlot = 64;
constexpr size_t kSpecSlot = 128;

KernelSigevent SigeventOf(const img::PosixTimer& pt) {
  KernelSigevent sev{};
  sev.value = pt.sigev_value();
  sev.signo = static_cast<int32_t>(pt.signo());
  switch (pt.notify()) {
    case img::NOTIFY_NONE: sev.notify = SIGEV_NONE; break;
    case img::NOTIFY_THREAD:
      sev.notify = SIGEV_SIGNAL | kSigevThreadId;
      sev.tid = static_cast<int32_t>(pt.notify_tid());
      break;
    default: sev.notify = SIGEV_SIGNAL; break;
  }
  return sev;
}

std::string TimerName(const Target& t, int32_t id) { return t.who() + ": POSIX timer " + std::to_string(id); }

// timer_create through the injector; returns the id the kernel gave (with restore-ids mode on,
// the one at kIdSlot).
Result<int32_t> CreateTimer(Target& t, int32_t clock, const KernelSigevent& sev, int32_t wanted) {
  const uint64_t id_addr = STASIS_VALUE(t.Put(kIdSlot, &wanted, sizeof wanted));
  const uint64_t sev_addr = STASIS_VALUE(t.Put(kSigeventSlot, &sev, sizeof sev));
  STASIS_TRY(t.main().Checked("timer_create", SYS_timer_create, static_cast<uint64_t>(static_cast<int64_t>(clock)),
                              sev_addr, id_addr));
  int32_t got = -1;
  STASIS_TRY(inject::ReadRemote(t.pid(), id_addr, &got, sizeof got));
  return got;
}

Status ArmTimer(Target& t, const img::PosixTimer& pt) {
  if (pt.value_ns() == 0) return Status::Ok();
  const KernelItimerspec spec{static_cast<int64_t>(pt.interval_ns() / kNsPerSec),
                              static_cast<int64_t>(pt.interval_ns() % kNsPerSec),
                              static_cast<int64_t>(pt.value_ns() / kNsPerSec),
                              static_cast<int64_t>(pt.value_ns() % kNsPerSec)};
  const uint64_t spec_addr = STASIS_VALUE(t.Put(kSpecSlot, &spec, sizeof spec));
  STASIS_TRY(t.main().Checked("timer_settime", SYS_timer_settime, static_cast<uint64_t>(pt.id()), 0, spec_addr, 0));
  return Status::Ok();
}

Status CreateWithRestoreIds(Target& t, const img::TaskTimers& timers) {
  for (const img::PosixTimer& pt : timers.posix()) {
    const int32_t got = STASIS_VALUE_CTX(CreateTimer(t, pt.clock_id(), SigeventOf(pt), pt.id()),
                                         TimerName(t, pt.id()));
    if (got != pt.id())
      return Internal(TimerName(t, pt.id()) + ": the kernel gave id " + std::to_string(got) +
                      " despite PR_TIMER_CREATE_RESTORE_IDS");
  }
  return Status::Ok();
}

// Older kernels: ids are handed out 0, 1, 2, ... in this fresh process. A timer that comes out
// with an id below the wanted one fills a gap: it stays (disarmed) until every real timer
// exists, so the counter moves on, and is deleted then.
Status CreateSequentially(Target& t, const img::TaskTimers& timers) {
  std::vector<int32_t> placeholders;
  for (const img::PosixTimer& pt : timers.posix()) {
    if (pt.id() > kMaxSequentialTimerId)
      return Unsupported(TimerName(t, pt.id()) + ": an id this high needs PR_TIMER_CREATE_RESTORE_IDS (Linux 6.16+)");
    for (;;) {
      const int32_t got = STASIS_VALUE_CTX(CreateTimer(t, pt.clock_id(), SigeventOf(pt), -1), TimerName(t, pt.id()));
      if (got == pt.id()) break;
      if (got > pt.id() || got < 0)
        return Unsupported(TimerName(t, pt.id()) + ": this kernel handed out id " + std::to_string(got) +
                           " instead and cannot restore timer ids");
      placeholders.push_back(got);
    }
  }
  for (int32_t id : placeholders)
    STASIS_TRY_CTX(t.main().Checked("timer_delete", SYS_timer_delete, static_cast<uint64_t>(id)), TimerName(t, id));
  return Status::Ok();
}

Status RestoreItimers(Target& t, const img::TaskTimers& timers) {
  for (const img::Itimer& it : timers.itimers()) {
    const KernelItimerval val{static_cast<int64_t>(it.interval_us() / kUsPerSec),
                              static_cast<int64_t>(it.interval_us() % kUsPerSec),
                              static_cast<int64_t>(it.value_us() / kUsPerSec),
                              static_cast<int64_t>(it.value_us() % kUsPerSec)};
    const uint64_t addr = STASIS_VALUE(t.Put(kSpecSlot, &val, sizeof val));
    STASIS_TRY_CTX(t.main().Checked("setitimer", SYS_setitimer, it.which(), addr, 0),
                   t.who() + ": itimer " + std::to_string(it.which()));
  }
  return Status::Ok();
}

}  // namespace

Status RestoreTimers(const RestoreContext& ctx, Target& t) {
  const img::TaskTimers& timers = t.image().timers;
  STASIS_TRY(RestoreItimers(t, timers));
  if (timers.posix_size() == 0) return Status::Ok();
  auto on = t.main().Syscall(SYS_prctl, kPrTimerCreateRestoreIds, kRestoreIdsOn, 0, 0, 0);
  if (!on.ok()) return std::move(on.error().Context(t.who()));
  if (*on == 0) {
    STASIS_TRY(CreateWithRestoreIds(t, timers));
    STASIS_TRY_CTX(t.main().Checked("prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)", SYS_prctl, kPrTimerCreateRestoreIds,
                                    kRestoreIdsOff, 0, 0, 0),
                   t.who());
  } else {
    ctx.log->Debug("%s: no PR_TIMER_CREATE_RESTORE_IDS (errno %lld): timer ids by creation order", t.who().c_str(),
                   static_cast<long long>(-*on));
    STASIS_TRY(CreateSequentially(t, timers));
  }
  for (const img::PosixTimer& pt : timers.posix()) {
    STASIS_TRY_CTX(ArmTimer(t, pt), TimerName(t, pt.id()));
    if (pt.overrun() != 0)
      ctx.log->Debug("%s: overrun %d at dump is not restored (no call sets it)", TimerName(t, pt.id()).c_str(),
                     pt.overrun());
  }
  return Status::Ok();
}

}  // namespace stasis::restore
