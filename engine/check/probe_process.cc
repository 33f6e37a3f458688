// Process creation, rseq and namespaces: what restore uses to rebuild a tree.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "engine/check/kernel_abi.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr int kHelperTimeoutMs = 2000;

// Exit codes of namespace helpers above any errno value.
constexpr int kExitNotIsolated = 200;
constexpr int kExitCheckFailed = 201;

bool PidExists(long pid) noexcept {
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%ld", pid);
  return access(path, F_OK) == 0;
}

void ProbeClone3SetTid(ProbeReport& r) noexcept {
  char buf[32];
  long pid_max = 32768;
  if (ReadSmallFile("/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0) pid_max = std::atol(buf);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  // Pick free pids well away from the ones being handed out right now.
  long candidate = (getpid() + 5000 + now.tv_nsec % 10000) % pid_max;
  for (int attempt = 0; attempt < 8; ++attempt, candidate = (candidate + 7919) % pid_max) {
    if (candidate < 300 || PidExists(candidate)) continue;
    pid_t want = static_cast<pid_t>(candidate);
    abi::CloneArgs args{};
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<uint64_t>(&want);
    args.set_tid_size = 1;
    long got = syscall(SYS_clone3, &args, sizeof(args));
    if (got == 0) syscall(SYS_exit_group, 0);  // the new child: nothing to do
    if (got < 0 && errno == EEXIST) continue;  // raced with a new process; try another pid
    if (got < 0) return r.MissingErrno(Feature::kClone3SetTid, errno, "clone3(set_tid)");
    waitpid(static_cast<pid_t>(got), nullptr, 0);
    if (got != want)
      return r.Missing(Feature::kClone3SetTid, "asked for pid %d, got %ld", want, got);
    return r.Ok(Feature::kClone3SetTid, "created pid %d on request", want);
  }
  r.Missing(Feature::kClone3SetTid, "no free pid found to try");
}

// Restore re-registers every thread's rseq area; do the same here: drop glibc's registration
// and register a fresh area.
void ProbeRseq(ProbeReport& r) noexcept {
  if (__rseq_size > 0) {
    void* glibc_area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
    bool dropped = false;
    for (unsigned len : {static_cast<unsigned>(__rseq_size), 32u}) {
      if (syscall(SYS_rseq, glibc_area, len, abi::kRseqFlagUnregister, abi::kRseqSig) == 0) {
        dropped = true;
        break;
      }
    }
    if (!dropped) return r.MissingErrno(Feature::kRseq, errno, "unregistering glibc's rseq area");
  }
  alignas(32) struct rseq area;
  std::memset(&area, 0, sizeof(area));
  area.cpu_id = static_cast<uint32_t>(RSEQ_CPU_ID_UNINITIALIZED);
  if (syscall(SYS_rseq, &area, 32, 0, abi::kRseqSig) != 0)
    return r.MissingErrno(Feature::kRseq, errno, "rseq register");
  const int cpu = static_cast<int>(area.cpu_id);
  // The area is on this stack frame: unregister before leaving it.
  syscall(SYS_rseq, &area, 32, abi::kRseqFlagUnregister, abi::kRseqSig);
  if (cpu < 0) return r.Missing(Feature::kRseq, "registered, but the kernel never set cpu_id");
  r.Ok(Feature::kRseq, "re-registered an area (cpu %d)", cpu);
}

bool ReadNsLink(const char* name, char* out, size_t size) noexcept {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
  ssize_t n = readlink(path, out, size - 1);
  if (n < 0) return false;
  out[n] = '\0';
  return true;
}

struct NsKind {
  Feature feature;
  int flag;
  const char* link;  // /proc/self/ns/<link> changes once the caller is inside
};

// In a helper: unshare, then check we really are in a new namespace of that kind.
int NamespaceHelper(const NsKind& ns) noexcept {
  char before[64], after[64];
  if (!ReadNsLink(ns.link, before, sizeof(before))) return kExitCheckFailed;
  if (unshare(ns.flag) != 0) return errno;
  // A new pid namespace only exists once its first process does: the child checks it.
  if (ns.flag != CLONE_NEWPID) {
    if (!ReadNsLink(ns.link, after, sizeof(after))) return kExitCheckFailed;
    if (std::strcmp(before, after) == 0) return kExitNotIsolated;
  } else {
    pid_t child = ForkHelper([]() noexcept { return getpid() == 1 ? 0 : kExitNotIsolated; });
    if (child < 0) return kExitCheckFailed;
    int st = WaitChild(child, kHelperTimeoutMs);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : kExitCheckFailed;
  }
  if (ns.flag == CLONE_NEWNET && if_nametoindex("lo") == 0) return kExitCheckFailed;
  if (ns.flag == CLONE_NEWUTS && sethostname("stasis-probe", 12) != 0) return kExitCheckFailed;
  return 0;
}

void ReportHelper(ProbeReport& r, Feature f, pid_t pid, const char* what, const char* ok_detail) noexcept {
  if (pid < 0) return r.MissingErrno(f, -pid, "fork");
  int st = WaitChild(pid, kHelperTimeoutMs);
  if (st < 0) return r.Missing(f, "%s: timed out", what);
  if (!WIFEXITED(st)) return r.Missing(f, "%s: helper killed by signal %d", what, WTERMSIG(st));
  int code = WEXITSTATUS(st);
  if (code == 0) return r.Ok(f, "%s", ok_detail);
  if (code == kExitNotIsolated) return r.Missing(f, "%s: no new namespace took effect", what);
  if (code == kExitCheckFailed) return r.Missing(f, "%s: the new namespace did not behave", what);
  r.MissingErrno(f, code, what);
}

void ProbeNamespaces(ProbeReport& r) noexcept {
  static constexpr NsKind kKinds[] = {
      {Feature::kNsUser, CLONE_NEWUSER, "user"},
      {Feature::kNsPid, CLONE_NEWPID, "pid"},
      {Feature::kNsNet, CLONE_NEWNET, "net"},
      {Feature::kNsIpc, CLONE_NEWIPC, "ipc"},
      {Feature::kNsUts, CLONE_NEWUTS, "uts"},
      {Feature::kNsMnt, CLONE_NEWNS, "mnt"},
  };
  for (const NsKind& ns : kKinds) {
    pid_t pid = ForkHelper([&ns]() noexcept { return NamespaceHelper(ns); });
    ReportHelper(r, ns.feature, pid, "unshare", "unshared and checked");
  }
}

constexpr long kTimeOffsetSeconds = 86400;

int TimeNamespaceHelper() noexcept {
  if (unshare(CLONE_NEWTIME) != 0) return errno;
  char offsets[64];
  std::snprintf(offsets, sizeof(offsets), "monotonic %ld 0", kTimeOffsetSeconds);
  int w = WriteSmallFile("/proc/self/timens_offsets", offsets);
  if (w != 0) return -w;
  timespec outside;
  clock_gettime(CLOCK_MONOTONIC, &outside);
  // Only children enter the new namespace; glibc's clock_gettime goes through the vDSO, which
  // is exactly what a restored process uses.
  pid_t child = ForkHelper([outside]() noexcept {
    timespec inside;
    clock_gettime(CLOCK_MONOTONIC, &inside);
    long delta = inside.tv_sec - outside.tv_sec;
    return delta >= kTimeOffsetSeconds - 5 && delta <= kTimeOffsetSeconds + 5 ? 0 : kExitNotIsolated;
  });
  if (child < 0) return kExitCheckFailed;
  int st = WaitChild(child, kHelperTimeoutMs);
  return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : kExitCheckFailed;
}

}  // namespace

void ProbeProcess(ProbeReport& r) noexcept {
  ProbeClone3SetTid(r);
  ProbeNamespaces(r);
  pid_t pid = ForkHelper([]() noexcept { return TimeNamespaceHelper(); });
  ReportHelper(r, Feature::kTimeNamespace, pid, "time namespace",
               "CLOCK_MONOTONIC offset seen through the vDSO");
  // Last: it leaves this child without glibc's rseq registration.
  ProbeRseq(r);
}

}  // namespace stasis::check
