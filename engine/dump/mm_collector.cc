#include "engine/dump/mm_collector.h"

#include <sys/mman.h>

#include <string>

#include "engine/arch/x86_64/vdso_elf.h"
#include "engine/dump/proc_files.h"
#include "engine/inject/syscall_injector.h"
#include "engine/proc/auxv.h"

namespace stasis::dump {
namespace {

struct AdviceFlag {
  const char* mnemonic;
  img::VmaAdvice bit;
};
constexpr AdviceFlag kAdvice[] = {
    {"dc", img::ADV_DONTFORK}, {"dd", img::ADV_DONTDUMP},   {"hg", img::ADV_HUGEPAGE},
    {"nh", img::ADV_NOHUGEPAGE}, {"mg", img::ADV_MERGEABLE}, {"wf", img::ADV_WIPEONFORK},
    {"rr", img::ADV_RANDOM},   {"sr", img::ADV_SEQUENTIAL}, {"lo", img::ADV_LOCKED},
};

std::string Range(const proc::MapsEntry& e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llx-%llx", static_cast<unsigned long long>(e.start),
                static_cast<unsigned long long>(e.end));
  std::string s = "VMA " + std::string(buf);
  if (!e.path.empty()) s += " (" + e.path + ")";
  return s;
}

bool IsSpecial(const std::string& name, img::VmaKind* kind) {
  if (name == "[vdso]") *kind = img::VMA_VDSO;
  else if (name == "[vvar]") *kind = img::VMA_VVAR;
  else if (name == "[vvar_vclock]") *kind = img::VMA_VVAR_VCLOCK;
  else if (name == "[vsyscall]") *kind = img::VMA_VSYSCALL;
  else return false;
  return true;
}

bool IsAnonName(std::string_view name) {
  return name.empty() || name == "[heap]" || name == "[stack]" ||
         (name.starts_with("[anon:") && name.ends_with("]"));
}

Result<img::VmaKind> Classify(const proc::MapsEntry& e) {
  img::VmaKind kind;
  if (e.inode == 0 && IsSpecial(e.path, &kind)) return kind;
  if (e.inode == 0 && IsAnonName(e.path)) {
    if (e.shared) return Unsupported(Range(e) + ": shared mapping without a backing object");
    return img::VMA_ANON_PRIVATE;
  }
  if (e.shared && (e.path == "/dev/zero (deleted)" ||
                   (e.path.starts_with("[anon_shmem:") && e.path.ends_with("]"))))
    return img::VMA_ANON_SHARED;
  if (e.path.starts_with("/SYSV") && e.shared) return img::VMA_SYSV_SHM;   // inode: the shmid
  if (e.path.starts_with("/memfd:")) return Unsupported(Range(e) + ": memfd mappings are not supported yet");
  if (e.deleted()) return Unsupported(Range(e) + ": the mapped file was deleted (not supported yet)");
  if (e.path.empty() || e.path[0] != '/') return Unsupported(Range(e) + ": unknown kind of mapping");
  return e.shared ? img::VMA_FILE_SHARED : img::VMA_FILE_PRIVATE;
}

// The [vdso] bytes, so that a restore on a kernel with another vDSO can keep this one at its
// address (libc holds pointers into it) and redirect its entry points.
Status CollectVdsoImage(pid_t pid, img::MmCore& mm) {
  for (const img::Vma& v : mm.vmas()) {
    if (v.kind() != img::VMA_VDSO) continue;
    const uint64_t size = v.end() - v.start();
    if (size > arch::kMaxVdsoBytes) return Unsupported("[vdso] of " + std::to_string(size) + " bytes");
    std::string bytes(size, '\0');
    STASIS_TRY_CTX(inject::ReadRemote(pid, v.start(), bytes.data(), size), "read the [vdso]");
    mm.set_vdso_image(std::move(bytes));
    return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace

Result<img::Vma> VmaFromSmaps(const proc::MapsEntry& e) {
  img::Vma v;
  img::VmaKind kind = STASIS_VALUE(Classify(e));
  const bool system = kind == img::VMA_VDSO || kind == img::VMA_VVAR || kind == img::VMA_VVAR_VCLOCK ||
                      kind == img::VMA_VSYSCALL;
  if (!system) {
    // vvar is VM_IO|VM_PFNMAP by design; anywhere else those mean a device mapping.
    if (e.HasVmFlag("io") || e.HasVmFlag("pf")) return Unsupported(Range(e) + ": device (I/O or PFN) mapping");
    if (e.HasVmFlag("ht")) return Unsupported(Range(e) + ": hugetlb mappings are not supported yet");
    if (e.HasVmFlag("ss")) return Unsupported(Range(e) + ": shadow stacks are not supported yet");
    if (e.HasVmFlag("sl")) return Unsupported(Range(e) + ": sealed (mseal) mappings are not supported yet");
    if (e.HasVmFlag("um") || e.HasVmFlag("uw") || e.HasVmFlag("ui"))
      return Unsupported(Range(e) + ": userfaultfd-registered mappings are not supported yet");
  }
  v.set_start(e.start);
  v.set_end(e.end);
  v.set_prot((e.readable ? PROT_READ : 0) | (e.writable ? PROT_WRITE : 0) | (e.executable ? PROT_EXEC : 0));
  uint32_t flags = e.shared ? MAP_SHARED : MAP_PRIVATE;
  if (kind == img::VMA_ANON_PRIVATE || kind == img::VMA_ANON_SHARED) flags |= MAP_ANONYMOUS;
  if (e.HasVmFlag("gd")) flags |= MAP_GROWSDOWN;
  if (e.HasVmFlag("nr")) flags |= MAP_NORESERVE;
  v.set_flags(flags);
  v.set_pgoff(e.offset);
  v.set_kind(kind);
  if (kind == img::VMA_FILE_PRIVATE || kind == img::VMA_FILE_SHARED) v.set_path(e.path);
  v.set_dev(e.dev());
  v.set_inode(e.inode);
  uint32_t advice = 0;
  for (const AdviceFlag& a : kAdvice)
    if (e.HasVmFlag(a.mnemonic)) advice |= a.bit;
  v.set_advice(advice);
  v.set_name(e.path);
  v.set_may_write(e.HasVmFlag("mw"));
  return v;
}

Status CollectMm(DumpContext& ctx, const FrozenProcess& p, ProcessImages* out) {
  const pid_t pid = p.pid;
  const std::string who = "pid " + std::to_string(pid);
  img::MmCore& mm = out->mm;
  const proc::ProcStat& s = p.stat;
  mm.set_start_code(s.start_code);
  mm.set_end_code(s.end_code);
  mm.set_start_data(s.start_data);
  mm.set_end_data(s.end_data);
  mm.set_start_brk(s.start_brk);
  mm.set_start_stack(s.start_stack);
  mm.set_arg_start(s.arg_start);
  mm.set_arg_end(s.arg_end);
  mm.set_env_start(s.env_start);
  mm.set_env_end(s.env_end);

  std::string auxv_bytes = STASIS_VALUE_CTX(ReadProc(pid, "auxv"), who);
  auto auxv = proc::ParseAuxv(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(auxv_bytes.data()),
                                                       auxv_bytes.size()));
  if (!auxv.ok()) return std::move(auxv.error().Context(ProcPath(pid, "auxv")));
  for (uint64_t w : *auxv) mm.add_auxv(w);

  std::string exe = STASIS_VALUE_CTX(ReadLink(ProcPath(pid, "exe")), who);
  if (exe.ends_with(" (deleted)")) return Unsupported(who + ": its executable " + exe + " was deleted (not supported yet)");
  mm.set_exe_path(exe);

  std::string smaps_text = STASIS_VALUE_CTX(ReadProc(pid, "smaps"), who);
  auto smaps = proc::ParseSmaps(smaps_text);
  if (!smaps.ok()) return std::move(smaps.error().Context(ProcPath(pid, "smaps")));
  for (const proc::MapsEntry& e : *smaps) {
    img::Vma v = STASIS_VALUE_CTX(VmaFromSmaps(e), who);
    *mm.add_vmas() = std::move(v);
  }
  STASIS_TRY_CTX(CollectVdsoImage(pid, mm), who);
  ctx.log.Debug("pid %d: %d VMAs", pid, mm.vmas_size());
  return Status::Ok();
}

}  // namespace stasis::dump
