#include "engine/proc/maps.h"

#include <sys/sysmacros.h>

#include <algorithm>

#include "engine/proc/text.h"

namespace stasis::proc {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";
constexpr uint64_t kPageMask = 4095;
constexpr size_t kMaxVmas = 1u << 20;   // the kernel's own limit (vm.max_map_count) is ~65530
// fs/proc/task_mmu.c pads the header to 25 + 6 * sizeof(void*) - 1 columns before the path.
constexpr size_t kPathColumn = 25 + 6 * 8 - 1;

Error BadLine(size_t lineno, std::string_view line, const char* what) {
  return Corrupt("line " + std::to_string(lineno) + " (\"" + std::string(line.substr(0, 120)) +
                 "\"): " + what);
}

Result<MapsEntry> ParseHeaderLine(std::string_view line, size_t lineno) {
  MapsEntry e;
  std::string_view rest = line;

  std::string_view range = NextToken(rest);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return BadLine(lineno, line, "no address range");
  auto start = ParseU64(range.substr(0, dash), 16);
  auto end = ParseU64(range.substr(dash + 1), 16);
  if (!start || !end) return BadLine(lineno, line, "bad address range");
  if (*start >= *end) return BadLine(lineno, line, "empty or inverted address range");
  if ((*start & kPageMask) || (*end & kPageMask)) return BadLine(lineno, line, "unaligned address range");
  e.start = *start;
  e.end = *end;

  std::string_view perms = NextToken(rest);
  if (perms.size() != 4 || (perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'w' && perms[1] != '-') ||
      (perms[2] != 'x' && perms[2] != '-') || (perms[3] != 's' && perms[3] != 'p'))
    return BadLine(lineno, line, "bad permissions");
  e.readable = perms[0] == 'r';
  e.writable = perms[1] == 'w';
  e.executable = perms[2] == 'x';
  e.shared = perms[3] == 's';

  auto offset = ParseU64(NextToken(rest), 16);
  if (!offset) return BadLine(lineno, line, "bad offset");
  e.offset = *offset;

  std::string_view dev = NextToken(rest);
  size_t colon = dev.find(':');
  if (colon == std::string_view::npos) return BadLine(lineno, line, "bad device");
  auto major = ParseU64(dev.substr(0, colon), 16);
  auto minor = ParseU64(dev.substr(colon + 1), 16);
  if (!major || !minor || *major > 0xfff || *minor > 0xfffff) return BadLine(lineno, line, "bad device");
  e.dev_major = static_cast<uint32_t>(*major);
  e.dev_minor = static_cast<uint32_t>(*minor);

  std::string_view inode_tok = NextToken(rest);
  auto inode = ParseU64(inode_tok);
  if (!inode) return BadLine(lineno, line, "bad inode");
  e.inode = *inode;

  // The path starts at a fixed column unless the header is wider; taking it from that column
  // keeps file names that begin with blanks intact. Text not laid out that way (hand-made or
  // from a 32-bit kernel) falls back to "after the blanks".
  size_t after_inode = static_cast<size_t>(inode_tok.data() + inode_tok.size() - line.data());
  if (after_inode < line.size()) {
    size_t path_at = std::max(kPathColumn, after_inode + 1) + 1;
    bool aligned = path_at <= line.size() &&
                   std::all_of(line.begin() + after_inode, line.begin() + path_at - 1,
                               [](char c) { return c == ' '; }) &&
                   line[path_at - 1] == ' ';
    if (aligned && path_at < line.size()) {
      e.path = std::string(line.substr(path_at));
    } else {
      std::string_view tail = line.substr(after_inode);
      while (!tail.empty() && IsBlank(tail.front())) tail.remove_prefix(1);
      e.path = std::string(tail);
    }
  }
  return e;
}

// A smaps line "Key:   value [kB]" (not a header line): the key ends with ':'.
bool IsKeyLine(std::string_view line) {
  std::string_view rest = line;
  std::string_view first = NextToken(rest);
  return !first.empty() && first.back() == ':';
}

Status ParseKeyLine(std::string_view line, size_t lineno, MapsEntry* e, bool* saw_flags) {
  std::string_view rest = line;
  std::string_view key = NextToken(rest);
  key.remove_suffix(1);
  if (key == "VmFlags") {
    if (*saw_flags) return BadLine(lineno, line, "second VmFlags line");
    *saw_flags = true;
    for (std::string_view f = NextToken(rest); !f.empty(); f = NextToken(rest)) {
      if (f.size() != 2) return BadLine(lineno, line, "bad VmFlags mnemonic");
      e->vm_flags.emplace_back(f);
    }
    return Status::Ok();
  }
  uint64_t* slot = key == "Rss" ? &e->rss_kb : key == "Anonymous" ? &e->anonymous_kb
                 : key == "Swap" ? &e->swap_kb : nullptr;
  if (slot == nullptr) return Status::Ok();   // the kernel adds keys over time; only these matter
  auto value = ParseU64(NextToken(rest));
  if (!value || NextToken(rest) != "kB") return BadLine(lineno, line, "bad size value");
  *slot = *value;
  return Status::Ok();
}

Result<std::vector<MapsEntry>> Parse(std::string_view text, bool smaps) {
  if (text.size() > kMaxProcText) return Corrupt("maps text too large");
  std::vector<MapsEntry> out;
  std::string_view line;
  size_t lineno = 0;
  bool saw_flags = true;
  while (NextLine(text, &line)) {
    ++lineno;
    if (smaps && IsKeyLine(line)) {
      if (out.empty()) return BadLine(lineno, line, "key line before the first VMA");
      STASIS_TRY(ParseKeyLine(line, lineno, &out.back(), &saw_flags));
      continue;
    }
    if (line.empty()) return BadLine(lineno, line, "empty line");
    if (smaps && !saw_flags) return BadLine(lineno, line, "previous VMA has no VmFlags line");
    MapsEntry e = STASIS_VALUE(ParseHeaderLine(line, lineno));
    e.has_smaps = smaps;
    if (!out.empty() && e.start < out.back().end) return BadLine(lineno, line, "VMAs overlap or are unsorted");
    if (out.size() >= kMaxVmas) return BadLine(lineno, line, "too many VMAs");
    out.push_back(std::move(e));
    saw_flags = !smaps;
  }
  if (!saw_flags) return Corrupt("last VMA has no VmFlags line");
  return out;
}

}  // namespace

bool MapsEntry::HasVmFlag(std::string_view flag) const {
  return std::find(vm_flags.begin(), vm_flags.end(), flag) != vm_flags.end();
}

bool MapsEntry::deleted() const {
  return path.size() > kDeletedSuffix.size() && std::string_view(path).ends_with(kDeletedSuffix);
}

std::string_view MapsEntry::PathWithoutDeleted() const {
  std::string_view p = path;
  if (deleted()) p.remove_suffix(kDeletedSuffix.size());
  return p;
}

uint64_t MapsEntry::dev() const { return makedev(dev_major, dev_minor); }

Result<std::vector<MapsEntry>> ParseMaps(std::string_view text) { return Parse(text, false); }
Result<std::vector<MapsEntry>> ParseSmaps(std::string_view text) { return Parse(text, true); }

}  // namespace stasis::proc
