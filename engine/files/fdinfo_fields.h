// Finding the type-specific "key: value" lines of /proc/PID/fdinfo/N. Pure, no allocation.
#pragma once

#include <optional>
#include <string_view>

#include "engine/proc/text.h"

namespace stasis::files {

// The value (blanks trimmed) of the line "key:<value>"; nullopt if no line has that key.
// *duplicate (when given) tells whether a second line with the key appeared.
inline std::optional<std::string_view> FdinfoField(std::string_view text, std::string_view key,
                                                   bool* duplicate = nullptr) {
  std::optional<std::string_view> found;
  if (duplicate != nullptr) *duplicate = false;
  std::string_view line;
  while (proc::NextLine(text, &line)) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':')
      continue;
    if (found) {
      if (duplicate != nullptr) *duplicate = true;
      break;
    }
    found = proc::TrimBlanks(line.substr(key.size() + 1));
  }
  return found;
}

}  // namespace stasis::files
