// Per-process and per-thread state readable from outside: /proc and ptrace. Fills everything
// in TaskCore except what only the task can tell (injected_state.h).
#pragma once

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"

namespace stasis::dump {

// Must run before any syscall is injected: it records the registers and signal masks the
// threads were frozen with.
Status CollectTask(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
