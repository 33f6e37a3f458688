// /proc/PID/stat and /proc/PID/task/TID/stat.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/error.h"

namespace stasis::proc {

struct ProcStat {
  pid_t pid = 0;             // 1
  std::string comm;          // 2, raw bytes between the first '(' and the LAST ')'
  char state = '?';          // 3: R S D T t Z X I ...
  pid_t ppid = 0;            // 4
  pid_t pgrp = 0;            // 5
  pid_t session = 0;         // 6
  int32_t tty_nr = 0;        // 7
  uint64_t flags = 0;        // 9 (PF_*)
  uint64_t num_threads = 0;  // 20
  uint64_t start_time = 0;   // 22, clock ticks after boot
  uint64_t start_code = 0;   // 26
  uint64_t end_code = 0;     // 27
  uint64_t start_stack = 0;  // 28
  int32_t exit_signal = 0;   // 38
  uint64_t start_data = 0;   // 45
  uint64_t end_data = 0;     // 46
  uint64_t start_brk = 0;    // 47
  uint64_t arg_start = 0;    // 48
  uint64_t arg_end = 0;      // 49
  uint64_t env_start = 0;    // 50
  uint64_t env_end = 0;      // 51
  int32_t exit_code = 0;     // 52: wait status of a zombie
};

// Needs all 52 fields (every kernel since 3.5 prints them). comm may hold spaces and parens.
Result<ProcStat> ParseStat(std::string_view text);

}  // namespace stasis::proc
