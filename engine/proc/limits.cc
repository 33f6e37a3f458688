#include "engine/proc/limits.h"

#include <string>

#include "engine/proc/text.h"

namespace stasis::proc {
namespace {

// The kernel prints "%-25s %-20s %-20s %-10s": the name may contain blanks, the values start
// at fixed columns.
constexpr size_t kValuesColumn = 26;
constexpr size_t kMaxLimits = 64;

std::optional<uint64_t> ParseLimitValue(std::string_view s) {
  if (s == "unlimited") return ~0ull;
  return ParseU64(s);
}

}  // namespace

Result<std::vector<ResourceLimit>> ParseLimits(std::string_view text) {
  if (text.size() > kMaxProcText) return Corrupt("limits: too large");
  std::string_view line;
  if (!NextLine(text, &line) || !line.starts_with("Limit"))
    return Corrupt("limits: missing the header line");
  std::vector<ResourceLimit> out;
  while (NextLine(text, &line)) {
    if (line.empty()) continue;
    const std::string where = "limits line " + std::to_string(out.size() + 2);
    if (out.size() >= kMaxLimits) return Corrupt("limits: more than " + std::to_string(kMaxLimits) + " lines");
    if (line.size() <= kValuesColumn) return Corrupt(where + ": too short");
    std::string_view rest = line.substr(kValuesColumn - 1);
    auto soft = ParseLimitValue(NextToken(rest));
    auto hard = ParseLimitValue(NextToken(rest));
    if (!soft || !hard) return Corrupt(where + ": bad soft or hard value");
    out.push_back({static_cast<uint32_t>(out.size()), *soft, *hard});
  }
  if (out.empty()) return Corrupt("limits: no limits listed");
  return out;
}

}  // namespace stasis::proc
