#include "zdtm/runner/caps.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zdtm::runner {

bool LimitCapabilities(uint64_t keep, std::string* error) {
  for (int cap = 0; cap < 64; ++cap) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;   // not held, or past the last cap
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      *error = "drop capability " + std::to_string(cap) + " from the bounding set: " + std::strerror(errno);
      return false;
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    *error = std::string("capget: ") + std::strerror(errno);
    return false;
  }
  for (int i = 0; i < 2; ++i) {
    const auto word = static_cast<uint32_t>(keep >> (32 * i));
    data[i].effective &= word;
    data[i].permitted &= word;
    data[i].inheritable &= word;
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    *error = std::string("capset: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace zdtm::runner
