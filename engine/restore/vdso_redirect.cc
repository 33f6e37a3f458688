#include "engine/restore/vdso_redirect.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "engine/arch/x86_64/vdso_elf.h"
#include "engine/common/fd.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/inject/syscall_injector.h"
#include "engine/proc/maps.h"
#include "engine/restore/image_checks.h"
#include "engine/restore/target.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kPage = images::kPageSize;
constexpr uint64_t kLowest = 0x10000;            // default vm.mmap_min_addr
constexpr uint64_t kStackGuard = 256 * kPage;    // default stack_guard_gap: room for a stack to grow

bool KindOf(const std::string& path, img::VmaKind* kind) {
  if (path == "[vdso]") *kind = img::VMA_VDSO;
  else if (path == "[vvar]") *kind = img::VMA_VVAR;
  else if (path == "[vvar_vclock]") *kind = img::VMA_VVAR_VCLOCK;
  else return false;
  return true;
}

std::vector<VdsoArea> DumpedAreas(const img::MmCore& mm) {
  std::vector<VdsoArea> out;
  for (const img::Vma& v : mm.vmas())
    if (IsSpecialVma(v.kind()) && v.kind() != img::VMA_VSYSCALL) out.push_back({v.start(), v.end(), v.kind()});
  return out;
}

const VdsoArea* FindVdso(const std::vector<VdsoArea>& areas) {
  for (const VdsoArea& a : areas)
    if (a.kind == img::VMA_VDSO) return &a;
  return nullptr;
}

// Same kinds, sizes and distances between them: the block can move as a whole.
bool SameShape(const std::vector<VdsoArea>& a, const std::vector<VdsoArea>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].end - a[i].start != b[i].end - b[i].start ||
        a[i].start - a[0].start != b[i].start - b[0].start)
      return false;
  }
  return true;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<HostVdso> ReadVdso(pid_t pid) {
  const std::string maps_path = "/proc/" + std::to_string(pid) + "/maps";
  const std::string text = STASIS_VALUE(ReadFileToString(maps_path));
  const auto entries = STASIS_VALUE_CTX(proc::ParseMaps(text), maps_path);
  HostVdso host;
  for (const proc::MapsEntry& e : entries) {
    img::VmaKind kind;
    if (KindOf(e.path, &kind)) host.areas.push_back({e.start, e.end, kind});
  }
  if (const VdsoArea* vdso = FindVdso(host.areas)) {
    const uint64_t size = vdso->end - vdso->start;
    if (size > arch::kMaxVdsoBytes) return Unsupported(maps_path + ": [vdso] of " + std::to_string(size) + " bytes");
    host.image.resize(size);
    STASIS_TRY_CTX(inject::ReadRemote(pid, vdso->start, host.image.data(), size), "read the [vdso] of pid " + std::to_string(pid));
  }
  return host;
}

Result<VdsoDecision> DecideVdso(const img::MmCore& mm, const std::string& mm_file, const HostVdso& host) {
  const std::vector<VdsoArea> want = DumpedAreas(mm);
  VdsoDecision d;
  if (want.empty()) {
    d.mode = host.areas.empty() ? VdsoMode::kNothing : VdsoMode::kDrop;
    return d;
  }
  const bool same_shape = SameShape(host.areas, want);
  const std::string& old = mm.vdso_image();
  if (old.empty()) {
    if (!same_shape)
      return Unsupported(mm_file + ": the vDSO layout differs from this kernel's, and the image holds no vDSO "
                         "bytes to redirect (dumped by an older stasis)");
    d.mode = host.areas.front().start == want.front().start ? VdsoMode::kNothing : VdsoMode::kMove;
    return d;
  }
  const VdsoArea* dumped_vdso = FindVdso(want);
  if (dumped_vdso == nullptr || std::count_if(want.begin(), want.end(), [](const VdsoArea& a) {
                                  return a.kind == img::VMA_VDSO;
                                }) != 1)
    return Corrupt(mm_file + ": vdso_image without exactly one [vdso] VMA");
  if (old.size() != dumped_vdso->end - dumped_vdso->start)
    return Corrupt(mm_file + ": vdso_image is " + std::to_string(old.size()) + " bytes, its [vdso] VMA " +
                   std::to_string(dumped_vdso->end - dumped_vdso->start));
  if (same_shape && old == host.image) {
    d.mode = host.areas.front().start == want.front().start ? VdsoMode::kNothing : VdsoMode::kMove;
    return d;
  }
  const auto old_functions = STASIS_VALUE_CTX(arch::ListVdsoFunctions(Bytes(old)), mm_file + ": the dumped vDSO");
  std::vector<arch::VdsoSymbol> new_functions;
  if (!host.image.empty())
    new_functions = STASIS_VALUE_CTX(arch::ListVdsoFunctions(Bytes(host.image)), "this kernel's vDSO");
  d.redirect = STASIS_VALUE_CTX(arch::PlanVdsoRedirect(old_functions, new_functions), mm_file);
  d.mode = VdsoMode::kRedirect;
  return d;
}

Status CheckVdso(const ImageSet& set) {
  const HostVdso host = STASIS_VALUE(ReadVdso(::getpid()));
  for (const ProcessImage& p : set.processes) {
    if (p.zombie()) continue;
    auto d = DecideVdso(p.mm, images::ImageFileName("mm", p.pid()), host);
    if (!d.ok()) return std::move(d).error();
    if (d->mode != VdsoMode::kRedirect) continue;
    // Only the entry points are redirected: a thread stopped in the middle of the old code
    // would go on reading the old [vvar], which no longer exists.
    const VdsoArea* old_vdso = FindVdso(DumpedAreas(p.mm));
    for (const img::ThreadCore& t : p.core.threads())
      if (old_vdso != nullptr && t.regs().ip() >= old_vdso->start && t.regs().ip() < old_vdso->end)
        return Unsupported(images::ImageFileName("core", p.pid()) + ": thread " + std::to_string(t.tid()) +
                           " was stopped inside the vDSO, whose code differs on this kernel: dump again");
  }
  return Status::Ok();
}

