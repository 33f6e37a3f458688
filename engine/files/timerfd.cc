// timerfd: clock, time left, interval and unread expirations from fdinfo. Time left is kept
// relative (a timer does not fire for time it spent frozen), except for an absolute
// CLOCK_REALTIME timer, whose wall-clock deadline is kept. Expirations that happened before the
// dump (even while frozen) are in `ticks` and come back through TFD_IOC_SET_TICKS.
#include "engine/files/timerfd.h"

#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>

#include "engine/files/fdinfo_fields.h"
#include "engine/files/kinds.h"
#include "engine/proc/text.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kTimerfdFlags = kCommonFlags | O_NONBLOCK;
constexpr uint32_t kSettimeFlags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
constexpr uint64_t kNsPerSec = 1000000000;
constexpr uint64_t kMaxSeconds = uint64_t{1} << 33;   // ~270 years: more is garbage, and
                                                      // seconds * 1e9 stays below 2^63
constexpr uint64_t kMaxClockNs = uint64_t{1} << 62;
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

bool KnownClock(uint32_t c) {
  return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME ||
         c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM;
}
bool WallClock(uint32_t c) { return c == CLOCK_REALTIME || c == CLOCK_REALTIME_ALARM; }

Result<uint64_t> ClockNs(uint32_t clockid) {
  struct timespec ts {};
  if (::clock_gettime(static_cast<clockid_t>(clockid), &ts) != 0)
    return SysError("timerfd: clock_gettime(" + std::to_string(clockid) + ")");
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

struct timespec Timespec(uint64_t ns) {
  return {static_cast<time_t>(ns / kNsPerSec), static_cast<long>(ns % kNsPerSec)};
}

// "(4, 999986340)" -> seconds and nanoseconds.
bool ParsePair(std::string_view s, uint64_t* sec, uint64_t* nsec) {
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return false;
  s = s.substr(1, s.size() - 2);
  size_t comma = s.find(',');
  if (comma == std::string_view::npos) return false;
  auto a = proc::ParseU64(proc::TrimBlanks(s.substr(0, comma)));
  auto b = proc::ParseU64(proc::TrimBlanks(s.substr(comma + 1)));
  if (!a || !b || *a > kMaxSeconds || *b >= kNsPerSec) return false;
  *sec = *a;
  *nsec = *b;
  return true;
}

class Timerfd final : public FileKind {
 public:
  const char* name() const override { return "timerfd"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kTimerfd; }

  bool Matches(const OpenFd& f) const override { return f.link == "anon_inode:[timerfd]"; }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    // fdinfo counts a periodic timer's expiry once until someone forwards it; timerfd_gettime
    // does (adding the missed periods to ticks, as a read would see them, and consuming
    // nothing), so fdinfo is read again after it.
    struct itimerspec ignored {};
    if (::timerfd_gettime(f.local_fd.get(), &ignored) != 0) return SysError(f.Describe() + ": timerfd_gettime");
    const std::string fdinfo = STASIS_VALUE_CTX(
        ReadFileToString("/proc/self/fdinfo/" + std::to_string(f.local_fd.get())), f.Describe());
    img::TimerfdFile t = STASIS_VALUE_CTX(ParseTimerfdFdinfo(fdinfo), f.Describe());
    t.set_flags(f.head.flags);   // ours shows our fd's O_CLOEXEC, not the task's
    STASIS_TRY_CTX(CheckFlags(t.flags(), kTimerfdFlags, "timerfd"), f.Describe());
    t.set_dump_clock_ns(STASIS_VALUE_CTX(ClockNs(t.clockid()), f.Describe()));
    *entry->mutable_timerfd() = std::move(t);
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore&) const override {
    const img::TimerfdFile& t = entry.timerfd();
    STASIS_TRY(CheckFlags(t.flags(), kTimerfdFlags, "timerfd"));
    if (!KnownClock(t.clockid())) return Corrupt("timerfd: unknown clock " + std::to_string(t.clockid()));
    STASIS_TRY(CheckFlags(t.settime_flags(), kSettimeFlags, "timerfd settime"));
    if (t.value_sec() > kMaxSeconds || t.value_nsec() >= kNsPerSec || t.interval_sec() > kMaxSeconds ||
        t.interval_nsec() >= kNsPerSec || t.dump_clock_ns() > kMaxClockNs)
      return Corrupt("timerfd: time out of range");
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::TimerfdFile& t = entry.timerfd();
    UniqueFd fd(::timerfd_create(static_cast<clockid_t>(t.clockid()), TFD_CLOEXEC | TFD_NONBLOCK));
    if (!fd.valid()) return SysError("timerfd: create on clock " + std::to_string(t.clockid()));

    uint64_t left = t.value_sec() * kNsPerSec + t.value_nsec();
    const uint64_t interval = t.interval_sec() * kNsPerSec + t.interval_nsec();
    if (left == 0 && interval != 0) left = 1;  // armed, due at the dump: fire at once
    if (left != 0) {
      struct itimerspec its {};
      its.it_interval = Timespec(interval);
      int flags = 0;
      if (t.settime_flags() & TFD_TIMER_ABSTIME) {
        // The same deadline on the wall clock; on the others, the same time left.
        const uint64_t base = WallClock(t.clockid()) ? t.dump_clock_ns() : STASIS_VALUE(ClockNs(t.clockid()));
        its.it_value = Timespec(base + left);
        flags = static_cast<int>(t.settime_flags());
      } else {
        its.it_value = Timespec(left);
      }
      if (::timerfd_settime(fd.get(), flags, &its, nullptr) != 0) return SysError("timerfd: settime");
    }
    if (t.ticks() != 0) {
      uint64_t ticks = t.ticks();
      if (::ioctl(fd.get(), TFD_IOC_SET_TICKS, &ticks) != 0)
        return errno == ENOTTY
                   ? Unsupported("timerfd: " + std::to_string(ticks) +
                                 " unread expirations need TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE)")
                   : SysError("timerfd: TFD_IOC_SET_TICKS");
    }
    STASIS_TRY(SetStatusFlags(fd.get(), t.flags(), "timerfd"));
    return fd;
  }
};

}  // namespace

