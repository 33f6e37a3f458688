// userfaultfd: lazy pages (MISSING + UFFDIO_COPY) and write tracking (WP_ASYNC read back
// through PAGEMAP_SCAN), the pre-dump path on kernels without soft-dirty.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "engine/check/kernel_abi.h"
#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr size_t kPage = 4096;

class Uffd {
 public:
  explicit Uffd(int fd) noexcept : fd_(fd) {}
  ~Uffd() {
    if (fd_ >= 0) close(fd_);
  }
  Uffd(const Uffd&) = delete;
  Uffd& operator=(const Uffd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

int NewUffd() noexcept {
  return static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

// UFFDIO_API with `features`; returns 0 or an errno.
int Handshake(int fd, uint64_t features, uint64_t* supported = nullptr) noexcept {
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = features;
  if (ioctl(fd, UFFDIO_API, &api) != 0) return errno;
  if (supported) *supported = api.features;
  return 0;
}

int Register(int fd, void* addr, size_t len, uint64_t mode) noexcept {
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uint64_t>(addr);
  reg.range.len = len;
  reg.mode = mode;
  return ioctl(fd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

int CopyPage(int fd, void* dst, const void* src) noexcept {
  uffdio_copy copy{};
  copy.dst = reinterpret_cast<uint64_t>(dst);
  copy.src = reinterpret_cast<uint64_t>(src);
  copy.len = kPage;
  return ioctl(fd, UFFDIO_COPY, &copy) == 0 ? 0 : errno;
}

// Registers `area` for MISSING faults and fills one page with UFFDIO_COPY, as lazy restore
// does (the page is filled before anything touches it, so no fault handler is needed).
void ExerciseMissing(ProbeReport& r, Feature f, int fd, char* area) noexcept {
  if (int e = Register(fd, area, kPage, UFFDIO_REGISTER_MODE_MISSING)) return r.MissingErrno(f, e, "UFFDIO_REGISTER");
  char src[kPage];
  std::memset(src, 0x3c, sizeof(src));
  if (int e = CopyPage(fd, area, src)) return r.MissingErrno(f, e, "UFFDIO_COPY");
  if (std::memcmp(area, src, kPage) != 0) return r.Missing(f, "UFFDIO_COPY left other bytes");
  r.Ok(f, "registered MISSING, filled a page with UFFDIO_COPY");
}

void ProbeSyscall(ProbeReport& r, uint64_t* features) noexcept {
  *features = 0;
  Uffd query(NewUffd());
  if (!query.ok()) return r.MissingErrno(Feature::kUserfaultfd, errno, "userfaultfd()");
  if (int e = Handshake(query.get(), 0, features)) return r.MissingErrno(Feature::kUserfaultfd, e, "UFFDIO_API");
  Uffd fd(NewUffd());
  if (!fd.ok() || Handshake(fd.get(), 0) != 0) return r.MissingErrno(Feature::kUserfaultfd, errno, "userfaultfd()");
  char* area = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) return r.MissingErrno(Feature::kUserfaultfd, errno, "mmap");
  ExerciseMissing(r, Feature::kUserfaultfd, fd.get(), area);
  munmap(area, kPage);
}

void ProbeDevice(ProbeReport& r) noexcept {
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) return r.MissingErrno(Feature::kUserfaultfdDev, errno, "open /dev/userfaultfd");
  Uffd fd(ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK));
  int e = errno;
  close(dev);
  if (!fd.ok()) return r.MissingErrno(Feature::kUserfaultfdDev, e, "USERFAULTFD_IOC_NEW");
  if (int he = Handshake(fd.get(), 0)) return r.MissingErrno(Feature::kUserfaultfdDev, he, "UFFDIO_API");
  r.Ok(Feature::kUserfaultfdDev, "USERFAULTFD_IOC_NEW and UFFDIO_API");
}

// Pages reported written by PAGEMAP_SCAN in [base, base+len), as a bitmask of page indexes;
// -1 on error (errno set).
long WrittenPages(char* base, size_t len, bool rearm) noexcept {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) return -1;
  abi::PageRegion regions[8] = {};
  abi::PmScanArg arg{};
  arg.size = sizeof(arg);
  arg.flags = abi::kPmScanCheckWpAsync | (rearm ? abi::kPmScanWpMatching : 0);
  arg.start = reinterpret_cast<uint64_t>(base);
  arg.end = arg.start + len;
  arg.vec = reinterpret_cast<uint64_t>(regions);
  arg.vec_len = 8;
  arg.category_mask = abi::kPageIsWritten;
  arg.return_mask = abi::kPageIsWritten;
  int n = ioctl(pagemap, abi::kPagemapScan, &arg);
  int e = errno;
  close(pagemap);
  if (n < 0) {
    errno = e;
    return -1;
  }
  long mask = 0;
  for (int i = 0; i < n; ++i)
    for (uint64_t a = regions[i].start; a < regions[i].end; a += kPage)
      mask |= 1L << ((a - arg.start) / kPage);
  return mask;
}

// The incremental-dump loop on a registered area: write-protect, let the program write, scan
// what was written while re-arming, scan again.
void TrackWrites(ProbeReport& r, Feature f, int uffd, char* area, size_t len) noexcept {
  if (int e = Register(uffd, area, len, UFFDIO_REGISTER_MODE_WP)) return r.MissingErrno(f, e, "UFFDIO_REGISTER(WP)");
  uffdio_writeprotect wp{};
  wp.range.start = reinterpret_cast<uint64_t>(area);
  wp.range.len = len;
  wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
  if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) return r.MissingErrno(f, errno, "UFFDIO_WRITEPROTECT");
  area[2 * kPage] = 7;
  const long first = WrittenPages(area, len, true);
  if (first < 0) return r.MissingErrno(f, errno, "PAGEMAP_SCAN");
  if (first != (1L << 2)) return r.Missing(f, "PAGEMAP_SCAN reported written pages 0x%lx, expected 0x4", first);
  const long second = WrittenPages(area, len, false);
  if (second != 0) return r.Missing(f, "re-arming failed: written pages 0x%lx after PM_SCAN_WP_MATCHING", second);
  r.Ok(f, "write-protect, write, scan and re-arm all work");
}

