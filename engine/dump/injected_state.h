// State only the task itself can report (signal handlers, prctl values, brk, sigaltstack,
// the set_tid_address pointer, securebits), read by injecting syscalls into the frozen threads.
#pragma once

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"

namespace stasis::dump {

// Runs after CollectTask (which records the untouched registers and masks). On return every
// injector is gone and the scratch page is unmapped, so the address space is as frozen.
Status CollectInjectedState(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
