// Reading a live task's /proc entries: the I/O half of engine/proc (which only parses).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::dump {

// "/proc/42/maps" from (42, "maps").
std::string ProcPath(pid_t pid, const std::string& entry);

// Reads /proc/PID/ENTRY; the error names the pid and the entry.
Result<std::string> ReadProc(pid_t pid, const std::string& entry);

// readlink(2) of any path, e.g. /proc/PID/cwd.
Result<std::string> ReadLink(const std::string& path);

// Numeric names in a directory, sorted (e.g. /proc/PID/task, /proc/PID/fd).
Result<std::vector<int>> ListNumericDir(const std::string& path);

bool PathExists(const std::string& path);

}  // namespace stasis::dump