Result<img::TimerfdFile> ParseTimerfdFdinfo(std::string_view text) {
  auto head = STASIS_VALUE(proc::ParseFdInfo(text));
  img::TimerfdFile t;
  t.set_flags(head.flags);
  bool dup = false;
  auto field = [&](std::string_view key) -> Result<std::string_view> {
    auto v = FdinfoField(text, key, &dup);
    if (!v) return Corrupt("timerfd fdinfo: missing " + std::string(key));
    if (dup) return Corrupt("timerfd fdinfo: duplicate " + std::string(key));
    return *v;
  };
  auto bad = [](std::string_view key, std::string_view v) {
    return Corrupt("timerfd fdinfo: bad " + std::string(key) + " \"" + std::string(v) + "\"");
  };

  std::string_view v = STASIS_VALUE(field("clockid"));
  auto clock = proc::ParseU64(v);
  if (!clock || *clock > 64 || !KnownClock(static_cast<uint32_t>(*clock))) return bad("clockid", v);
  t.set_clockid(static_cast<uint32_t>(*clock));

  v = STASIS_VALUE(field("ticks"));
  auto ticks = proc::ParseU64(v);
  if (!ticks) return bad("ticks", v);
  t.set_ticks(*ticks);

  v = STASIS_VALUE(field("settime flags"));
  auto flags = proc::ParseU64(v, 8);
  if (!flags || (*flags & ~uint64_t{kSettimeFlags}) != 0) return bad("settime flags", v);
  t.set_settime_flags(static_cast<uint32_t>(*flags));

  uint64_t sec = 0, nsec = 0;
  v = STASIS_VALUE(field("it_value"));
  if (!ParsePair(v, &sec, &nsec)) return bad("it_value", v);
  t.set_value_sec(sec);
  t.set_value_nsec(nsec);
  v = STASIS_VALUE(field("it_interval"));
  if (!ParsePair(v, &sec, &nsec)) return bad("it_interval", v);
  t.set_interval_sec(sec);
  t.set_interval_nsec(nsec);
  return t;
}

const FileKind& TimerfdKind() {
  static const Timerfd kind;
  return kind;
}

}  // namespace stasis::files
