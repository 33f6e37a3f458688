#pragma once

#include <string_view>

#include "engine/common/error.h"
#include "engine/images/eventfd.pb.h"

namespace stasis::files {

// Pure: the whole fdinfo text of an eventfd -> its image message (flags included).
Result<img::EventfdFile> ParseEventfdFdinfo(std::string_view text);

}  // namespace stasis::files
