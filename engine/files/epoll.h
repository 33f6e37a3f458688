#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/common/error.h"
#include "engine/images/epoll.pb.h"

namespace stasis::files {

// Pure: the whole fdinfo text of an epoll -> its image message: flags and one target per
// "tfd: N events: X data: Y pos:P ino:I sdev:D" line. sdev (the kernel's dev encoding) goes
// to *target_devs, one per target, for the caller's check that each fd is still that file.
Result<img::EpollFile> ParseEpollFdinfo(std::string_view text, std::vector<uint64_t>* target_devs);

// The kernel's internal dev_t encoding (major << 20 | minor) as a user-space dev_t.
uint64_t KernelDevToUser(uint64_t kdev);

}  // namespace stasis::files
