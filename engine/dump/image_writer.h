// Writing the collected state as the image set. Every file name written is recorded in the
// context so a failed dump can remove exactly what it created, and the inventory can list them.
#pragma once

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"

namespace stasis::dump {

// pstree.img, files.img and core-, mm-, pagemap-, fdinfo-PID.img for every process.
Status WriteTreeImages(DumpContext& ctx, const FrozenTree& tree);

// inventory.img: written last, so its presence means the set is complete.
Status WriteInventory(DumpContext& ctx, uint64_t dump_time_ns);

// Removes every file this run wrote (after a failure).
void RemoveWrittenImages(DumpContext& ctx);

}  // namespace stasis::dump
