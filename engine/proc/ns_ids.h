// The per-namespace id lines of /proc/PID/status (NSpid, NSpgid, NSsid): one id per pid
// namespace level, outermost (the reader's procfs) first, innermost last; 0 = not visible there.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace stasis::proc {

// "NSpid:\t42\t1" with key "NSpid" -> {42, 1}; empty when the line is missing or malformed.
std::vector<uint32_t> ParseNsIdLine(std::string_view status_text, std::string_view key);

}  // namespace stasis::proc
