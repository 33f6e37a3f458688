#include "engine/files/status_flags.h"

#include <cstdio>

namespace stasis::files {

Status CheckFlags(uint32_t flags, uint32_t allowed, const std::string& what) {
  const uint32_t unknown = flags & ~allowed;
  if (unknown == 0) return Status::Ok();
  char hex[16];
  std::snprintf(hex, sizeof hex, "%#x", unknown);
  return Corrupt(what + ": unknown flags " + hex);
}

Status SetStatusFlags(int fd, uint32_t flags, const std::string& what) {
  constexpr uint32_t kSettable = O_NONBLOCK | O_APPEND | O_DIRECT | O_NOATIME;
  const int now = ::fcntl(fd, F_GETFL);
  if (now < 0) return SysError(what + ": fcntl F_GETFL");
  const int want = static_cast<int>((static_cast<uint32_t>(now) & ~kSettable) | (flags & kSettable));
  if (want != now && ::fcntl(fd, F_SETFL, want) != 0) return SysError(what + ": fcntl F_SETFL");
  return Status::Ok();
}

}  // namespace stasis::files
