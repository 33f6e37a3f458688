#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "engine/files/file_kind.h"

namespace stasis::files {

std::string OpenFd::Describe() const {
  return "fd " + std::to_string(fd) + " of pid " + std::to_string(pid) + " (" + link + ")";
}

int FdsAtDumpedNumbers::Find(int dumped_fd) const {
  return ::fcntl(dumped_fd, F_GETFD) >= 0 ? dumped_fd : -1;
}

Result<OpenFd> ReadOpenFd(pid_t pid, int pidfd, int fd) {
  OpenFd f;
  f.pid = pid;
  f.fd = fd;
  const std::string what = "fd " + std::to_string(fd) + " of pid " + std::to_string(pid);
  const std::string proc = "/proc/" + std::to_string(pid);

  char link[PATH_MAX];
  const std::string link_path = proc + "/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link_path.c_str(), link, sizeof link);
  if (n < 0) return SysError(what + ": readlink " + link_path);
  if (static_cast<size_t>(n) >= sizeof link) return Unsupported(what + ": link target too long");
  f.link.assign(link, static_cast<size_t>(n));

  f.fdinfo = STASIS_VALUE_CTX(ReadFileToString(proc + "/fdinfo/" + std::to_string(fd), 16u << 20), what);
  f.head = STASIS_VALUE_CTX(proc::ParseFdInfo(f.fdinfo), what);

  int local = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  if (local < 0) return SysError(f.Describe() + ": pidfd_getfd");
  f.local_fd = UniqueFd(local);
  if (::fstat(local, &f.st) != 0) return SysError(f.Describe() + ": fstat");
  return f;
}

}  // namespace stasis::files
