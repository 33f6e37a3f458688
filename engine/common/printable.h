// Untrusted bytes (names from images, paths) made safe to put into a one-line message.
#pragma once

#include <string>
#include <string_view>

namespace stasis {

// Control and non-ASCII bytes become \xNN; the result is cut after max_bytes of input
// (marked with "...").
std::string Printable(std::string_view s, size_t max_bytes = 256);

}  // namespace stasis
