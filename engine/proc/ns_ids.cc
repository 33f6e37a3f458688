#include "engine/proc/ns_ids.h"

#include <cstdint>
#include <string>

#include "engine/proc/text.h"

namespace stasis::proc {

std::vector<uint32_t> ParseNsIdLine(std::string_view status_text, std::string_view key) {
  std::vector<uint32_t> out;
  std::string_view text = status_text, line;
  const std::string prefix = std::string(key) + ":";
  while (NextLine(text, &line)) {
    if (!line.starts_with(prefix)) continue;
    std::string_view rest = line.substr(prefix.size());
    for (std::string_view tok = NextToken(rest); !tok.empty(); tok = NextToken(rest)) {
      auto v = ParseU64(tok);
      if (!v || *v > UINT32_MAX) return {};
      out.push_back(static_cast<uint32_t>(*v));
    }
    return out;
  }
  return out;
}

}  // namespace stasis::proc
