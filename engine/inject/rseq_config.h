// PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13): where a thread's rseq area is registered.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "engine/common/error.h"

namespace stasis::inject {

struct RseqConfig {
  uint64_t area = 0;       // 0: the thread has no rseq area
  uint32_t size = 0;
  uint32_t signature = 0;
  uint32_t flags = 0;
};

// `tid` must be a ptrace-stopped tracee. Fails (kNotSupported on kernels without the request).
Result<RseqConfig> GetRseqConfig(pid_t tid);

}  // namespace stasis::inject
