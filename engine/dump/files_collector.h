// Open files: fdinfo-PID.img (one FdEntry per descriptor) and the shared files.img (one
// FileEntry per open file description, found by kcmp across the whole tree).
#pragma once

#include "engine/common/error.h"
#include "engine/dump/dump_context.h"
#include "engine/dump/freezer.h"

namespace stasis::dump {

// Regular files, directories and devices such as /dev/null are dumped by path, flags and
// position; terminals only with --shell-job; everything else is refused with a clear error.
Status CollectFiles(DumpContext& ctx, const FrozenProcess& proc, ProcessImages* out);

}  // namespace stasis::dump
