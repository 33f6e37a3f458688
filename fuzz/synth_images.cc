#include "fuzz/synth_images.h"

#include <cstdint>
#include <cstring>

#include "engine/common/crc32c.h"
#include "engine/images/core.pb.h"
#include "engine/images/files.pb.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/images/inventory.pb.h"
#include "engine/images/mm.pb.h"
#include "engine/images/pstree.pb.h"

namespace stasis::fuzz {
namespace {

using images::ImageFileName;
using images::ImageKind;
using images::kPageSize;

constexpr uint32_t kProtR = 1, kProtW = 2, kProtX = 4;
constexpr uint32_t kMapShared = 0x01, kMapPrivate = 0x02, kMapAnon = 0x20, kMapGrowsDown = 0x100;
constexpr uint32_t kXstateSize = 2696;  // AVX-512 XSAVE layout

template <typename Msg>
std::string Image(ImageKind kind, const std::vector<Msg>& messages) {
  std::vector<std::string> bodies;
  for (const Msg& m : messages) bodies.push_back(m.SerializeAsString());
  return images::EncodeMessageImage(kind, bodies);
}

// A pages image: header page, then `count` pages each filled with a recognisable pattern.
std::string PagesImage(uint64_t count) {
  images::ImageHeader h;
  h.kind = ImageKind::kPages;
  h.payload_size = count * kPageSize;
  std::string out = images::EncodeHeader(h);
  out.resize(kPageSize, '\0');
  for (uint64_t p = 0; p < count; ++p) out.append(kPageSize, static_cast<char>('A' + p % 26));
  return out;
}

std::string Siginfo(uint32_t signo, uint32_t sender_pid) {
  std::string s(128, '\0');
  std::memcpy(s.data(), &signo, 4);       // si_signo
  const int32_t code = 0;                 // SI_USER
  std::memcpy(s.data() + 8, &code, 4);
  std::memcpy(s.data() + 16, &sender_pid, 4);
  return s;
}

std::string Xstate() {
  std::string x(kXstateSize, '\0');
  const uint16_t fcw = 0x37f;
  const uint32_t mxcsr = 0x1f80;
  const uint64_t xstate_bv = 0x2e7;  // x87 SSE AVX opmask ZMM_Hi256 Hi16_ZMM PKRU
  std::memcpy(x.data(), &fcw, 2);
  std::memcpy(x.data() + 24, &mxcsr, 4);
  std::memcpy(x.data() + 512, &xstate_bv, 8);
  for (size_t i = 160; i < 416; ++i) x[i] = static_cast<char>(i * 7);  // xmm registers
  return x;
}

img::Vma MakeVma(uint64_t start, uint64_t end, uint32_t prot, uint32_t flags, img::VmaKind kind,
                 const std::string& name, const std::string& path = "", uint64_t pgoff = 0) {
  img::Vma v;
  v.set_start(start);
  v.set_end(end);
  v.set_prot(prot);
  v.set_flags(flags);
  v.set_kind(kind);
  v.set_name(name);
  v.set_path(path);
  v.set_pgoff(pgoff);
  if (!path.empty()) {
    v.set_dev(0x803);
    v.set_inode(1000 + start / kPageSize % 997);
  }
  return v;
}

// The layout of a small dynamically linked program on x86-64 (6.13+: [vvar] and [vvar_vclock]).
img::MmCore TypicalMm(const std::string& exe, bool shared_anon) {
  img::MmCore mm;
  const uint64_t base = 0x555555554000;
  const uint64_t libc = 0x7ffff7d80000;
  auto add = [&](img::Vma v) { *mm.add_vmas() = std::move(v); };
  add(MakeVma(base, base + 0x2000, kProtR, kMapPrivate, img::VMA_FILE_PRIVATE, exe, exe, 0));
  add(MakeVma(base + 0x2000, base + 0x6000, kProtR | kProtX, kMapPrivate, img::VMA_FILE_PRIVATE, exe, exe, 0x2000));
  add(MakeVma(base + 0x6000, base + 0x8000, kProtR, kMapPrivate, img::VMA_FILE_PRIVATE, exe, exe, 0x6000));
  add(MakeVma(base + 0x8000, base + 0x9000, kProtR | kProtW, kMapPrivate, img::VMA_FILE_PRIVATE, exe, exe, 0x7000));
  add(MakeVma(base + 0x9000, base + 0x2a000, kProtR | kProtW, kMapPrivate | kMapAnon, img::VMA_ANON_PRIVATE, "[heap]"));
  if (shared_anon) {
    img::Vma s = MakeVma(0x7ffff7d00000, 0x7ffff7d04000, kProtR | kProtW, kMapShared | kMapAnon,
                         img::VMA_ANON_SHARED, "/dev/zero (deleted)");
    s.set_dev(0x1);
    s.set_inode(4711);
    add(s);
  }
  const std::string libc_path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  add(MakeVma(libc, libc + 0x28000, kProtR, kMapPrivate, img::VMA_FILE_PRIVATE, libc_path, libc_path, 0));
  add(MakeVma(libc + 0x28000, libc + 0x1b0000, kProtR | kProtX, kMapPrivate, img::VMA_FILE_PRIVATE, libc_path, libc_path, 0x28000));
  add(MakeVma(libc + 0x1b0000, libc + 0x1b4000, kProtR | kProtW, kMapPrivate, img::VMA_FILE_PRIVATE, libc_path, libc_path, 0x1ff000));
  add(MakeVma(libc + 0x1b4000, libc + 0x1c1000, kProtR | kProtW, kMapPrivate | kMapAnon, img::VMA_ANON_PRIVATE, ""));
  img::Vma guard = MakeVma(0x7ffff7f50000, 0x7ffff7f51000, 0, kMapPrivate | kMapAnon, img::VMA_ANON_PRIVATE, "");
  guard.set_advice(2 | 1);  // dontdump, dontfork
  add(guard);
  add(MakeVma(0x7ffff7fc1000, 0x7ffff7fc5000, kProtR, kMapPrivate, img::VMA_VVAR, "[vvar]"));
  add(MakeVma(0x7ffff7fc5000, 0x7ffff7fc7000, kProtR, kMapPrivate, img::VMA_VVAR_VCLOCK, "[vvar_vclock]"));
  add(MakeVma(0x7ffff7fc7000, 0x7ffff7fc9000, kProtR | kProtX, kMapPrivate, img::VMA_VDSO, "[vdso]"));
  add(MakeVma(0x7ffffffde000, 0x7ffffffff000, kProtR | kProtW, kMapPrivate | kMapAnon | kMapGrowsDown,
              img::VMA_ANON_PRIVATE, "[stack]"));
  add(MakeVma(0xffffffffff600000, 0xffffffffff601000, kProtX, kMapPrivate, img::VMA_VSYSCALL, "[vsyscall]"));
  mm.set_start_code(base + 0x2000);
  mm.set_end_code(base + 0x6000);
  mm.set_start_data(base + 0x8000);
  mm.set_end_data(base + 0x9000);
  mm.set_start_brk(base + 0x9000);
  mm.set_brk(base + 0x2a000);
  mm.set_start_stack(0x7fffffffe000);
  mm.set_arg_start(0x7fffffffef00);
  mm.set_arg_end(0x7fffffffef10);
  mm.set_env_start(0x7fffffffef10);
  mm.set_env_end(0x7fffffffefe0);
  for (uint64_t w : std::initializer_list<uint64_t>{33, 0x7ffff7fc7000, 6, 4096, 3, base + 0x40, 9, base + 0x2100, 0, 0})
    mm.add_auxv(w);
  mm.set_exe_path(exe);
  return mm;
}

// Pagemap runs inside TypicalMm's writable VMAs: the exe's data page, heap, libc bss, stack.
std::vector<img::PagemapEntry> TypicalPagemap(bool shared_anon, uint64_t* pages) {
  std::vector<std::pair<uint64_t, uint32_t>> runs = {
      {0x55555555c000, 1}, {0x55555555d000, 3}, {0x555555570000, 1},
      {0x7ffff7f34000, 2}, {0x7ffffffdd000 + 0x1f000, 2}};
  if (shared_anon) runs.insert(runs.begin() + 3, {0x7ffff7d00000, 2});
  std::vector<img::PagemapEntry> out;
  *pages = 0;
  for (auto [vaddr, n] : runs) {
    img::PagemapEntry e;
    e.set_vaddr(vaddr);
    e.set_nr_pages(n);
    std::string data(n * kPageSize, static_cast<char>('A' + *pages % 26));
    e.set_crc32c(Crc32c(0, data.data(), data.size()));
    *pages += n;
    out.push_back(e);
  }
  return out;
}

img::TaskCore TypicalCore(uint32_t pid, const std::vector<uint32_t>& tids, const std::string& comm) {
  img::TaskCore c;
  c.set_pid(pid);
  c.set_comm(comm);
  c.set_umask(022);
  c.set_dumpable(1);
  c.set_cwd("/root");
  c.set_root("/");
  auto rl = [&](uint32_t res, uint64_t cur, uint64_t max) {
    auto* r = c.add_rlimits();
    r->set_resource(res);
    r->set_cur(cur);
    r->set_max(max);
  };
  rl(3, 8u << 20, ~0ull);        // RLIMIT_STACK
  rl(7, 1024, 524288);           // RLIMIT_NOFILE
  rl(4, 0, ~0ull);               // RLIMIT_CORE
  auto* sa = c.add_sigactions();
  sa->set_signo(2);
  sa->set_handler(0x555555557120);
  sa->set_flags(0x04000000 | 0x10000000);  // SA_RESTORER | SA_RESTART
  sa->set_restorer(0x7ffff7dc2050);
  sa->set_mask(1ull << 14);
  auto* ign = c.add_sigactions();
  ign->set_signo(13);
  ign->set_handler(1);  // SIG_IGN
  c.add_shared_pending(Siginfo(10, 1));
  for (size_t i = 0; i < tids.size(); ++i) {
    img::ThreadCore* t = c.add_threads();
    t->set_tid(tids[i]);
    t->set_comm(comm);
    img::X86Regs* r = t->mutable_regs();
    r->set_ip(0x7ffff7e6a3c4);
    r->set_sp(0x7fffffffe3a8 - i * 0x10000);
    r->set_ax(static_cast<uint64_t>(-516));  // -ERESTART_RESTARTBLOCK: inside clock_nanosleep
    r->set_orig_ax(230);
    r->set_cs(0x33);
    r->set_ss(0x2b);
    r->set_flags(0x246);
    r->set_fs_base(0x7ffff7d7e740 - i * 0x800000);
    t->set_xstate(Xstate());
    t->set_blocked_mask(i == 0 ? 0 : 1ull << 9);
    t->mutable_altstack()->set_flags(2);  // SS_DISABLE
    img::RseqArea* rseq = t->mutable_rseq();
    rseq->set_ptr(0x7ffff7d7ede0 - i * 0x800000);
    rseq->set_len(32);
    rseq->set_sig(0x53053053);
    t->set_clear_child_tid(0x7ffff7d7ea10 - i * 0x800000);
    if (i == 0) t->add_pending(Siginfo(12, pid));
    img::Credentials* cr = t->mutable_creds();
    cr->add_groups(0);
    cr->set_cap_prm(0x1ffffffffff);
    cr->set_cap_eff(0x1ffffffffff);
    cr->set_cap_bnd(0x1ffffffffff);
  }
  return c;
}

img::ProcessEntry Entry(uint32_t pid, uint32_t ppid, uint32_t pgid, uint32_t sid,
                        std::vector<uint32_t> threads, img::TaskState state = img::TASK_ALIVE) {
  img::ProcessEntry e;
  e.set_pid(pid);
  e.set_ppid(ppid);
  e.set_pgid(pgid);
  e.set_sid(sid);
  for (uint32_t t : threads) e.add_threads(t);
  e.set_state(state);
  e.set_exit_signal(17);
  if (state == img::TASK_ZOMBIE) e.set_exit_code(3 << 8);
  if (state == img::TASK_STOPPED) e.set_stop_signal(19);
  return e;
}

img::FileEntry RegFile(uint64_t id, const std::string& path, uint32_t flags, uint64_t pos) {
  img::FileEntry f;
  f.set_id(id);
  img::RegFile* r = f.mutable_reg();
  r->set_path(path);
  r->set_flags(flags);
  r->set_pos(pos);
  r->set_dev(0x803);
  r->set_inode(id * 31);
  r->set_size(pos + 100);
  r->set_mode(0100644);
  return f;
}

img::FdEntry Fd(uint32_t fd, uint64_t file_id, bool cloexec = false) {
  img::FdEntry e;
  e.set_fd(fd);
  e.set_file_id(file_id);
  e.set_cloexec(cloexec);
  return e;
}

// Adds every per-process image of a live process.
void AddProcess(SynthScenario& s, const img::ProcessEntry& e, const std::string& comm,
                bool shared_anon, const std::vector<img::FdEntry>& fds) {
  const uint32_t pid = e.pid();
  std::vector<uint32_t> tids(e.threads().begin(), e.threads().end());
  s.files[ImageFileName("core", pid)] = Image(ImageKind::kCore, std::vector{TypicalCore(pid, tids, comm)});
  s.files[ImageFileName("mm", pid)] = Image(ImageKind::kMm, std::vector{TypicalMm("/usr/bin/" + comm, shared_anon)});
  uint64_t pages = 0;
  s.files[ImageFileName("pagemap", pid)] = Image(ImageKind::kPagemap, TypicalPagemap(shared_anon, &pages));
  s.files[ImageFileName("pages", pid)] = PagesImage(pages);
  s.files[ImageFileName("fdinfo", pid)] = Image(ImageKind::kFdinfo, fds);
}

void Finish(SynthScenario& s, uint32_t root, const std::vector<img::ProcessEntry>& tree,
            const std::vector<img::FileEntry>& files, bool shell_job) {
  s.files["pstree.img"] = Image(ImageKind::kPstree, tree);
  s.files["files.img"] = Image(ImageKind::kFiles, files);
  img::Inventory inv;
  inv.set_root_pid(root);
  inv.set_kernel_release("6.18.0-synthetic");
  inv.set_engine_version("0.1.0");
  inv.set_xfeatures(0x2e7);
  inv.set_xstate_size(kXstateSize);
  inv.set_shell_job(shell_job);
  inv.set_dump_time_ns(1700000000123456789ull);
  for (const auto& [name, bytes] : s.files) inv.add_images(name);
  s.files["inventory.img"] = Image(ImageKind::kInventory, std::vector{inv});
}

}  // namespace

std::vector<SynthScenario> SynthesizeImageSets() {
  std::vector<SynthScenario> out;
  {
    // A daemonized `sleep`: its own session, stdio on /dev/null.
    SynthScenario s{"sleep", {}};
    const auto e = Entry(4242, 0, 4242, 4242, {4242});
    AddProcess(s, e, "sleep", false, {Fd(0, 1), Fd(1, 1), Fd(2, 1)});
    Finish(s, 4242, {e}, {RegFile(1, "/dev/null", 02, 0)}, false);
    out.push_back(std::move(s));
  }
  {
    // A tree: session leader, a two-thread child sharing its log file and a shared anonymous
    // mapping, a grandchild in its own group, a stopped child and a zombie.
    SynthScenario s{"tree", {}};
    const auto root = Entry(100, 0, 100, 100, {100});
    const auto child = Entry(101, 100, 100, 100, {101, 104});
    const auto grandchild = Entry(102, 101, 102, 100, {102});
    const auto stopped = Entry(105, 100, 100, 100, {105}, img::TASK_STOPPED);
    const auto zombie = Entry(103, 100, 100, 100, {}, img::TASK_ZOMBIE);
    AddProcess(s, root, "server", true, {Fd(0, 1), Fd(1, 2), Fd(2, 2), Fd(5, 3, true)});
    AddProcess(s, child, "worker", true, {Fd(0, 1), Fd(1, 2), Fd(2, 2), Fd(7, 4)});
    AddProcess(s, grandchild, "helper", false, {Fd(0, 1), Fd(3, 4)});
    AddProcess(s, stopped, "stopped", false, {});
    Finish(s, 100, {root, child, grandchild, stopped, zombie},
           {RegFile(1, "/dev/null", 0, 0), RegFile(2, "/var/log/server.log", 02001, 8192),
            RegFile(3, "/etc/passwd", 0, 17), RegFile(4, "/tmp/work file", 02, 4096)},
           false);
    out.push_back(std::move(s));
  }
  {
    // A job of the calling shell: session and group outside the tree, a terminal on stdio.
    SynthScenario s{"shell-job", {}};
    const auto e = Entry(777, 0, 700, 700, {777});
    img::FileEntry tty;
    tty.set_id(9);
    tty.mutable_tty()->set_index(3);
    tty.mutable_tty()->set_flags(02);
    AddProcess(s, e, "bash", false, {Fd(0, 9), Fd(1, 9), Fd(2, 9), Fd(255, 9, true)});
    Finish(s, 777, {e}, {tty}, true);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace stasis::fuzz
