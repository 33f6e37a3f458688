#include "engine/proc/fdinfo.h"

#include <fcntl.h>

#include <limits>
#include <string>

#include "engine/proc/text.h"

namespace stasis::proc {

bool FdInfo::cloexec() const { return (flags & O_CLOEXEC) != 0; }

Result<FdInfo> ParseFdInfo(std::string_view text) {
  // epoll and inotify fdinfo grow with their registrations; the head is always first.
  if (text.size() > kMaxProcText) return Corrupt("fdinfo: too large");
  FdInfo info;
  bool has_pos = false, has_flags = false, has_mnt = false;
  std::string_view line;
  while (NextLine(text, &line)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;   // e.g. continuation lines of some types
    std::string_view key = line.substr(0, colon);
    std::string_view value = TrimBlanks(line.substr(colon + 1));
    auto dup = [&](bool* seen) {
      if (*seen) return true;
      *seen = true;
      return false;
    };
    if (key == "pos") {
      if (dup(&has_pos)) return Corrupt("fdinfo: duplicate pos");
      auto v = ParseU64(value);
      if (!v) return Corrupt("fdinfo: bad pos \"" + std::string(value) + "\"");
      info.pos = *v;
    } else if (key == "flags") {
      if (dup(&has_flags)) return Corrupt("fdinfo: duplicate flags");
      auto v = ParseU64(value, 8);
      if (!v || *v > std::numeric_limits<uint32_t>::max())
        return Corrupt("fdinfo: bad flags \"" + std::string(value) + "\"");
      info.flags = static_cast<uint32_t>(*v);
    } else if (key == "mnt_id") {
      if (dup(&has_mnt)) return Corrupt("fdinfo: duplicate mnt_id");
      auto v = ParseU64(value);
      if (!v || *v > std::numeric_limits<uint32_t>::max())
        return Corrupt("fdinfo: bad mnt_id \"" + std::string(value) + "\"");
      info.mnt_id = static_cast<uint32_t>(*v);
    } else if (key == "ino") {
      if (info.inode) return Corrupt("fdinfo: duplicate ino");
      auto v = ParseU64(value);
      if (!v) return Corrupt("fdinfo: bad ino \"" + std::string(value) + "\"");
      info.inode = *v;
    }
  }
  if (!has_pos) return Corrupt("fdinfo: missing pos");
  if (!has_flags) return Corrupt("fdinfo: missing flags");
  if (!has_mnt) return Corrupt("fdinfo: missing mnt_id");
  return info;
}

}  // namespace stasis::proc
