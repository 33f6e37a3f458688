// Signal state reachable through ptrace: blocked masks and queued siginfo. (Handlers need
// the task itself: see injected_state.h.)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/error.h"

namespace stasis::dump {

inline constexpr size_t kSiginfoSize = 128;

Result<uint64_t> GetSigmask(pid_t tid);

// Every queued siginfo, in queue order, 128 bytes each: thread-directed ones, or with
// `shared` the process-wide queue (seen through any thread of the process).
Result<std::vector<std::string>> PeekPendingSignals(pid_t tid, bool shared);

}  // namespace stasis::dump
