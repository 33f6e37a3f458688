// prctl(PR_SET_MM, PR_SET_MM_MAP): the mm fields that make /proc/PID/cmdline, environ, exe,
// auxv, [heap] and [stack] read as they did at dump time.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstring>
#include <type_traits>

#include "engine/restore/target.h"

namespace stasis::restore {
namespace {

// struct prctl_mm_map of <linux/prctl.h>.
struct PrctlMmMap {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end;
  uint64_t auxv;
  uint32_t auxv_size;
  uint32_t exe_fd;
};
static_assert(sizeof(PrctlMmMap) == 104);
static_assert(std::is_trivially_copyable_v<PrctlMmMap>);

constexpr size_t kAuxvOffset = 0;
constexpr size_t kMapOffset = images::kPageSize;

}  // namespace

Status RestoreMmFields(Target& t) {
  const img::MmCore& mm = t.image().mm;
  int64_t exe_fd = -1;
  if (!mm.exe_path().empty()) {
    const uint64_t path = STASIS_VALUE(t.PutString(0, mm.exe_path()));
    exe_fd = static_cast<int64_t>(STASIS_VALUE_CTX(
        t.main().Checked("openat", SYS_openat, static_cast<uint64_t>(AT_FDCWD), path, O_RDONLY | O_CLOEXEC),
        t.who() + ": open executable " + mm.exe_path()));
  }
  PrctlMmMap map{};
  map.start_code = mm.start_code();
  map.end_code = mm.end_code();
  map.start_data = mm.start_data();
  map.end_data = mm.end_data();
  map.start_brk = mm.start_brk();
  map.brk = mm.brk();
  map.start_stack = mm.start_stack();
  map.arg_start = mm.arg_start();
  map.arg_end = mm.arg_end();
  map.env_start = mm.env_start();
  map.env_end = mm.env_end();
  map.exe_fd = static_cast<uint32_t>(exe_fd);
  if (mm.auxv_size() > 0) {
    std::vector<uint64_t> auxv(mm.auxv().begin(), mm.auxv().end());
    map.auxv = STASIS_VALUE(t.Put(kAuxvOffset, auxv.data(), auxv.size() * sizeof(uint64_t)));
    map.auxv_size = static_cast<uint32_t>(auxv.size() * sizeof(uint64_t));
  }
  const uint64_t remote_map = STASIS_VALUE(t.Put(kMapOffset, &map, sizeof map));
  auto set = t.main().Checked("prctl(PR_SET_MM_MAP)", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, remote_map,
                              sizeof map, 0);
  if (exe_fd >= 0) {
    auto closed = t.main().Checked("close", SYS_close, static_cast<uint64_t>(exe_fd));
    if (!closed.ok() && set.ok()) return std::move(closed.error().Context(t.who()));
  }
  if (!set.ok()) {
    char detail[160];
    std::snprintf(detail, sizeof detail, " (brk %llx-%llx, args %llx-%llx, env %llx-%llx)",
                  static_cast<unsigned long long>(map.start_brk), static_cast<unsigned long long>(map.brk),
                  static_cast<unsigned long long>(map.arg_start), static_cast<unsigned long long>(map.arg_end),
                  static_cast<unsigned long long>(map.env_start), static_cast<unsigned long long>(map.env_end));
    return std::move(set.error().Context(t.who() + ": restore mm fields" + detail));
  }
  return Status::Ok();
}

}  // namespace stasis::restore
