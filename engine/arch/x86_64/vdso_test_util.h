// The test process's own vDSO, for the vDSO parser and patcher tests.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <span>
#include <string>

namespace stasis::arch::testing {

struct OwnVdso {
  uint64_t start = 0;
  uint64_t end = 0;
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(start), static_cast<size_t>(end - start)};
  }
};

// The [vdso] line of /proc/self/maps; start == 0 if this process has none.
inline OwnVdso FindOwnVdso() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  OwnVdso v;
  while (std::getline(maps, line)) {
    if (line.size() < 6 || line.compare(line.size() - 6, 6, "[vdso]") != 0) continue;
    unsigned long long s = 0, e = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &s, &e) == 2) v.start = s, v.end = e;
  }
  return v;
}

}  // namespace stasis::arch::testing
