#include "engine/dump/page_dumper.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "engine/common/crc32c.h"
#include "engine/dump/proc_files.h"
#include "engine/images/image_format.h"
#include "engine/images/image_io.h"
#include "engine/proc/pagemap.h"
#include "engine/proc/pid_list.h"
#include "engine/proc/text.h"

namespace stasis::dump {
namespace {

constexpr size_t kPage = images::kPageSize;
constexpr size_t kPagemapBatch = 64 * 1024;    // entries per pread: 512 KiB covering 256 MiB
constexpr size_t kMaxIov = IOV_MAX;
constexpr uint64_t kMaxRunPages = 1u << 30;   // PagemapEntry.nr_pages is 32 bits
constexpr size_t kMaxEstimatedProcesses = 4096;

bool IsZeroPage(const uint8_t* p) {
  // OR-reduce in 64-byte blocks; vectorizes, and random data exits at the first block.
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < kPage / 8; i += 8) {
    uint64_t acc = w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7];
    if (acc != 0) return false;
  }
  return true;
}

// Pages to read: consecutive addresses within one VMA.
struct Run {
  uint64_t vaddr;
  uint64_t pages;
  bool readable;     // else only /proc/PID/mem (FOLL_FORCE) can read it, e.g. PROT_NONE
  bool skip_zero;    // a zero page may be dropped (restored as zero); never for file pages
  bool vma_start;    // first run of a VMA: a PagemapEntry never spans two VMAs
};

// Which pages of a VMA hold data the restore needs from us; nullopt: none (the kernel or the
// file provides them).
std::optional<proc::PagePolicy> PolicyFor(const img::Vma& vma) {
  switch (vma.kind()) {
    case img::VMA_ANON_PRIVATE: return proc::PagePolicy::kPrivateAnon;
    case img::VMA_FILE_PRIVATE: return proc::PagePolicy::kPrivateFile;
    case img::VMA_ANON_SHARED: return proc::PagePolicy::kSharedAnon;
    default: return std::nullopt;
  }
}

}  // namespace

// A buffer of copied pages and what they are.
struct Chunk {
  ScopedMapping mem;
  std::vector<Run> runs;
  size_t pages = 0;
  uint8_t* data() const { return static_cast<uint8_t*>(mem.addr()); }
};

struct PageDumper::Pool {
  size_t chunk_bytes;
  uint64_t spool_cap;        // bytes of chunks that may be held; 0: no spooling
  uint64_t allocated = 0;    // bytes of chunks in existence
  std::vector<ScopedMapping> free;

  Result<ScopedMapping> Get() {
    if (!free.empty()) {
      ScopedMapping m = std::move(free.back());
      free.pop_back();
      return m;
    }
    void* p = ::mmap(nullptr, chunk_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return SysError("mmap a page buffer of " + std::to_string(chunk_bytes) + " bytes");
    allocated += chunk_bytes;
    return ScopedMapping(p, chunk_bytes);
  }
  // May one more chunk be held back (spooled) instead of written now?
  bool MaySpool() const { return spool_cap > 0 && (!free.empty() || allocated + chunk_bytes <= spool_cap); }
  void Put(ScopedMapping m) { free.push_back(std::move(m)); }
};

// One process's pages image, from the first copied page to the completed file.
class ProcessPages {
 public:
  ProcessPages(DumpContext& ctx, pid_t pid, PageDumper::Pool& pool, UniqueFd pages, UniqueFd pagemap,
               std::vector<img::PagemapEntry>* out)
      : ctx_(ctx), pid_(pid), pool_(pool), name_(images::ImageFileName("pages", static_cast<uint32_t>(pid))),
        pages_(std::move(pages)), pagemap_(std::move(pagemap)), out_(out) {}

  Status CopyVma(const img::Vma& vma, proc::PagePolicy policy);
  // End of the copy phase: the last partial chunk is read; the pagemap fd is closed.
  Status EndCopy();
  // Writes every spooled chunk, the header, and fsyncs.
  Status Finish();

 private:
  Status AddRun(Run run);
  Status SealChunk();
  Status ReadChunk(Chunk& c);
  Status ReadFromMem(uint64_t vaddr, uint8_t* dst, size_t bytes);
  Status WriteChunk(const Chunk& c);
  Status WriteSpooled();
  void CloseEntry();

