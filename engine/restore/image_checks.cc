#include "engine/restore/image_checks.h"

#include <cstdio>
#include <set>

#include "engine/images/image_format.h"
#include "engine/images/image_io.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kPage = images::kPageSize;
constexpr uint32_t kKnownMapFlags = 0x01 | 0x02 | 0x20 | 0x100 | 0x4000;  // SHARED PRIVATE ANONYMOUS GROWSDOWN NORESERVE
constexpr uint32_t kKnownProt = 0x1 | 0x2 | 0x4;                 // READ WRITE EXEC
constexpr uint32_t kKnownAdvice = 0x1FF;
constexpr uint32_t kMaxSignal = 64;
constexpr uint32_t kNumRlimits = 16;    // RLIM_NLIMITS
constexpr size_t kMaxCommLength = 63;
constexpr size_t kMaxVmaName = 4096;
constexpr size_t kMinXstateSize = 576;  // legacy FXSAVE area + XSAVE header

bool Aligned(uint64_t v) { return v % kPage == 0; }

std::string Range(uint64_t start, uint64_t end) { return Hex(start) + "-" + Hex(end); }

Status CheckSiginfos(const google::protobuf::RepeatedPtrField<std::string>& infos,
                     const std::string& where) {
  if (static_cast<size_t>(infos.size()) > kMaxPendingSignals)
    return Corrupt(where + ": " + std::to_string(infos.size()) + " pending signals (limit " +
                   std::to_string(kMaxPendingSignals) + ")");
  for (int i = 0; i < infos.size(); ++i) {
    const std::string& s = infos[i];
    if (s.size() != kSiginfoSize)
      return Corrupt(where + ": pending signal " + std::to_string(i) + " has " +
                     std::to_string(s.size()) + " bytes of siginfo, expected 128");
    uint32_t signo = 0;
    for (int b = 3; b >= 0; --b) signo = (signo << 8) | static_cast<uint8_t>(s[b]);
    if (signo == 0 || signo > kMaxSignal)
      return Corrupt(where + ": pending signal " + std::to_string(i) + " has signal number " +
                     std::to_string(signo));
  }
  return Status::Ok();
}

Status CheckThread(const img::ThreadCore& t, const std::string& file) {
  const std::string where = file + ": thread " + std::to_string(t.tid());
  if (t.comm().size() > kMaxCommLength) return Corrupt(where + ": comm is too long");
  if (t.xstate().size() > kMaxXstateSize)
    return Corrupt(where + ": xstate of " + std::to_string(t.xstate().size()) +
                   " bytes exceeds the limit of " + std::to_string(kMaxXstateSize));
  if (!t.xstate().empty() && t.xstate().size() < kMinXstateSize)
    return Corrupt(where + ": xstate of " + std::to_string(t.xstate().size()) +
                   " bytes is shorter than an XSAVE header");
  if (t.has_rseq() && t.rseq().ptr() != 0 && (t.rseq().len() < 20 || t.rseq().len() > 4096))
    return Corrupt(where + ": rseq area length " + std::to_string(t.rseq().len()));
  if (t.creds().groups_size() > static_cast<int>(kMaxGroups))
    return Corrupt(where + ": " + std::to_string(t.creds().groups_size()) + " supplementary groups");
  return CheckSiginfos(t.pending(), where);
}

}  // namespace

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool IsUsablePath(std::string_view path) {
  return !path.empty() && path[0] == '/' && path.size() <= kMaxPathLength &&
         path.find('\0') == std::string_view::npos;
}

bool VmaHoldsPages(img::VmaKind kind) {
  return kind == img::VMA_ANON_PRIVATE || kind == img::VMA_ANON_SHARED ||
         kind == img::VMA_FILE_PRIVATE;
}

bool IsSpecialVma(img::VmaKind kind) {
  return kind == img::VMA_VDSO || kind == img::VMA_VVAR || kind == img::VMA_VVAR_VCLOCK ||
         kind == img::VMA_VSYSCALL;
}

