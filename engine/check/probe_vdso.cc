// The vDSO: which areas this kernel maps ([vvar], since 6.13 also [vvar_vclock], [vdso]) and
// whether they can be moved as one block, as restore moves them to the dumped addresses.
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "engine/check/probes.h"
#include "engine/arch/x86_64/vdso_elf.h"

namespace stasis::check {
namespace {

struct Area {
  const char* name;
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool found() const { return end > start; }
  size_t size() const { return end - start; }
};

// The vDSO-related areas in the order they appear in /proc/self/maps.
struct VdsoAreas {
  Area vvar{"[vvar]"};
  Area vclock{"[vvar_vclock]"};
  Area vdso{"[vdso]"};
  Area* all[3] = {&vvar, &vclock, &vdso};
};

bool ReadAreas(VdsoAreas* out) noexcept {
  char maps[65536];
  if (ReadSmallFile("/proc/self/maps", maps, sizeof(maps)) <= 0) return false;
  for (char* line = maps; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = '\0';
    unsigned long start = 0, end = 0;
    const char* name = std::strrchr(line, ' ');
    if (name && std::sscanf(line, "%lx-%lx", &start, &end) == 2) {
      for (Area* a : out->all)
        if (std::strcmp(name + 1, a->name) == 0) a->start = start, a->end = end;
    }
    line = next;
  }
  return true;
}

void ProbeLayout(ProbeReport& r, const VdsoAreas& areas) noexcept {
  if (!areas.vdso.found()) return r.Missing(Feature::kVdsoLayout, "no [vdso] in /proc/self/maps");
  char detail[kDetailMax];
  size_t len = 0;
  for (const Area* a : areas.all) {
    if (!a->found()) continue;
    len += static_cast<size_t>(std::snprintf(detail + len, sizeof(detail) - len, "%s%s %zu KiB",
                                             len ? ", " : "", a->name, a->size() / 1024));
    if (len >= sizeof(detail)) break;
  }
  r.Ok(Feature::kVdsoLayout, "%s", detail);
}

using ClockGettime = int (*)(clockid_t, timespec*);

// Moves every vDSO area by one delta into a fresh reservation and calls clock_gettime
// through the moved code: that only works if the code still finds its data pages.
// Afterwards glibc's cached vDSO pointers are stale, so this runs last in its probe child.
void ProbeRemap(ProbeReport& r, const VdsoAreas& areas) noexcept {
  const Feature f = Feature::kVdsoRemap;
  if (!areas.vdso.found()) return r.Missing(f, "no [vdso] to move");
  const uint64_t sym = arch::FindElfSymbolOffset(reinterpret_cast<const unsigned char*>(areas.vdso.start),
                                           areas.vdso.size(), "__vdso_clock_gettime");
  if (sym == 0) return r.Missing(f, "no __vdso_clock_gettime in the vDSO image");

  uintptr_t lo = areas.vdso.start, hi = areas.vdso.end;
  for (const Area* a : areas.all) {
    if (!a->found()) continue;
    if (a->start < lo) lo = a->start;
    if (a->end > hi) hi = a->end;
  }
  void* target = mmap(nullptr, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (target == MAP_FAILED) return r.MissingErrno(f, errno, "mmap a new place");
  const uintptr_t delta = reinterpret_cast<uintptr_t>(target) - lo;
  for (const Area* a : areas.all) {
    if (!a->found()) continue;
    void* moved = mremap(reinterpret_cast<void*>(a->start), a->size(), a->size(),
                         MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(a->start + delta));
    if (moved == MAP_FAILED) {
      char what[64];
      std::snprintf(what, sizeof(what), "mremap %s", a->name);
      return r.MissingErrno(f, errno, what);
    }
  }
  VdsoAreas after;
  if (!ReadAreas(&after)) return r.MissingErrno(f, errno, "read /proc/self/maps");
  for (size_t i = 0; i < 3; ++i) {
    if (areas.all[i]->found() && after.all[i]->start != areas.all[i]->start + delta)
      return r.Missing(f, "%s is not where it was moved to", areas.all[i]->name);
  }
  auto moved_clock = reinterpret_cast<ClockGettime>(areas.vdso.start + delta + sym);
  timespec via_vdso{}, via_syscall{};
  if (moved_clock(CLOCK_MONOTONIC, &via_vdso) != 0 ||
      syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &via_syscall) != 0)
    return r.Missing(f, "clock_gettime through the moved vDSO failed");
  long long diff_ns = (via_syscall.tv_sec - via_vdso.tv_sec) * 1000000000LL +
                      (via_syscall.tv_nsec - via_vdso.tv_nsec);
  if (diff_ns < 0 || diff_ns > 1000000000LL)
    return r.Missing(f, "the moved vDSO's clock is off by %lld ns", diff_ns);
  r.Ok(f, "moved %zu KiB as one block; its clock_gettime still agrees", (hi - lo) / 1024);
}

}  // namespace

void ProbeVdso(ProbeReport& r) noexcept {
  VdsoAreas areas;
  if (!ReadAreas(&areas)) {
    r.MissingErrno(Feature::kVdsoLayout, errno, "read /proc/self/maps");
    return r.MissingErrno(Feature::kVdsoRemap, errno, "read /proc/self/maps");
  }
  ProbeLayout(r, areas);
  ProbeRemap(r, areas);
}

}  // namespace stasis::check