  DumpContext& ctx_;
  pid_t pid_;
  PageDumper::Pool& pool_;
  std::string name_;
  UniqueFd pages_;
  UniqueFd pagemap_;
  UniqueFd mem_;                         // opened on first need
  std::vector<img::PagemapEntry>* out_;
  std::optional<Chunk> current_;
  std::vector<Chunk> spooled_;
  uint64_t payload_bytes_ = 0;
  std::vector<uint64_t> entries_;

  // The PagemapEntry being grown: pages are appended while their addresses stay contiguous.
  bool open_ = false;
  uint64_t open_vaddr_ = 0;
  uint64_t open_pages_ = 0;
  uint32_t open_crc_ = 0;
};

Status ProcessPages::CopyVma(const img::Vma& vma, proc::PagePolicy policy) {
  const bool readable = (vma.prot() & PROT_READ) != 0;
  const bool skip_zero = policy != proc::PagePolicy::kPrivateFile;
  bool first = true;
  auto add = [&](uint64_t start, uint64_t pages) {
    Run r{start, pages, readable, skip_zero, first};
    first = false;
    return AddRun(r);
  };
  entries_.resize(kPagemapBatch);
  uint64_t run_start = 0, run_pages = 0;
  for (uint64_t addr = vma.start(); addr < vma.end();) {
    const size_t n = std::min<uint64_t>(kPagemapBatch, (vma.end() - addr) / kPage);
    const size_t bytes = n * sizeof(uint64_t);
    ssize_t got = ::pread(pagemap_.get(), entries_.data(), bytes, static_cast<off_t>(addr / kPage * sizeof(uint64_t)));
    if (got < 0) return SysError("read " + ProcPath(pid_, "pagemap"));
    if (static_cast<size_t>(got) != bytes) return Error(ErrorKind::kIO, "short read of " + ProcPath(pid_, "pagemap"));
    for (size_t i = 0; i < n; ++i, addr += kPage) {
      if (proc::PageHoldsData(entries_[i], policy)) {
        if (run_pages == 0) run_start = addr;
        ++run_pages;
        continue;
      }
      if (run_pages) STASIS_TRY(add(run_start, run_pages));
      run_pages = 0;
    }
    ctx_.stats.pages_scanned += n;
  }
  if (run_pages) STASIS_TRY(add(run_start, run_pages));
  return Status::Ok();
}

Status ProcessPages::AddRun(Run run) {
  while (run.pages > 0) {
    if (current_ && (current_->pages * kPage == current_->mem.size() || current_->runs.size() == kMaxIov))
      STASIS_TRY(SealChunk());
    if (!current_) {
      current_.emplace();
      current_->mem = STASIS_VALUE(pool_.Get());
    }
    Chunk& c = *current_;
    const uint64_t take = std::min<uint64_t>(run.pages, c.mem.size() / kPage - c.pages);
    c.runs.push_back({run.vaddr, take, run.readable, run.skip_zero, run.vma_start});
    c.pages += take;
    run.vaddr += take * kPage;
    run.pages -= take;
    run.vma_start = false;
  }
  return Status::Ok();
}

// The current chunk is full (or the copy phase ends): read it, then hold it or write it.
Status ProcessPages::SealChunk() {
  if (!current_) return Status::Ok();
  Chunk c = std::move(*current_);
  current_.reset();
  STASIS_TRY(ReadChunk(c));
  if (pool_.MaySpool()) {
    spooled_.push_back(std::move(c));
    return Status::Ok();
  }
  // Over the cap: what is held must reach the file first to keep the runs in order.
  STASIS_TRY(WriteSpooled());
  STASIS_TRY(WriteChunk(c));
  pool_.Put(std::move(c.mem));
  return Status::Ok();
}

Status ProcessPages::ReadFromMem(uint64_t vaddr, uint8_t* dst, size_t bytes) {
  if (!mem_.valid()) mem_ = STASIS_VALUE(OpenFile(ProcPath(pid_, "mem"), O_RDONLY));
  while (bytes > 0) {
    ssize_t n = ::pread(mem_.get(), dst, bytes, static_cast<off_t>(vaddr));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      char where[32];
      std::snprintf(where, sizeof where, "%#llx", static_cast<unsigned long long>(vaddr));
      return SysError("read memory of pid " + std::to_string(pid_) + " at " + where, n == 0 ? EIO : errno);
    }
    dst += n;
    vaddr += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// One process_vm_readv for all readable runs of the chunk; what it cannot read (a run the
// kernel refuses part-way, or a non-readable VMA) comes from /proc/PID/mem instead.
Status ProcessPages::ReadChunk(Chunk& c) {
  std::vector<iovec> remote, local;
  remote.reserve(c.runs.size());
  local.reserve(c.runs.size());
  uint8_t* slot = c.data();
  for (const Run& r : c.runs) {
    if (r.readable) {
      remote.push_back({reinterpret_cast<void*>(r.vaddr), r.pages * kPage});
      local.push_back({slot, r.pages * kPage});
    }
    slot += r.pages * kPage;
  }
  size_t got = 0;
  if (!remote.empty()) {
    ssize_t n = ::process_vm_readv(pid_, local.data(), local.size(), remote.data(), remote.size(), 0);
    got = n > 0 ? static_cast<size_t>(n) : 0;
  }
  uint8_t* dst = c.data();
  size_t readable_seen = 0;
  for (const Run& r : c.runs) {
    const size_t bytes = r.pages * kPage;
    if (r.readable) {
      size_t done = got > readable_seen ? std::min(bytes, got - readable_seen) : 0;
      if (done < bytes) STASIS_TRY(ReadFromMem(r.vaddr + done, dst + done, bytes - done));
      readable_seen += bytes;
    } else {
      STASIS_TRY(ReadFromMem(r.vaddr, dst, bytes));
    }
    dst += bytes;
  }
  return Status::Ok();
}

void ProcessPages::CloseEntry() {
  if (!open_) return;
  img::PagemapEntry& e = out_->emplace_back();
  e.set_vaddr(open_vaddr_);
  e.set_nr_pages(static_cast<uint32_t>(open_pages_));
  e.set_crc32c(open_crc_);
  open_ = false;
}

Status ProcessPages::WriteChunk(const Chunk& c) {
  std::vector<iovec> spans;
  const uint8_t* page = c.data();
  for (const Run& r : c.runs) {
    if (r.vma_start) CloseEntry();
    for (uint64_t i = 0; i < r.pages; ++i, page += kPage) {
      const uint64_t vaddr = r.vaddr + i * kPage;
      if (r.skip_zero && IsZeroPage(page)) {
        ++ctx_.stats.zero_pages_skipped;
        CloseEntry();
        continue;
      }
      if (open_ && (vaddr != open_vaddr_ + open_pages_ * kPage || open_pages_ == kMaxRunPages)) CloseEntry();
      if (!open_) {
        open_ = true;
        open_vaddr_ = vaddr;
        open_pages_ = 0;
        open_crc_ = 0;
      }
      ++open_pages_;
      open_crc_ = Crc32c(open_crc_, page, kPage);
      if (!spans.empty() && static_cast<const uint8_t*>(spans.back().iov_base) + spans.back().iov_len == page)
        spans.back().iov_len += kPage;
      else
        spans.push_back({const_cast<uint8_t*>(page), kPage});
      ++ctx_.stats.pages_written;
      payload_bytes_ += kPage;
    }
  }
  for (size_t i = 0; i < spans.size();) {
    const int count = static_cast<int>(std::min(spans.size() - i, kMaxIov));
    ssize_t n = ::writev(pages_.get(), &spans[i], count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("write " + name_);
    }
    // Consume n bytes from the iovecs (short writes are rare but legal).
    size_t left = static_cast<size_t>(n);
    while (left > 0 && i < spans.size()) {
      if (left >= spans[i].iov_len) {
        left -= spans[i].iov_len;
        ++i;
      } else {
        spans[i].iov_base = static_cast<uint8_t*>(spans[i].iov_base) + left;
        spans[i].iov_len -= left;
        left = 0;
      }
    }
  }
  return Status::Ok();
}

Status ProcessPages::WriteSpooled() {
  for (Chunk& c : spooled_) {
    STASIS_TRY(WriteChunk(c));
    pool_.Put(std::move(c.mem));
  }
  spooled_.clear();
  return Status::Ok();
}

Status ProcessPages::EndCopy() {
  STASIS_TRY(SealChunk());
  pagemap_.reset();
  mem_.reset();
  entries_ = {};
  return Status::Ok();
}

Status ProcessPages::Finish() {
  STASIS_TRY(WriteSpooled());
  CloseEntry();
  images::ImageHeader h;
  h.kind = images::ImageKind::kPages;
  h.payload_size = payload_bytes_;
  h.payload_crc = 0;
  std::string header = images::EncodeHeader(h);
  header.resize(kPage, '\0');
  if (::pwrite(pages_.get(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
    return SysError("write header of " + name_);
  if (::fsync(pages_.get()) != 0) return SysError("fsync " + name_);
  pages_.reset();
  return Status::Ok();
}

PageDumper::PageDumper(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
PageDumper::PageDumper(PageDumper&&) noexcept = default;
PageDumper& PageDumper::operator=(PageDumper&&) noexcept = default;
// Chunks still spooled go back to the pool before the pool itself is released.
PageDumper::~PageDumper() { processes_.clear(); }

Result<PageDumper> PageDumper::Create(size_t chunk_bytes, uint64_t spool_cap_bytes) {
  auto pool = std::make_unique<Pool>();
  pool->chunk_bytes = std::max(kPage, chunk_bytes / kPage * kPage);
  pool->spool_cap = spool_cap_bytes;
  return PageDumper(std::move(pool));
}

Status PageDumper::Reserve(uint64_t bytes) {
  const uint64_t target = std::min<uint64_t>(bytes, pool_->spool_cap);
  while (pool_->allocated < target || pool_->allocated == 0) {
    void* p = ::mmap(nullptr, pool_->chunk_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return SysError("mmap a page buffer of " + std::to_string(pool_->chunk_bytes) + " bytes");
    pool_->allocated += pool_->chunk_bytes;
    pool_->free.emplace_back(p, pool_->chunk_bytes);
  }
  return Status::Ok();
}

Status PageDumper::Copy(DumpContext& ctx, pid_t pid, const img::MmCore& mm, std::vector<img::PagemapEntry>* pagemap) {
  const std::string name = images::ImageFileName("pages", static_cast<uint32_t>(pid));
  ctx.images_written.push_back(name);
  UniqueFd pages = STASIS_VALUE(OpenFile(ctx.options.images_dir + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  // The header page is written last, once the payload size is known.
  if (::ftruncate(pages.get(), static_cast<off_t>(kPage)) != 0 || ::lseek(pages.get(), kPage, SEEK_SET) < 0)
    return SysError("prepare " + name);
  UniqueFd pagemap_fd = STASIS_VALUE(OpenFile(ProcPath(pid, "pagemap"), O_RDONLY));
  auto& p = processes_.emplace_back(
      std::make_unique<ProcessPages>(ctx, pid, *pool_, std::move(pages), std::move(pagemap_fd), pagemap));
  for (const img::Vma& vma : mm.vmas()) {
    auto policy = PolicyFor(vma);
    if (!policy) continue;
    STASIS_TRY_CTX(p->CopyVma(vma, *policy), "pid " + std::to_string(pid));
  }
  return p->EndCopy();
}

Status PageDumper::Finish(DumpContext&) {
  for (auto& p : processes_) STASIS_TRY(p->Finish());
  processes_.clear();
  pool_->free.clear();
  return Status::Ok();
}

uint64_t EstimateTreeCopyBytes(pid_t root) {
  uint64_t total = 0;
  std::vector<pid_t> todo{root};
  for (size_t i = 0; i < todo.size() && i < kMaxEstimatedProcesses; ++i) {
    const pid_t pid = todo[i];
    if (auto rollup = ReadProc(pid, "smaps_rollup"); rollup.ok()) {
      std::string_view text = *rollup, line;
      while (proc::NextLine(text, &line)) {
        std::string_view rest = line;
        std::string_view key = proc::NextToken(rest);
        if (key != "Anonymous:" && key != "Swap:" && key != "Shared_Dirty:") continue;
        if (auto kb = proc::ParseU64(proc::NextToken(rest))) total += *kb * 1024;
      }
    }
    auto tasks = ListNumericDir(ProcPath(pid, "task"));
    if (!tasks.ok()) continue;
    for (int tid : *tasks) {
      auto kids = ReadProc(pid, "task/" + std::to_string(tid) + "/children");
      if (!kids.ok()) continue;
      if (auto list = proc::ParsePidList(*kids); list.ok()) todo.insert(todo.end(), list->begin(), list->end());
    }
  }
  return total;
}

}  // namespace stasis::dump
