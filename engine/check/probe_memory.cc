// Memory interfaces dump and restore rely on: pagemap, soft-dirty, PAGEMAP_SCAN,
// MAP_FIXED_NOREPLACE, memfd, mseal and PR_SET_MM_MAP. Each works on scratch mappings.
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/check/kernel_abi.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr size_t kPage = 4096;
constexpr uint64_t kPmPresent = 1ull << 63;
constexpr uint64_t kPmSoftDirty = 1ull << 55;

// A private anonymous scratch mapping, unmapped on scope exit.
struct Scratch {
  explicit Scratch(size_t pages) noexcept
      : size(pages * kPage),
        base(static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))) {}
  ~Scratch() {
    if (ok()) munmap(base, size);
  }
  bool ok() const { return base != MAP_FAILED; }
  size_t size;
  char* base;
};

bool PagemapEntry(int fd, const void* addr, uint64_t* entry) noexcept {
  off_t off = static_cast<off_t>(reinterpret_cast<uintptr_t>(addr) / kPage * sizeof(uint64_t));
  return pread(fd, entry, sizeof(*entry), off) == sizeof(*entry);
}

void ProbePagemap(ProbeReport& r, int pagemap) noexcept {
  Scratch s(2);
  if (!s.ok()) return r.MissingErrno(Feature::kProcPagemap, errno, "mmap");
  s.base[0] = 1;
  uint64_t touched = 0, untouched = 0;
  if (!PagemapEntry(pagemap, s.base, &touched) || !PagemapEntry(pagemap, s.base + kPage, &untouched))
    return r.MissingErrno(Feature::kProcPagemap, errno, "read /proc/self/pagemap");
  if (!(touched & kPmPresent) || (untouched & kPmPresent))
    return r.Missing(Feature::kProcPagemap, "present bits wrong (0x%llx, 0x%llx)",
                     static_cast<unsigned long long>(touched), static_cast<unsigned long long>(untouched));
  r.Ok(Feature::kProcPagemap, "present bits match a touched and an untouched page");
}

void ProbeSoftDirty(ProbeReport& r, int pagemap) noexcept {
  Scratch s(1);
  if (!s.ok()) return r.MissingErrno(Feature::kSoftDirty, errno, "mmap");
  s.base[0] = 1;
  int w = WriteSmallFile("/proc/self/clear_refs", "4");
  if (w != 0) return r.MissingErrno(Feature::kSoftDirty, -w, "write 4 to /proc/self/clear_refs");
  uint64_t clean = 0, dirty = 0;
  if (!PagemapEntry(pagemap, s.base, &clean)) return r.MissingErrno(Feature::kSoftDirty, errno, "pagemap");
  s.base[0] = 2;
  if (!PagemapEntry(pagemap, s.base, &dirty)) return r.MissingErrno(Feature::kSoftDirty, errno, "pagemap");
  if (clean & kPmSoftDirty) return r.Missing(Feature::kSoftDirty, "bit 55 stays set after clear_refs");
  if (!(dirty & kPmSoftDirty))
    return r.Missing(Feature::kSoftDirty, "pagemap bit 55 not set by a write after clear_refs");
  r.Ok(Feature::kSoftDirty, "clear_refs 4 clears, a write sets bit 55");
}

void ProbePagemapScan(ProbeReport& r, int pagemap) noexcept {
  Scratch s(4);
  if (!s.ok()) return r.MissingErrno(Feature::kPagemapScan, errno, "mmap");
  s.base[0] = 1;
  s.base[2 * kPage] = 1;
  abi::PageRegion regions[4] = {};
  abi::PmScanArg arg{};
  arg.size = sizeof(arg);
  arg.start = reinterpret_cast<uint64_t>(s.base);
  arg.end = arg.start + s.size;
  arg.vec = reinterpret_cast<uint64_t>(regions);
  arg.vec_len = 4;
  arg.category_mask = abi::kPageIsPresent;
  arg.return_mask = abi::kPageIsPresent;
  int n = ioctl(pagemap, abi::kPagemapScan, &arg);
  if (n < 0) return r.MissingErrno(Feature::kPagemapScan, errno, "ioctl(PAGEMAP_SCAN)");
  if (n != 2 || regions[0].start != arg.start || regions[0].end != arg.start + kPage ||
      regions[1].start != arg.start + 2 * kPage || regions[1].end != arg.start + 3 * kPage)
    return r.Missing(Feature::kPagemapScan, "PAGEMAP_SCAN found %d regions, expected pages 0 and 2", n);
  r.Ok(Feature::kPagemapScan, "found exactly the present pages");
}

