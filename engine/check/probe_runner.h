// Runs probe bodies in forked, time-bounded children that report through shared memory, so a
// probe that crashes, hangs or leaves odd state behind (a moved vDSO, a sealed mapping, a
// registered userfaultfd) cannot harm the caller.
//
// Probe bodies run after fork(): they use no exceptions and no heap (fixed buffers, snprintf),
// and every child they fork themselves dies with them (PR_SET_PDEATHSIG) and is reaped.
#pragma once

#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "engine/check/check.h"

namespace stasis::check {

inline constexpr size_t kDetailMax = 200;

// Filled by a probe body inside the child. Lives in a MAP_SHARED mapping: whatever the child
// reported before it crashed or timed out survives.
class ProbeReport {
 public:
  void Ok(Feature f, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
  void Missing(Feature f, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
  // Missing, detail "<what>: <strerror(err)>".
  void MissingErrno(Feature f, int err, const char* what) noexcept;

  bool reported(Feature f) const { return slots_[Index(f)].reported; }
  bool available(Feature f) const { return slots_[Index(f)].available; }
  const char* detail(Feature f) const { return slots_[Index(f)].detail; }

 private:
  static size_t Index(Feature f) { return static_cast<size_t>(f); }
  struct Slot {
    bool reported;
    bool available;
    char detail[kDetailMax];
  };
  Slot slots_[kFeatureCount];
};
static_assert(std::is_trivially_copyable_v<ProbeReport>, "ProbeReport crosses fork() as raw bytes");

using ProbeBody = void (*)(ProbeReport& report) noexcept;

struct ProbeGroup {
  const char* name;               // "ptrace", used in "probe group ptrace timed out"
  ProbeBody body;
  std::vector<Feature> features;  // what the body reports; the only slots taken from it
  int timeout_ms;
};

// Runs group.body in a fresh child and returns one FeatureProbe per group feature. A feature
// the body did not report is missing with the reason (crashed, timed out, could not fork).
std::vector<FeatureProbe> RunProbeGroup(const ProbeGroup& group);

// --- helpers for probe bodies (no heap, no exceptions) ---

// Reads up to size-1 bytes of a small file and NUL-terminates; returns the length or -errno.
ssize_t ReadSmallFile(const char* path, char* buf, size_t size) noexcept;
// Writes text to an existing file (sysfs, procfs, cgroupfs); returns 0 or -errno.
int WriteSmallFile(const char* path, const char* text) noexcept;

// Waits for child `pid` for at most timeout_ms; on timeout SIGKILLs and reaps it. Returns the
// wait status, or -1 if it timed out (then *timed_out is set when given).
int WaitChild(pid_t pid, int timeout_ms, bool* timed_out = nullptr) noexcept;

// Forks a helper that runs fn() and _exits with its result; the helper is SIGKILLed if its
// parent dies first. Returns the pid or -errno.
template <typename Fn>
pid_t ForkHelper(Fn&& fn) noexcept {
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Parent already gone? (In a new pid namespace the parent is outside: getppid() is 0.)
    const pid_t ppid = getppid();
    if (ppid != parent && ppid != 0) _exit(127);
    _exit(fn());
  }
  return pid;
}

}  // namespace stasis::check