// `populate` decides whether the pages exist before they are protected.
void ExerciseWpAsync(ProbeReport& r, Feature f, uint64_t supported, uint64_t features, bool populate) noexcept {
  if ((supported & features) != features)
    return r.Missing(f, "UFFDIO_API does not offer feature bits 0x%llx", static_cast<unsigned long long>(features));
  Uffd fd(NewUffd());
  if (!fd.ok()) return r.MissingErrno(f, errno, "userfaultfd()");
  if (int e = Handshake(fd.get(), features)) return r.MissingErrno(f, e, "UFFDIO_API");
  const size_t len = 4 * kPage;
  char* area = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) return r.MissingErrno(f, errno, "mmap");
  if (populate) std::memset(area, 1, len);
  TrackWrites(r, f, fd.get(), area, len);
  munmap(area, len);
}

void ProbeMissingShmem(ProbeReport& r, uint64_t supported) noexcept {
  const Feature f = Feature::kUffdMissingShmem;
  if (!(supported & UFFD_FEATURE_MISSING_SHMEM)) return r.Missing(f, "UFFDIO_API does not offer MISSING_SHMEM");
  Uffd fd(NewUffd());
  if (!fd.ok()) return r.MissingErrno(f, errno, "userfaultfd()");
  if (int e = Handshake(fd.get(), UFFD_FEATURE_MISSING_SHMEM)) return r.MissingErrno(f, e, "UFFDIO_API");
  char* area = static_cast<char*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) return r.MissingErrno(f, errno, "mmap");
  ExerciseMissing(r, f, fd.get(), area);
  munmap(area, kPage);
}

}  // namespace

void ProbeUserfaultfd(ProbeReport& r) noexcept {
  uint64_t supported = 0;
  ProbeSyscall(r, &supported);
  ProbeDevice(r);
  if (!r.available(Feature::kUserfaultfd)) {
    for (Feature f : {Feature::kUffdWpAsync, Feature::kUffdWpUnpopulated, Feature::kUffdMissingShmem})
      r.Missing(f, "needs userfaultfd");
    return;
  }
  ExerciseWpAsync(r, Feature::kUffdWpAsync, supported, abi::kUffdFeatureWpAsync, true);
  ExerciseWpAsync(r, Feature::kUffdWpUnpopulated, supported,
                  abi::kUffdFeatureWpAsync | abi::kUffdFeatureWpUnpopulated, false);
  ProbeMissingShmem(r, supported);
}

}  // namespace stasis::check