void ProbeMapFixedNoreplace(ProbeReport& r) noexcept {
  Scratch s(2);
  if (!s.ok()) return r.MissingErrno(Feature::kMapFixedNoreplace, errno, "mmap");
  char* hole = s.base + kPage;
  munmap(hole, kPage);
  void* taken = mmap(s.base, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (taken != MAP_FAILED) {
    if (taken != s.base) munmap(taken, kPage);
    return r.Missing(Feature::kMapFixedNoreplace, "an occupied address was not refused");
  }
  if (errno != EEXIST) return r.MissingErrno(Feature::kMapFixedNoreplace, errno, "mmap over a mapping");
  void* got = mmap(hole, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got != hole) {
    if (got != MAP_FAILED) munmap(got, kPage);
    return r.Missing(Feature::kMapFixedNoreplace, "a free address was not honoured");
  }
  r.Ok(Feature::kMapFixedNoreplace, "refuses taken addresses, maps free ones");
}

bool MappedEquals(int fd, const char* want) noexcept {
  void* m = mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return false;
  bool same = std::memcmp(m, want, kPage) == 0;
  munmap(m, kPage);
  return same;
}

void ProbeMemfdOn(ProbeReport& r, int fd) noexcept {
  const Feature f = Feature::kMemfdCreate;
  char page[kPage];
  std::memset(page, 0x5a, sizeof(page));
  if (write(fd, page, sizeof(page)) != static_cast<ssize_t>(sizeof(page))) return r.MissingErrno(f, errno, "write");
  if (!MappedEquals(fd, page)) return r.Missing(f, "a shared mapping does not show what was written");
  // F_SEAL_WRITE needs every writable shared mapping gone, which MappedEquals ensures.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return r.MissingErrno(f, errno, "F_ADD_SEALS");
  if (write(fd, page, 1) >= 0 || errno != EPERM) return r.Missing(f, "a write to a sealed memfd was not refused");
  r.Ok(f, "write, map and seal");
}

void ProbeMemfd(ProbeReport& r) noexcept {
  int fd = memfd_create("stasis-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return r.MissingErrno(Feature::kMemfdCreate, errno, "memfd_create");
  ProbeMemfdOn(r, fd);
  close(fd);
}

// The sealed page stays in this probe child for good; the child exits right after.
void ProbeMseal(ProbeReport& r) noexcept {
  void* p = mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return r.MissingErrno(Feature::kMseal, errno, "mmap");
  if (syscall(abi::kNrMseal, p, kPage, 0) != 0) return r.MissingErrno(Feature::kMseal, errno, "mseal");
  if (munmap(p, kPage) == 0 || errno != EPERM)
    return r.Missing(Feature::kMseal, "mseal returned 0 but munmap of the sealed page was not refused");
  r.Ok(Feature::kMseal, "sealed a page; munmap refused");
}

// Fields of /proc/self/stat by number (1-based, as in proc(5)); false if absent.
bool StatField(const char* stat, int field, __u64* out) noexcept {
  const char* p = std::strrchr(stat, ')');
  if (p == nullptr) return false;
  ++p;
  for (int f = 3; f <= field; ++f) {
    while (*p == ' ') ++p;
    if (*p == '\0') return false;
    if (f == field) {
      char* end = nullptr;
      *out = std::strtoull(p, &end, 10);
      return end != p;
    }
    while (*p != ' ' && *p != '\0') ++p;
  }
  return false;
}

// Sets the mm fields to their current values, as restore sets them to the dumped ones. Works
// without CAP_SYS_RESOURCE (which this kind of host lacks), unlike the older PR_SET_MM_* calls.
void ProbeSetMmMap(ProbeReport& r) noexcept {
  unsigned int size = 0;
  if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) != 0)
    return r.MissingErrno(Feature::kPrctlSetMmMap, errno, "PR_SET_MM_MAP_SIZE");
  if (size != sizeof(prctl_mm_map))
    return r.Missing(Feature::kPrctlSetMmMap, "kernel's prctl_mm_map is %u bytes, ours %zu", size,
                     sizeof(prctl_mm_map));
  char stat[2048];
  if (ReadSmallFile("/proc/self/stat", stat, sizeof(stat)) <= 0)
    return r.MissingErrno(Feature::kPrctlSetMmMap, errno, "read /proc/self/stat");
  prctl_mm_map map{};
  __u64* fields[] = {&map.start_code, &map.end_code, &map.start_stack, &map.start_data,
                        &map.end_data,   &map.start_brk, &map.arg_start,  &map.arg_end,
                        &map.env_start,  &map.env_end};
  const int numbers[] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};
  for (size_t i = 0; i < std::size(numbers); ++i)
    if (!StatField(stat, numbers[i], fields[i]))
      return r.Missing(Feature::kPrctlSetMmMap, "/proc/self/stat lacks field %d", numbers[i]);
  map.brk = static_cast<__u64>(syscall(SYS_brk, 0));
  __u64 auxv[128];
  int afd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
  ssize_t alen = afd >= 0 ? read(afd, auxv, sizeof(auxv)) : -1;
  if (afd >= 0) close(afd);
  if (alen > 0) {
    map.auxv = auxv;
    map.auxv_size = static_cast<uint32_t>(alen);
  }
  map.exe_fd = static_cast<uint32_t>(-1);  // keep /proc/self/exe
  if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) != 0)
    return r.MissingErrno(Feature::kPrctlSetMmMap, errno, "PR_SET_MM_MAP");
  r.Ok(Feature::kPrctlSetMmMap, "re-set brk, code/data, arg/env areas and auxv");
}

}  // namespace

void ProbeMemory(ProbeReport& r) noexcept {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) {
    for (Feature f : {Feature::kProcPagemap, Feature::kSoftDirty, Feature::kPagemapScan})
      r.MissingErrno(f, errno, "open /proc/self/pagemap");
  } else {
    ProbePagemap(r, pagemap);
    ProbeSoftDirty(r, pagemap);
    ProbePagemapScan(r, pagemap);
    close(pagemap);
  }
  ProbeMapFixedNoreplace(r);
  ProbeMemfd(r);
  ProbeSetMmMap(r);
  ProbeMseal(r);
}

}  // namespace stasis::check
