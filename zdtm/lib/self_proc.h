// Readers for this process's own /proc entries, for tests that check kernel-visible state.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace zdtm {

// Whole file (for /proc files whose size stat() does not tell); nullopt if it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path);

struct MapEntry {
  unsigned long start = 0, end = 0;
  std::string perms;  // "rw-p"
  unsigned long offset = 0;
  std::string path;
  std::string vm_flags;  // VmFlags from smaps, e.g. "rd wr mr mw me ac"
};

// The VMA of this process that contains addr (from /proc/self/smaps), or nullopt.
std::optional<MapEntry> FindMapping(const void* addr);

// True if the space-separated VmFlags list contains the two-letter flag.
bool HasVmFlag(const MapEntry& m, const char* flag);

// One field of /proc/<pid>/stat after the comm, 1-based as in proc(5) (3 = state, 4 = ppid).
std::optional<std::string> StatField(pid_t pid, int field);

// The /proc directory of a process (dir "/proc") or of a thread of this process (dir
// "/proc/self/task") named by the id this process knows (getpid, gettid, fork). In the ns flavor
// /proc is the host's and shows other numbers: the entry whose innermost NSpid is `id` (and
// which is in our pid namespace) is looked up.
std::string ProcDirOf(pid_t id, const std::string& dir = "/proc");

}  // namespace zdtm

namespace zdtm {

// The calling thread's id.
pid_t Gettid();

// Waits until thread `tid` of this process sleeps inside syscall number `nr` (from
// /proc/self/task/TID/syscall), so the dump catches it there. False after timeout_ms.
bool WaitUntilInSyscall(pid_t tid, long nr, int timeout_ms = 10000);

}  // namespace zdtm
