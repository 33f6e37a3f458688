// /proc/PID/maps and /proc/PID/smaps: the VMAs of an address space.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/error.h"

namespace stasis::proc {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  bool readable = false;
  bool writable = false;
  bool executable = false;
  bool shared = false;        // 's' in the perms column, 'p' otherwise
  uint64_t offset = 0;        // file offset in bytes
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string path;           // exactly as printed, including " (deleted)" and "[heap]"; may be empty

  // smaps only (has_smaps == false for plain maps).
  bool has_smaps = false;
  uint64_t rss_kb = 0;
  uint64_t anonymous_kb = 0;
  uint64_t swap_kb = 0;
  std::vector<std::string> vm_flags;   // two-letter mnemonics from "VmFlags:"

  bool HasVmFlag(std::string_view flag) const;
  // The path printed with a " (deleted)" suffix: the mapped file was unlinked.
  bool deleted() const;
  std::string_view PathWithoutDeleted() const;
  // st_dev-compatible encoding of major:minor (glibc makedev).
  uint64_t dev() const;
  uint64_t size() const { return end - start; }
};

// Parses a whole maps file. Lines must be sorted and non-overlapping, addresses page aligned.
Result<std::vector<MapsEntry>> ParseMaps(std::string_view text);
// Parses a whole smaps file: a maps header line per VMA followed by "Key: value" lines,
// ending with VmFlags. Every VMA must carry a VmFlags line.
Result<std::vector<MapsEntry>> ParseSmaps(std::string_view text);

}  // namespace stasis::proc
