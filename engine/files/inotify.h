#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/error.h"
#include "engine/images/inotify.pb.h"

namespace stasis::files {

// Pure: the whole fdinfo text of an inotify fd -> its image message: flags and one watch per
// "inotify wd:.. ino:.. sdev:.. mask:.. ignored_mask:.. fhandle-bytes:.. fhandle-type:..
// f_handle:.." line (dev converted to a user-space dev_t; path left empty).
Result<img::InotifyFile> ParseInotifyFdinfo(std::string_view text);

// Pure: the mount point of the first mount of /proc/PID/mountinfo text whose "major:minor" is
// dev (octal escapes such as \040 undone); nullopt if none.
std::optional<std::string> MountPointOfDev(std::string_view mountinfo, uint64_t dev);

}  // namespace stasis::files
