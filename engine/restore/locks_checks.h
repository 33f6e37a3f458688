// Validation of file-locks.img against the rest of the image set (see locks_restore.h).
#pragma once

#include <vector>

#include "engine/common/error.h"
#include "engine/images/lock.pb.h"

namespace stasis::restore {

struct ImageSet;

inline constexpr size_t kMaxFileLocks = 1u << 16;

// Pure: every lock names a live process of the set, one of its fds, and that fd's open file
// description; ranges are sane.
Status CheckFileLocks(const std::vector<img::FileLock>& locks, const ImageSet& set);

}  // namespace stasis::restore