uint64_t PickRedirectBase(std::vector<std::pair<uint64_t, uint64_t>> avoid, uint64_t size, uint64_t near) {
  std::sort(avoid.begin(), avoid.end());
  uint64_t best = 0, best_distance = UINT64_MAX;
  uint64_t cursor = kLowest;
  auto consider_gap = [&](uint64_t end) {
    if (end <= cursor || end - cursor < size) return;
    uint64_t at = std::clamp(near & ~(kPage - 1), cursor, end - size);
    at &= ~(kPage - 1);
    if (at < cursor) at += kPage;   // cursor is page-aligned for page-aligned ranges
    if (at < cursor || at + size > end) return;
    const uint64_t distance = at > near ? at - near : near - at;
    if (distance < best_distance) best = at, best_distance = distance;
  };
  for (const auto& [start, end] : avoid) {
    consider_gap(std::min(start, kTaskSize));
    cursor = std::max(cursor, (end + kPage - 1) & ~(kPage - 1));
  }
  consider_gap(kTaskSize);
  return best;
}

Status RedirectVdso(Target& t, const std::vector<VdsoArea>& current, const VdsoDecision& decision) {
  const img::MmCore& mm = t.image().mm;
  const std::vector<VdsoArea> want = DumpedAreas(mm);
  const VdsoArea* old_vdso = FindVdso(want);
  if (old_vdso == nullptr || decision.mode != VdsoMode::kRedirect)
    return Internal(t.who() + ": vDSO redirect without a dumped [vdso]");
  const std::string mm_file = images::ImageFileName("mm", t.pid());

  // 1. This kernel's block goes next to the old [vdso], clear of everything the process will
  //    have (its dumped VMAs, with room below each stack to grow) and of the puppet's own.
  uint64_t new_vdso = 0;
  if (!current.empty()) {
    std::vector<std::pair<uint64_t, uint64_t>> avoid;
    for (const img::Vma& v : mm.vmas()) {
      if (v.kind() == img::VMA_VSYSCALL) continue;
      const uint64_t guard = (v.flags() & MAP_GROWSDOWN) ? std::min(v.start(), kStackGuard) : 0;
      avoid.emplace_back(v.start() - guard, v.end());
    }
    avoid.emplace_back(t.trampoline(), t.trampoline() + kTrampolinePages * kPage);
    avoid.emplace_back(current.front().start, current.back().end);
    const uint64_t size = current.back().end - current.front().start;
    const uint64_t base = PickRedirectBase(avoid, size, old_vdso->start);
    if (base == 0) return Unsupported(t.who() + ": no free place for this kernel's vDSO");
    const VdsoArea* cur_vdso = FindVdso(current);
    if (cur_vdso != nullptr) new_vdso = base + (cur_vdso->start - current.front().start);
    if (cur_vdso != nullptr && !arch::RedirectFits(decision.redirect, old_vdso->start, new_vdso))
      return Unsupported(t.who() + ": this kernel's vDSO cannot be placed within a jump of the dumped one");
    for (const VdsoArea& a : current) {
      const uint64_t to = base + (a.start - current.front().start);
      STASIS_TRY_CTX(t.main().Checked("mremap", SYS_mremap, a.start, a.end - a.start, a.end - a.start,
                                      MREMAP_MAYMOVE | MREMAP_FIXED, to),
                     t.who() + ": move " + img::VmaKind_Name(a.kind) + " to " + Hex(to));
    }
  }

  // 2. The dumped [vvar]/[vvar_vclock] ranges: only the old vDSO code read them, and its
  //    entry points no longer get there, so they stay unbacked. They are reserved PROT_NONE
  //    so nothing else gets mapped where the process had them (and a stray read faults).
  for (const VdsoArea& a : want) {
    if (a.kind == img::VMA_VDSO) continue;
    STASIS_TRY_CTX(t.main().Checked("mmap", SYS_mmap, a.start, a.end - a.start, PROT_NONE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
                                    static_cast<uint64_t>(-1), 0),
                   t.who() + ": reserve the dumped " + img::VmaKind_Name(a.kind) + " at " + Hex(a.start));
  }

  // 3. The dumped image, patched, at its own address: libc holds pointers into it, and
  //    AT_SYSINFO_EHDR keeps naming it.
  const std::string& old = mm.vdso_image();
  const std::string patched = STASIS_VALUE_CTX(
      arch::BuildRedirectedVdso(Bytes(old), decision.redirect, old_vdso->start, new_vdso), mm_file);
  const uint64_t len = old_vdso->end - old_vdso->start;
  const std::string where = t.who() + ": the dumped vDSO at " + Hex(old_vdso->start);
  STASIS_TRY_CTX(t.main().Checked("mmap", SYS_mmap, old_vdso->start, len, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, static_cast<uint64_t>(-1), 0),
                 where);
  STASIS_TRY_CTX(inject::WriteRemote(t.pid(), old_vdso->start, patched.data(), patched.size()), where);
  STASIS_TRY_CTX(t.main().Checked("mprotect", SYS_mprotect, old_vdso->start, len, PROT_READ | PROT_EXEC), where);
  return Status::Ok();
}

}  // namespace stasis::restore
