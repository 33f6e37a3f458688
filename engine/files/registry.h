// The one table of file classes.
#pragma once

#include <vector>

#include "engine/files/file_kind.h"

namespace stasis::files {

// Every file class this engine handles, in the order Matches is tried.
const std::vector<const FileKind*>& AllFileKinds();

// The module that claims f, or nullptr when none does (regular files and ttys are handled by
// the dump pipeline itself; anything else is the caller's "not supported" error).
const FileKind* FindKindFor(const OpenFd& f);

// The module that reads entry's oneof member, or nullptr (regular files, ttys, ...).
const FileKind* FindKindFor(const img::FileEntry& entry);

}  // namespace stasis::files
