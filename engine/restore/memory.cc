// Memory of a puppet: clear out the coordinator's copy, move the vDSO, map the dumped VMAs and
// fill them with the dumped pages.
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>

#include "engine/common/fd.h"
#include "engine/images/image_io.h"
#include "engine/inject/rseq_config.h"
#include "engine/proc/maps.h"
#include "engine/restore/image_checks.h"
#include "engine/restore/target.h"
#include "engine/restore/vdso_redirect.h"

namespace stasis::restore {
namespace {

constexpr uint64_t kPage = images::kPageSize;
constexpr int kRseqFlagUnregister = 1;
constexpr int kPrSetVma = 0x53564d41;
constexpr int kPrSetVmaAnonName = 0;

struct Area {
  uint64_t start;
  uint64_t end;
  img::VmaKind kind;
};

std::string Range(uint64_t start, uint64_t end) { return Hex(start) + "-" + Hex(end); }

bool Overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

Result<std::vector<proc::MapsEntry>> ReadMaps(pid_t pid) {
  const std::string text = STASIS_VALUE(ReadFileToString("/proc/" + std::to_string(pid) + "/maps"));
  return proc::ParseMaps(text);
}

bool SpecialKindOf(const std::string& path, img::VmaKind* kind) {
  if (path == "[vdso]") *kind = img::VMA_VDSO;
  else if (path == "[vvar]") *kind = img::VMA_VVAR;
  else if (path == "[vvar_vclock]") *kind = img::VMA_VVAR_VCLOCK;
  else if (path == "[vsyscall]") *kind = img::VMA_VSYSCALL;
  else return false;
  return true;
}

// The vDSO-like areas (not [vsyscall], which never moves) of the puppet, by address.
Result<std::vector<Area>> CurrentVdsoAreas(pid_t pid) {
  std::vector<Area> out;
  for (const proc::MapsEntry& e : STASIS_VALUE(ReadMaps(pid))) {
    img::VmaKind kind;
    if (SpecialKindOf(e.path, &kind) && kind != img::VMA_VSYSCALL) out.push_back({e.start, e.end, kind});
  }
  return out;
}

std::vector<Area> DumpedVdsoAreas(const img::MmCore& mm) {
  std::vector<Area> out;
  for (const img::Vma& v : mm.vmas())
    if (IsSpecialVma(v.kind()) && v.kind() != img::VMA_VSYSCALL) out.push_back({v.start(), v.end(), v.kind()});
  return out;
}

Status MremapAll(Target& t, const std::vector<Area>& from, uint64_t from_base, uint64_t to_base) {
  for (const Area& a : from) {
    const uint64_t size = a.end - a.start;
    const uint64_t to = to_base + (a.start - from_base);
    STASIS_TRY_CTX(t.main().Checked("mremap", SYS_mremap, a.start, size, size,
                                    MREMAP_MAYMOVE | MREMAP_FIXED, to),
                   t.who() + ": move " + img::VmaKind_Name(a.kind) + " " + Range(a.start, a.end) +
                       " to " + Hex(to));
  }
  return Status::Ok();
}

// Which VMAs receive pages (both lists are sorted; runs were checked to lie inside VMAs).
std::vector<bool> VmasWithPages(const ProcessImage& p) {
  const auto& vmas = p.mm.vmas();
  std::vector<bool> out(static_cast<size_t>(vmas.size()), false);
  int v = 0;
  for (const img::PagemapEntry& run : p.pagemap) {
    const uint64_t end = run.vaddr() + static_cast<uint64_t>(run.nr_pages()) * kPage;
    while (v < vmas.size() && vmas[v].end() <= run.vaddr()) ++v;
    for (int w = v; w < vmas.size() && vmas[w].start() < end; ++w) out[static_cast<size_t>(w)] = true;
  }
  return out;
}

uint32_t MappingProt(const img::Vma& v, bool gets_pages) {
  return v.prot() | (gets_pages ? PROT_WRITE : 0);
}

// "[anon:foo]" -> "foo" (also "[anon_shmem:foo]"); empty if the VMA has no user-set name.
std::string AnonName(const std::string& name) {
  for (const char* prefix : {"[anon:", "[anon_shmem:"}) {
    const std::string p(prefix);
    if (name.size() > p.size() + 1 && name.compare(0, p.size(), p) == 0 && name.back() == ']')
      return name.substr(p.size(), name.size() - p.size() - 1);
  }
  return "";
}

// An fd inside the target, kept open across consecutive VMAs of the same file.
class RemoteFileCache {
 public:
  explicit RemoteFileCache(Target& t) : t_(t) {}
  ~RemoteFileCache() { (void)Close(); }
  Result<int> Open(const std::string& path, int flags) {
    if (fd_ >= 0 && path == path_ && flags == flags_) return fd_;
    STASIS_TRY(Close());
    const uint64_t remote_path = STASIS_VALUE(t_.PutString(0, path));
    auto fd = t_.main().Checked("openat", SYS_openat, static_cast<uint64_t>(AT_FDCWD), remote_path,
                                static_cast<uint64_t>(flags | O_CLOEXEC));
    if (!fd.ok()) return std::move(fd.error().Context(t_.who() + ": open " + path));
    fd_ = static_cast<int>(*fd);
    path_ = path;
    flags_ = flags;
    return fd_;
  }
  Status Close() {
    if (fd_ < 0) return Status::Ok();
    const int fd = fd_;
    fd_ = -1;
    auto r = t_.main().Checked("close", SYS_close, static_cast<uint64_t>(fd));
    if (!r.ok()) return std::move(r).error();
    return Status::Ok();
  }

