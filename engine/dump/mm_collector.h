// The address space layout: MmCore from /proc/PID/{stat,smaps,auxv,exe}.
#pragma once

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"
#include "engine/images/mm.pb.h"
#include "engine/proc/maps.h"

namespace stasis::dump {

// Classifies one smaps entry. Pure; refuses clearly what the engine cannot restore yet
// (deleted or SysV/memfd mappings, device mappings, shadow stacks, hugetlb, mseal).
Result<img::Vma> VmaFromSmaps(const proc::MapsEntry& e);

// Fills out->mm except brk (injected_state.cc). Must run after the injector's scratch page is
// gone, so that page is never part of the image.
Status CollectMm(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
