// /proc/PID/status and /proc/PID/task/TID/status: identity, credentials and signal masks.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

struct ProcStatus {
  std::string name;                 // "Name:", escaped by the kernel (use stat's comm for raw bytes)
  uint32_t umask = 0;
  char state = '?';                 // first letter of "State:"
  pid_t tgid = 0;
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t tracer_pid = 0;
  std::array<uint32_t, 4> uid{};    // real, effective, saved, filesystem
  std::array<uint32_t, 4> gid{};
  std::vector<uint32_t> groups;
  uint64_t threads = 0;
  uint64_t sig_pnd = 0;             // thread-directed pending
  uint64_t shd_pnd = 0;             // process-directed pending
  uint64_t sig_blk = 0;
  uint64_t sig_ign = 0;
  uint64_t sig_cgt = 0;
  uint64_t cap_inh = 0;
  uint64_t cap_prm = 0;
  uint64_t cap_eff = 0;
  uint64_t cap_bnd = 0;
  uint64_t cap_amb = 0;
  bool no_new_privs = false;
  uint32_t seccomp = 0;             // 0 disabled, 1 strict, 2 filter
};

// Every key listed above must be present exactly once and well formed; other keys are skipped.
Result<ProcStatus> ParseStatus(std::string_view text);

}  // namespace stasis::proc
