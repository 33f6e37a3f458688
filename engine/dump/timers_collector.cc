#include "engine/dump/timers_collector.h"

#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <set>
#include <string>

#include "engine/dump/proc_files.h"
#include "engine/inject/syscall_injector.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

constexpr size_t kScratchSize = 4096;
constexpr int kItimerCount = 3;   // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF

// The kernel's itimerval and itimerspec (64-bit time fields on x86-64).
struct KernelItimerval {
  int64_t interval_sec, interval_usec;
  int64_t value_sec, value_usec;
};
struct KernelItimerspec {
  int64_t interval_sec, interval_nsec;
  int64_t value_sec, value_nsec;
};
struct Scratch {
  KernelItimerval itimers[kItimerCount];
  KernelItimerspec spec;
};
static_assert(sizeof(Scratch) <= kScratchSize);

Error Bad(size_t record, const std::string& what, std::string_view line) {
  return Corrupt("timer record " + std::to_string(record) + ": " + what + " in \"" +
                 std::string(line.substr(0, 80)) + "\"");
}

// "signal/tid.42" -> (NOTIFY_THREAD, 42). The kernel prints the SIGEV_* mode without
// SIGEV_THREAD_ID, then "tid" when that bit is set.
bool ParseNotify(std::string_view v, ProcTimer* t) {
  const size_t slash = v.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view mode = v.substr(0, slash), target = v.substr(slash + 1);
  const bool thread = target.starts_with("tid.");
  if (!thread && !target.starts_with("pid.")) return false;
  auto pid = proc::ParseU64(target.substr(4));
  if (!pid || *pid > UINT32_MAX) return false;
  t->notify_pid = static_cast<uint32_t>(*pid);
  if (mode == "none" && !thread) t->notify = img::NOTIFY_NONE;
  else if (mode == "signal") t->notify = thread ? img::NOTIFY_THREAD : img::NOTIFY_SIGNAL;
  else return false;   // "thread" (SIGEV_THREAD) never reaches the kernel; glibc turns it into tid
  return true;
}

uint64_t Micros(int64_t sec, int64_t usec) {
  return sec < 0 || usec < 0 ? 0 : static_cast<uint64_t>(sec) * 1000000u + static_cast<uint64_t>(usec);
}
uint64_t Nanos(int64_t sec, int64_t nsec) {
  return sec < 0 || nsec < 0 ? 0 : static_cast<uint64_t>(sec) * 1000000000u + static_cast<uint64_t>(nsec);
}

Status ReadItimers(inject::SyscallInjector& inj, pid_t pid, uint64_t scratch, img::TaskTimers* out) {
  for (int which = 0; which < kItimerCount; ++which)
    STASIS_TRY(inj.Checked("getitimer", SYS_getitimer, static_cast<uint64_t>(which),
                           scratch + offsetof(Scratch, itimers) + which * sizeof(KernelItimerval)));
  KernelItimerval got[kItimerCount];
  STASIS_TRY(inject::ReadRemote(pid, scratch + offsetof(Scratch, itimers), got, sizeof got));
  for (int which = 0; which < kItimerCount; ++which) {
    uint64_t value = Micros(got[which].value_sec, got[which].value_usec);
    const uint64_t interval = Micros(got[which].interval_sec, got[which].interval_usec);
    // ITIMER_REAL re-arms only when its SIGALRM is dequeued: expired with the signal still
    // pending it reads 0 with an interval. Due now keeps it periodic: the new SIGALRM merges
    // with the pending one and its dequeue re-arms the timer, as it would have.
    if (value == 0 && which == ITIMER_REAL && interval != 0) value = 1;
    if (value == 0) continue;   // disarmed: the interval alone means nothing
    img::Itimer* it = out->add_itimers();
    it->set_which(static_cast<uint32_t>(which));
    it->set_value_us(value);
    it->set_interval_us(interval);
  }
  return Status::Ok();
}

Status ReadPosixTimer(inject::SyscallInjector& inj, pid_t pid, uint64_t scratch, const ProcTimer& pt,
                      img::PosixTimer* out) {
  const std::string what = "POSIX timer " + std::to_string(pt.id);
  STASIS_TRY_CTX(inj.Checked("timer_gettime", SYS_timer_gettime, static_cast<uint64_t>(pt.id),
                             scratch + offsetof(Scratch, spec)),
                 what);
  const uint64_t overrun = STASIS_VALUE_CTX(
      inj.Checked("timer_getoverrun", SYS_timer_getoverrun, static_cast<uint64_t>(pt.id)), what);
  KernelItimerspec spec;
  STASIS_TRY(inject::ReadRemote(pid, scratch + offsetof(Scratch, spec), &spec, sizeof spec));
  out->set_id(pt.id);
  out->set_clock_id(pt.clock_id);
  out->set_notify(pt.notify);
  out->set_signo(pt.signo);
  out->set_sigev_value(pt.sigev_value);
  if (pt.notify == img::NOTIFY_THREAD) out->set_notify_tid(pt.notify_pid);
  out->set_value_ns(Nanos(spec.value_sec, spec.value_nsec));
  out->set_interval_ns(Nanos(spec.interval_sec, spec.interval_nsec));
  out->set_overrun(static_cast<int32_t>(overrun));
  return Status::Ok();
}

}  // namespace

