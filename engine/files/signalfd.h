#pragma once

#include <string_view>

#include "engine/common/error.h"
#include "engine/images/signalfd.pb.h"

namespace stasis::files {

// Pure: the whole fdinfo text of a signalfd -> its image message (flags included).
Result<img::SignalfdFile> ParseSignalfdFdinfo(std::string_view text);

}  // namespace stasis::files