Status CheckTaskCore(const img::TaskCore& core, const img::ProcessEntry& entry,
                     const std::string& file) {
  if (core.pid() != entry.pid())
    return Corrupt(file + ": describes pid " + std::to_string(core.pid()) + ", pstree.img says " +
                   std::to_string(entry.pid()));
  if (core.threads_size() != entry.threads_size())
    return Corrupt(file + ": " + std::to_string(core.threads_size()) + " threads, pstree.img lists " +
                   std::to_string(entry.threads_size()));
  for (int i = 0; i < core.threads_size(); ++i) {
    if (core.threads(i).tid() != entry.threads(i))
      return Corrupt(file + ": thread " + std::to_string(i) + " is tid " +
                     std::to_string(core.threads(i).tid()) + ", pstree.img says " +
                     std::to_string(entry.threads(i)));
    STASIS_TRY(CheckThread(core.threads(i), file));
  }
  if (core.comm().size() > kMaxCommLength) return Corrupt(file + ": comm is too long");
  if (core.umask() > 0777) return Corrupt(file + ": umask " + std::to_string(core.umask()));
  if (core.pdeath_signal() > kMaxSignal)
    return Corrupt(file + ": parent-death signal " + std::to_string(core.pdeath_signal()));
  if (core.dumpable() > 2) return Corrupt(file + ": dumpable " + std::to_string(core.dumpable()));
  if (!core.cwd().empty() && !IsUsablePath(core.cwd())) return Corrupt(file + ": unusable cwd path");
  if (!core.root().empty() && !IsUsablePath(core.root())) return Corrupt(file + ": unusable root path");

  uint32_t seen_rlimits = 0;
  for (const img::Rlimit& r : core.rlimits()) {
    if (r.resource() >= kNumRlimits)
      return Corrupt(file + ": unknown rlimit resource " + std::to_string(r.resource()));
    if (seen_rlimits & (1u << r.resource()))
      return Corrupt(file + ": rlimit " + std::to_string(r.resource()) + " appears twice");
    seen_rlimits |= 1u << r.resource();
    if (r.cur() > r.max())
      return Corrupt(file + ": rlimit " + std::to_string(r.resource()) + " soft limit above hard limit");
  }
  uint64_t seen_signals = 0;
  for (const img::SigAction& sa : core.sigactions()) {
    if (sa.signo() == 0 || sa.signo() > kMaxSignal || sa.signo() == 9 || sa.signo() == 19)
      return Corrupt(file + ": sigaction for signal " + std::to_string(sa.signo()));
    const uint64_t bit = 1ull << (sa.signo() - 1);
    if (seen_signals & bit)
      return Corrupt(file + ": sigaction for signal " + std::to_string(sa.signo()) + " appears twice");
    seen_signals |= bit;
  }
  return CheckSiginfos(core.shared_pending(), file + ": shared pending");
}

Status CheckMm(const img::MmCore& mm, const std::string& file) {
  if (static_cast<size_t>(mm.vmas_size()) > kMaxVmasPerProcess)
    return Corrupt(file + ": " + std::to_string(mm.vmas_size()) + " VMAs (limit " +
                   std::to_string(kMaxVmasPerProcess) + ")");
  if (static_cast<size_t>(mm.auxv_size()) > kMaxAuxvWords || mm.auxv_size() % 2 != 0)
    return Corrupt(file + ": auxv of " + std::to_string(mm.auxv_size()) + " words");
  if (!mm.exe_path().empty() && !IsUsablePath(mm.exe_path()))
    return Corrupt(file + ": unusable exe path");
  uint64_t prev_end = 0;
  std::set<int> specials;
  for (int i = 0; i < mm.vmas_size(); ++i) {
    const img::Vma& v = mm.vmas(i);
    const std::string where = file + ": VMA " + std::to_string(i) + " (" + Range(v.start(), v.end()) + ")";
    if (!img::VmaKind_IsValid(v.kind())) return Corrupt(where + ": unknown kind " + std::to_string(v.kind()));
    if (!Aligned(v.start()) || !Aligned(v.end())) return Corrupt(where + ": not page-aligned");
    if (v.start() >= v.end()) return Corrupt(where + ": empty or inverted");
    if (v.kind() != img::VMA_VSYSCALL && v.end() > kUserAddressLimit)
      return Corrupt(where + ": beyond the user address space");
    if (i > 0 && v.start() < mm.vmas(i - 1).start())
      return Corrupt(where + ": not sorted: starts below VMA " + std::to_string(i - 1) + " (" +
                     Range(mm.vmas(i - 1).start(), mm.vmas(i - 1).end()) + ")");
    if (v.start() < prev_end)
      return Corrupt(where + ": overlaps VMA " + std::to_string(i - 1) + " (" +
                     Range(mm.vmas(i - 1).start(), mm.vmas(i - 1).end()) + ")");
    prev_end = v.end();
    if (v.prot() & ~kKnownProt) return Corrupt(where + ": unknown prot bits " + Hex(v.prot()));
    if (v.flags() & ~kKnownMapFlags) return Corrupt(where + ": unknown flags " + Hex(v.flags()));
    if (v.advice() & ~kKnownAdvice) return Corrupt(where + ": unknown advice bits " + Hex(v.advice()));
    if (!Aligned(v.pgoff())) return Corrupt(where + ": file offset not page-aligned");
    if (v.name().size() > kMaxVmaName) return Corrupt(where + ": name too long");
    const bool file_backed = v.kind() == img::VMA_FILE_PRIVATE || v.kind() == img::VMA_FILE_SHARED;
    if (file_backed && !IsUsablePath(v.path())) return Corrupt(where + ": unusable file path");
    if (file_backed && v.pgoff() > (1ull << 62)) return Corrupt(where + ": file offset too large");
    if (IsSpecialVma(v.kind()) && !specials.insert(v.kind()).second)
      return Corrupt(where + ": a second " + img::VmaKind_Name(v.kind()) + " area");
  }
  return Status::Ok();
}

