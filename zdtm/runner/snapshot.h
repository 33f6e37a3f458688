// The outside view of a process tree: what /proc shows about it, as "key<TAB>value" entries,
// captured before the first dump and after every restore and compared entry by entry, so
// silent corruption fails a test even when the test itself does not notice.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace zdtm::runner {

struct OutsideView {
  std::map<std::string, std::string> entries;  // e.g. "1234 map 7f0000000000" -> "7f00...-... rw-p ..."
  std::vector<pid_t> pids;                     // the tree, root first
};

// Walks the tree from root (children of every thread, recursively) and reads, per process:
// ppid/pgid/sid/state and thread ids with their comm, state and signal masks; maps with VmFlags;
// fds with target, flags and offset; creds, caps, umask, no_new_privs, seccomp, signal
// dispositions; cwd, root, exe, cmdline, environ, auxv, rlimits, personality, mm boundaries.
// Fails (with *error) only if the root is gone.
bool CaptureOutsideView(pid_t root, OutsideView* view, std::string* error);

struct CompareOptions {
  // Across kernels the vDSO/vvar areas legitimately differ (size, [vvar_vclock] split).
  bool ignore_vdso = false;
  // Restored on another boot or machine, the files are copies: file mappings are compared by
  // path, offset and flags, not by device and inode number.
  bool files_copied = false;
};

// Human-readable differences, one per entry ("1234 map 7f..: before '...' after '...'").
std::vector<std::string> CompareOutsideViews(const OutsideView& before, const OutsideView& after,
                                             const CompareOptions& options);

// Text form for --dump-to / --restore-from; Parse returns false on malformed text.
std::string SerializeOutsideView(const OutsideView& view);
bool ParseOutsideView(const std::string& text, OutsideView* view);

}  // namespace zdtm::runner