Result<std::vector<ProcTimer>> ParseProcTimers(std::string_view text) {
  if (text.size() > proc::kMaxProcText) return Corrupt("timers: " + std::to_string(text.size()) + " bytes");
  std::vector<ProcTimer> out;
  std::set<int32_t> ids;
  unsigned seen = 0;   // fields of the current record: 1 ID, 2 signal, 4 notify, 8 ClockID
  std::string_view line;
  while (proc::NextLine(text, &line)) {
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Bad(out.size(), "no key", line);
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = proc::TrimBlanks(line.substr(colon + 1));
    if (key == "ID") {
      if (!out.empty() && seen != 15) return Bad(out.size() - 1, "incomplete record", line);
      if (out.size() >= kMaxPosixTimers) return Corrupt("timers: more than " + std::to_string(kMaxPosixTimers));
      auto id = proc::ParseI64(value);
      if (!id || *id < 0 || *id > INT32_MAX) return Bad(out.size(), "bad id", line);
      if (!ids.insert(static_cast<int32_t>(*id)).second) return Bad(out.size(), "id listed twice", line);
      out.emplace_back().id = static_cast<int32_t>(*id);
      seen = 1;
      continue;
    }
    if (out.empty()) return Bad(0, "field before the first ID", line);
    ProcTimer& t = out.back();
    if (key == "signal") {
      const size_t slash = value.find('/');
      auto signo = proc::ParseU64(value.substr(0, slash));
      auto ptr = slash == std::string_view::npos ? std::nullopt : proc::ParseU64(value.substr(slash + 1), 16);
      if (!signo || *signo > 64 || !ptr) return Bad(out.size() - 1, "bad signal", line);
      t.signo = static_cast<uint32_t>(*signo);
      t.sigev_value = *ptr;
      seen |= 2;
    } else if (key == "notify") {
      if (!ParseNotify(value, &t)) return Bad(out.size() - 1, "unknown notify", line);
      seen |= 4;
    } else if (key == "ClockID") {
      auto clock = proc::ParseI64(value);
      if (!clock || *clock < INT32_MIN || *clock > INT32_MAX) return Bad(out.size() - 1, "bad clock", line);
      t.clock_id = static_cast<int32_t>(*clock);
      seen |= 8;
    }   // newer kernels may add lines: ignored
  }
  if (!out.empty() && seen != 15) return Corrupt("timer record " + std::to_string(out.size() - 1) + ": incomplete");
  std::sort(out.begin(), out.end(), [](const ProcTimer& a, const ProcTimer& b) { return a.id < b.id; });
  return out;
}

Status CollectTimers(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  const pid_t pid = p.pid;
  const std::string who = "pid " + std::to_string(pid);
  const std::string text = STASIS_VALUE_CTX(ReadProc(pid, "timers"), who);
  auto parsed = ParseProcTimers(text);
  if (!parsed.ok()) return std::move(parsed.error().Context(ProcPath(pid, "timers")));
  for (const ProcTimer& pt : *parsed) {
    if (pt.notify != img::NOTIFY_THREAD) continue;
    bool ours = false;
    for (const auto& t : p.threads) ours |= static_cast<uint32_t>(t->tid()) == pt.notify_pid;
    if (!ours)
      return Unsupported(who + ": POSIX timer " + std::to_string(pt.id) + " signals thread " +
                         std::to_string(pt.notify_pid) + ", which is not one of its threads");
  }

  const uint64_t insn = STASIS_VALUE_CTX(inject::FindVdsoSyscall(pid), who);
  inject::SyscallInjector inj = STASIS_VALUE_CTX(inject::SyscallInjector::Create(pid, insn), who);
  {
    inject::RemoteScratch scratch = STASIS_VALUE_CTX(inject::RemoteScratch::Map(inj, kScratchSize), who);
    STASIS_TRY_CTX(ReadItimers(inj, pid, scratch.addr(), &out->timers), who);
    for (const ProcTimer& pt : *parsed)
      STASIS_TRY_CTX(ReadPosixTimer(inj, pid, scratch.addr(), pt, out->timers.add_posix()), who);
    STASIS_TRY_CTX(scratch.Unmap(), who);
  }
  STASIS_TRY_CTX(inj.Restore(), who);
  ctx.log.Debug("pid %d: %d itimers, %d POSIX timers", pid, out->timers.itimers_size(), out->timers.posix_size());
  return Status::Ok();
}

}  // namespace stasis::dump
