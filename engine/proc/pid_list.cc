#include "engine/proc/pid_list.h"

#include <limits>
#include <string>

#include "engine/proc/text.h"

namespace stasis::proc {

Result<std::vector<pid_t>> ParsePidList(std::string_view text) {
  if (text.size() > kMaxProcText) return Corrupt("pid list too large");
  std::vector<pid_t> out;
  std::string_view rest = text;
  for (;;) {
    while (!rest.empty() && (IsBlank(rest.front()) || rest.front() == '\n')) rest.remove_prefix(1);
    if (rest.empty()) break;
    size_t i = 0;
    while (i < rest.size() && !IsBlank(rest[i]) && rest[i] != '\n') ++i;
    std::string_view tok = rest.substr(0, i);
    rest.remove_prefix(i);
    auto v = ParseU64(tok);
    if (!v || *v == 0 || *v > static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
      return Corrupt("bad pid \"" + std::string(tok.substr(0, 32)) + "\"");
    out.push_back(static_cast<pid_t>(*v));
  }
  return out;
}

}  // namespace stasis::proc