Status CheckPagemap(ProcessImage& proc, const std::string& file) {
  const auto& vmas = proc.mm.vmas();
  proc.run_offsets.clear();
  proc.run_offsets.reserve(proc.pagemap.size());
  if (proc.pagemap.size() > kMaxRunsPerProcess)
    return Corrupt(file + ": " + std::to_string(proc.pagemap.size()) + " runs (limit " +
                   std::to_string(kMaxRunsPerProcess) + ")");
  uint64_t offset = 0;
  uint64_t prev_end = 0;
  int v = 0;  // first VMA that can still contain the current run (both lists are sorted)
  for (size_t i = 0; i < proc.pagemap.size(); ++i) {
    const img::PagemapEntry& run = proc.pagemap[i];
    const std::string where = file + ": run " + std::to_string(i) + " (" + Hex(run.vaddr()) + "+" +
                              std::to_string(run.nr_pages()) + " pages)";
    if (run.nr_pages() == 0) return Corrupt(where + ": empty");
    if (!Aligned(run.vaddr())) return Corrupt(where + ": not page-aligned");
    const uint64_t bytes = static_cast<uint64_t>(run.nr_pages()) * kPage;
    if (run.vaddr() >= kUserAddressLimit || bytes > kUserAddressLimit - run.vaddr())
      return Corrupt(where + ": beyond the user address space");
    const uint64_t end = run.vaddr() + bytes;
    if (i > 0 && run.vaddr() < proc.pagemap[i - 1].vaddr())
      return Corrupt(where + ": not sorted: starts below run " + std::to_string(i - 1));
    if (run.vaddr() < prev_end) return Corrupt(where + ": overlaps run " + std::to_string(i - 1));
    prev_end = end;

    // The run must be covered, without holes, by VMAs whose contents come from page images.
    while (v < vmas.size() && vmas[v].end() <= run.vaddr()) ++v;
    uint64_t covered = run.vaddr();
    for (int w = v; w < vmas.size() && covered < end; ++w) {
      if (vmas[w].start() > covered || !VmaHoldsPages(vmas[w].kind())) break;
      covered = vmas[w].end();
    }
    if (covered < end) {
      if (v < vmas.size() && vmas[v].start() <= run.vaddr() && !VmaHoldsPages(vmas[v].kind()))
        return Corrupt(where + ": lies in a " + img::VmaKind_Name(vmas[v].kind()) +
                       " VMA, which cannot hold dumped pages");
      return Corrupt(where + ": lies outside every VMA");
    }

    if (bytes > proc.pages_bytes - offset)
      return Corrupt(where + ": runs past the " + std::to_string(proc.pages_bytes / kPage) +
                     " pages of " + images::ImageFileName("pages", proc.pid()));
    proc.run_offsets.push_back(offset);
    offset += bytes;
  }
  if (offset != proc.pages_bytes)
    return Corrupt(file + ": runs hold " + std::to_string(offset / kPage) + " pages, " +
                   images::ImageFileName("pages", proc.pid()) + " holds " +
                   std::to_string(proc.pages_bytes / kPage));
  return Status::Ok();
}

Status CheckFds(const std::vector<img::FdEntry>& fds,
                const std::map<uint64_t, img::FileEntry>& files, const std::string& file) {
  if (fds.size() > kMaxFdsPerProcess)
    return Corrupt(file + ": " + std::to_string(fds.size()) + " fds (limit " +
                   std::to_string(kMaxFdsPerProcess) + ")");
  std::set<uint32_t> seen;
  for (const img::FdEntry& fd : fds) {
    const std::string where = file + ": fd " + std::to_string(fd.fd());
    if (fd.fd() >= kMaxFdNumber) return Corrupt(where + ": fd number too large");
    if (!seen.insert(fd.fd()).second) return Corrupt(where + ": appears twice");
    if (files.find(fd.file_id()) == files.end())
      return Corrupt(where + ": file id " + std::to_string(fd.file_id()) + " is not in files.img");
  }
  return Status::Ok();
}

}  // namespace stasis::restore