 private:
  Target& t_;
  int fd_ = -1;
  std::string path_;
  int flags_ = 0;
};

Status MapOne(const RestoreContext& ctx, Target& t, const img::Vma& v, bool gets_pages,
              int shared_object, RemoteFileCache& files) {
  const uint64_t len = v.end() - v.start();
  const uint64_t prot = MappingProt(v, gets_pages);
  int flags = MAP_FIXED;
  int64_t fd = -1;
  uint64_t pgoff = v.pgoff();
  std::string what = t.who() + ": mmap " + Range(v.start(), v.end());
  switch (v.kind()) {
    case img::VMA_ANON_PRIVATE:
      flags |= MAP_PRIVATE | MAP_ANONYMOUS | (v.flags() & MAP_GROWSDOWN);
      pgoff = 0;
      break;
    case img::VMA_ANON_SHARED: {
      const int obj = shared_object;
      if (obj < 0) return Internal(what + ": shared mapping without a planned object");
      const uint64_t base = ctx.shared_anon_addrs.at(static_cast<size_t>(obj));
      char path[96];
      std::snprintf(path, sizeof path, "/proc/%d/map_files/%llx-%llx", ctx.coordinator,
                    static_cast<unsigned long long>(base),
                    static_cast<unsigned long long>(base + ctx.plan->shared_anon[static_cast<size_t>(obj)].size));
      fd = STASIS_VALUE(files.Open(path, O_RDWR));
      flags |= MAP_SHARED;
      what += " (shared anonymous)";
      break;
    }
    case img::VMA_FILE_PRIVATE:
      fd = STASIS_VALUE(files.Open(v.path(), O_RDONLY));
      flags |= MAP_PRIVATE;
      what += " (" + v.path() + ")";
      break;
    case img::VMA_FILE_SHARED:
      fd = STASIS_VALUE(files.Open(v.path(), v.may_write() ? O_RDWR : O_RDONLY));
      flags |= MAP_SHARED;
      what += " (" + v.path() + ")";
      break;
    default:
      return Internal(what + ": not a mappable VMA kind");
  }
  flags |= static_cast<int>(v.flags() & MAP_NORESERVE);  // VmFlags "nr": glibc's thread arenas
  auto r = t.main().Checked("mmap", SYS_mmap, v.start(), len, prot, static_cast<uint64_t>(flags),
                            static_cast<uint64_t>(fd), pgoff);
  if (!r.ok()) return std::move(r.error().Context(what));
  if (*r != v.start()) return Internal(what + ": the kernel mapped it at " + Hex(*r));

  const std::string name = AnonName(v.name());
  if (!name.empty()) {
    const uint64_t remote = STASIS_VALUE(t.PutString(0, name));
    auto named = t.main().Syscall(SYS_prctl, kPrSetVma, kPrSetVmaAnonName, v.start(), len, remote);
    if (!named.ok()) return std::move(named).error();
    if (*named < 0)
      ctx.log->Warn("%s: cannot name %s as %s (errno %lld)", t.who().c_str(), Range(v.start(), v.end()).c_str(),
                    v.name().c_str(), static_cast<long long>(-*named));
  }
  return Status::Ok();
}

struct AdviceBit {
  uint32_t bit;
  int advice;
  const char* name;
};
constexpr AdviceBit kAdvice[] = {
    {img::ADV_DONTFORK, MADV_DONTFORK, "MADV_DONTFORK"},
    {img::ADV_DONTDUMP, MADV_DONTDUMP, "MADV_DONTDUMP"},
    {img::ADV_HUGEPAGE, MADV_HUGEPAGE, "MADV_HUGEPAGE"},
    {img::ADV_NOHUGEPAGE, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"},
    {img::ADV_MERGEABLE, MADV_MERGEABLE, "MADV_MERGEABLE"},
    {img::ADV_WIPEONFORK, MADV_WIPEONFORK, "MADV_WIPEONFORK"},
    {img::ADV_RANDOM, MADV_RANDOM, "MADV_RANDOM"},
    {img::ADV_SEQUENTIAL, MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
};

}  // namespace

Result<uint64_t> Target::Put(size_t offset, const void* bytes, size_t size) {
  if (offset > kDataSize || size > kDataSize - offset)
    return Internal(who() + ": " + std::to_string(size) + " bytes do not fit the trampoline data pages");
  STASIS_TRY_CTX(inject::WriteRemote(pid(), data() + offset, bytes, size), who());
  return data() + offset;
}

Result<uint64_t> Target::PutString(size_t offset, const std::string& s) {
  return Put(offset, s.c_str(), s.size() + 1);
}

Status DropPuppetRseq(Target& t) {
  auto conf = inject::GetRseqConfig(t.pid());
  if (!conf.ok()) return Status::Ok();   // kernel without rseq reporting: nothing can be registered either
  if (conf->area == 0) return Status::Ok();
  STASIS_TRY_CTX(t.main().Checked("rseq unregister", SYS_rseq, conf->area, conf->size,
                                  kRseqFlagUnregister, conf->signature),
                 t.who());
  return Status::Ok();
}

Status UnmapPuppetMemory(Target& t) {
  std::vector<std::pair<uint64_t, uint64_t>> keep;
  const uint64_t tramp_end = t.trampoline() + kTrampolinePages * kPage;
  for (const proc::MapsEntry& e : STASIS_VALUE_CTX(ReadMaps(t.pid()), t.who())) {
    img::VmaKind kind;
    const bool in_trampoline = e.start >= t.trampoline() && e.end <= tramp_end;
    if (in_trampoline || SpecialKindOf(e.path, &kind)) keep.emplace_back(e.start, e.end);
  }
  uint64_t cursor = 0;
  auto unmap_to = [&](uint64_t end) -> Status {
    if (end > cursor)
      STASIS_TRY_CTX(t.main().Checked("munmap", SYS_munmap, cursor, end - cursor),
                     t.who() + ": unmap " + Range(cursor, end));
    return Status::Ok();
  };
  for (const auto& [start, end] : keep) {
    if (start >= kTaskSize) break;
    STASIS_TRY(unmap_to(start));
    cursor = std::max(cursor, end);
  }
  return unmap_to(kTaskSize);
}

Status MoveVdso(const RestoreContext& ctx, Target& t) {
  const std::vector<Area> cur = STASIS_VALUE_CTX(CurrentVdsoAreas(t.pid()), t.who());
  const std::vector<Area> want = DumpedVdsoAreas(t.image().mm);
  // The puppet is a clone of the coordinator: its vDSO is this kernel's, as CheckVdso saw it.
  const HostVdso host = STASIS_VALUE_CTX(ReadVdso(t.pid()), t.who());
  const VdsoDecision decision =
      STASIS_VALUE(DecideVdso(t.image().mm, images::ImageFileName("mm", t.pid()), host));
  static constexpr const char* kModeNames[] = {"in place", "moved", "redirected", "dropped"};
  if (ctx.log != nullptr)
    ctx.log->Info("%s: vDSO %s", t.who().c_str(), kModeNames[static_cast<int>(decision.mode)]);
  switch (decision.mode) {
    case VdsoMode::kNothing: return Status::Ok();
    case VdsoMode::kMove: break;
    case VdsoMode::kRedirect: return RedirectVdso(t, host.areas, decision);
    case VdsoMode::kDrop:
      for (const Area& a : cur)
        STASIS_TRY_CTX(t.main().Checked("munmap", SYS_munmap, a.start, a.end - a.start),
                       t.who() + ": unmap " + img::VmaKind_Name(a.kind) + " (the process had no vDSO)");
      return Status::Ok();
  }

  const uint64_t size = cur.back().end - cur.front().start;
  const uint64_t cur_base = cur.front().start;
  const uint64_t want_base = want.front().start;
  if (!Overlaps(cur_base, cur_base + size, want_base, want_base + size))
    return MremapAll(t, cur, cur_base, want_base);

  // Old and new places overlap: park the block where neither layout has anything first.
  const uint64_t tramp_end = t.trampoline() + kTrampolinePages * kPage;
  for (uint64_t temp : FreeAreaCandidates(t.image().mm, size, kMaxTrampolineCandidates)) {
    if (Overlaps(temp, temp + size, cur_base, cur_base + size) ||
        Overlaps(temp, temp + size, t.trampoline(), tramp_end))
      continue;
    STASIS_TRY(MremapAll(t, cur, cur_base, temp));
    std::vector<Area> parked = cur;
    for (Area& a : parked) {
      a.start = a.start - cur_base + temp;
      a.end = a.end - cur_base + temp;
    }
    return MremapAll(t, parked, temp, want_base);
  }
  return Unsupported(t.who() + ": no free place to move the vDSO through");
}

// An attached SysV shm segment: shmat maps it whole from its start, so the VMA at offset 0
// attaches and the VMAs after it with the same shmid (an attachment split by mprotect) are part
// of that mapping. What the process had unmapped of the segment's tail is unmapped again.
Status AttachSysvShm(Target& t, const google::protobuf::RepeatedPtrField<img::Vma>& vmas, int i) {
  const img::Vma& v = vmas[i];
  const std::string what = t.who() + ": SysV shm " + std::to_string(v.inode()) + " at " + Range(v.start(), v.end());
  const bool continues = i > 0 && vmas[i - 1].kind() == img::VMA_SYSV_SHM && vmas[i - 1].inode() == v.inode() &&
                         vmas[i - 1].end() == v.start() &&
                         vmas[i - 1].pgoff() + (vmas[i - 1].end() - vmas[i - 1].start()) == v.pgoff();
  if (v.pgoff() != 0) {
    if (continues) return Status::Ok();
    return Unsupported(what + ": attached from offset " + Hex(v.pgoff()) + " (the start was unmapped): not supported");
  }
  uint64_t extent = v.end();
  for (int j = i + 1; j < vmas.size() && vmas[j].kind() == img::VMA_SYSV_SHM && vmas[j].inode() == v.inode() &&
                      vmas[j].start() == extent && vmas[j].pgoff() == extent - v.start();
       ++j)
    extent = vmas[j].end();
  const uint64_t flags = SHM_REMAP | ((v.prot() & PROT_WRITE) ? 0 : SHM_RDONLY) | ((v.prot() & PROT_EXEC) ? SHM_EXEC : 0);
  auto r = t.main().Checked("shmat", SYS_shmat, v.inode(), v.start(), flags);
  if (!r.ok()) return std::move(r.error().Context(what + " (the segment must exist: in the tree's ipc namespace, or on this host)"));
  if (*r != v.start()) return Internal(what + ": the kernel attached it at " + Hex(*r));
  for (const proc::MapsEntry& e : STASIS_VALUE(ReadMaps(t.pid()))) {
    if (e.start != v.start()) continue;
    if (e.end > extent)
      STASIS_TRY_CTX(t.main().Checked("munmap", SYS_munmap, extent, e.end - extent), what + ": unmap the tail");
    break;
  }
  return Status::Ok();
}

Status MapVmas(const RestoreContext& ctx, Target& t) {
  const std::vector<bool> with_pages = VmasWithPages(t.image());
  RemoteFileCache files(t);
  const auto& vmas = t.image().mm.vmas();
  for (int i = 0; i < vmas.size(); ++i) {
    if (IsSpecialVma(vmas[i].kind())) continue;
    if (vmas[i].kind() == img::VMA_SYSV_SHM) {
      STASIS_TRY(AttachSysvShm(t, vmas, i));
      continue;
    }
    STASIS_TRY(MapOne(ctx, t, vmas[i], with_pages[static_cast<size_t>(i)],
                      t.plan().shared_anon_of_vma[static_cast<size_t>(i)], files));
  }
  return files.Close();
}

Status WritePages(const RestoreContext& ctx, Target& t) {
  const ProcessImage& p = t.image();
  if (p.pagemap.empty()) return Status::Ok();
  const std::string name = images::ImageFileName("pages", p.file_pid());
  UniqueFd fd = STASIS_VALUE(OpenFile(ctx.images_dir + "/" + name, O_RDONLY));
  const size_t size = kPage + p.pages_bytes;
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (addr == MAP_FAILED) return SysError("mmap " + ctx.images_dir + "/" + name);
  ScopedMapping map(addr, size);
  auto* base = static_cast<char*>(addr) + kPage;

  // Many runs per process_vm_writev; a short write (a fault in the target) continues after
  // the bytes that made it, and a run the call cannot write goes through /proc/PID/mem.
  size_t run = 0;
  uint64_t done = 0;   // bytes of `run` already written
  std::vector<iovec> local, remote;
  while (run < p.pagemap.size()) {
    local.clear();
    remote.clear();
    for (size_t r = run; r < p.pagemap.size() && local.size() < IOV_MAX; ++r) {
      const uint64_t skip = r == run ? done : 0;
      const uint64_t len = static_cast<uint64_t>(p.pagemap[r].nr_pages()) * kPage - skip;
      local.push_back({base + p.run_offsets[r] + skip, len});
      remote.push_back({reinterpret_cast<void*>(p.pagemap[r].vaddr() + skip), len});
    }
    ssize_t n = ::process_vm_writev(t.pid(), local.data(), local.size(), remote.data(), remote.size(), 0);
    if (n <= 0) {
      STASIS_TRY_CTX(inject::WriteRemote(t.pid(), reinterpret_cast<uint64_t>(remote[0].iov_base),
                                         local[0].iov_base, local[0].iov_len),
                     t.who() + ": write pages at " + Hex(reinterpret_cast<uint64_t>(remote[0].iov_base)));
      n = static_cast<ssize_t>(local[0].iov_len);
    }
    uint64_t left = static_cast<uint64_t>(n);
    for (const iovec& v : local) {
      if (left < v.iov_len) {
        done += left;
        break;
      }
      left -= v.iov_len;
      ++run;
      done = 0;
    }
  }
  return Status::Ok();
}

Status FinishVmas(const RestoreContext& ctx, Target& t) {
  const std::vector<bool> with_pages = VmasWithPages(t.image());
  const auto& vmas = t.image().mm.vmas();
  for (int i = 0; i < vmas.size(); ++i) {
    const img::Vma& v = vmas[i];
    if (IsSpecialVma(v.kind())) continue;
    const uint64_t len = v.end() - v.start();
    const std::string where = t.who() + ": " + Range(v.start(), v.end());
    // A SysV attachment was mapped whole with its first part's protection: each part gets its own.
    if (MappingProt(v, with_pages[static_cast<size_t>(i)]) != v.prot() || v.kind() == img::VMA_SYSV_SHM)
      STASIS_TRY_CTX(t.main().Checked("mprotect", SYS_mprotect, v.start(), len, v.prot()), where);
    for (const AdviceBit& a : kAdvice) {
      if (!(v.advice() & a.bit)) continue;
      auto r = t.main().Syscall(SYS_madvise, v.start(), len, static_cast<uint64_t>(a.advice));
      if (!r.ok()) return std::move(r).error();
      if (*r < 0) ctx.log->Warn("%s: %s failed (errno %lld)", where.c_str(), a.name, static_cast<long long>(-*r));
    }
    if (v.advice() & img::ADV_LOCKED)
      STASIS_TRY_CTX(t.main().Checked("mlock", SYS_mlock, v.start(), len), where);
  }
  return Status::Ok();
}

}  // namespace stasis::restore
