#include "engine/dump/proc_files.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "engine/common/fd.h"
#include "engine/proc/text.h"

namespace stasis::dump {

std::string ProcPath(pid_t pid, const std::string& entry) {
  return "/proc/" + std::to_string(pid) + "/" + entry;
}

Result<std::string> ReadProc(pid_t pid, const std::string& entry) {
  auto r = ReadFileToString(ProcPath(pid, entry), proc::kMaxProcText);
  if (!r.ok() && r.error().sys_errno() == ENOENT)
    return Error(ErrorKind::kNotFound, "pid " + std::to_string(pid) + " vanished (" + entry + ")", ENOENT);
  return r;
}

Result<std::string> ReadLink(const std::string& path) {
  std::string buf(PATH_MAX + 1, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return SysError("readlink " + path);
  if (static_cast<size_t>(n) >= buf.size()) return Unsupported("readlink " + path + ": target longer than PATH_MAX");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<std::vector<int>> ListNumericDir(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return Error(ErrorKind::kNotFound, path + " vanished", ENOENT);
    return SysError("opendir " + path);
  }
  std::vector<int> out;
  errno = 0;
  while (dirent* e = ::readdir(dir.get())) {
    auto n = proc::ParseU64(e->d_name);
    if (n && *n <= INT_MAX) out.push_back(static_cast<int>(*n));
    errno = 0;
  }
  if (errno != 0) return SysError("readdir " + path);
  std::sort(out.begin(), out.end());
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace stasis::dump
