// memfd: name, size, seals, permission bits and contents. The contents are per inode (in
// memfd-data.img, zero pages left out); the first opener creates the memfd, fills and seals
// it, and keeps a "keeper" fd in the exchange through which every open file description is
// reopened (/proc/self/fd/<keeper>), in this process or another.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>

#include "engine/files/kinds.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kMemfdFlags = kCommonFlags | O_NONBLOCK | O_APPEND | O_NOATIME;
constexpr std::string_view kPrefix = "/memfd:";
constexpr std::string_view kDeleted = " (deleted)";
constexpr size_t kPage = 4096;
constexpr size_t kMaxName = 249;                      // MFD_NAME_MAX_LEN
constexpr uint64_t kMaxSize = uint64_t{1} << 46;      // sparse is fine: only data is stored
constexpr uint64_t kMaxData = 256u << 20;             // what one image file may hold here
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
constexpr uint32_t kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                            F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

std::string Name(const img::MemfdFile& m) { return "memfd:" + m.name(); }

// Records every non-zero chunk of the file behind fd, skipping holes.
Status CollectContents(int fd, uint64_t size, ObjectKey key, CollectContext& ctx, const std::string& what) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd reader(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (!reader.valid()) return SysError(what + ": reopen for reading");
  std::string buf(kObjectChunkSize, '\0');
  uint64_t stored = 0;
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < size) {
    off_t data = ::lseek(reader.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;   // only a hole is left
      return SysError(what + ": SEEK_DATA");
    }
    const size_t len = static_cast<size_t>(std::min<uint64_t>(kObjectChunkSize, size - data));
    ssize_t n = ::pread(reader.get(), buf.data(), len, data);
    if (n < 0) return SysError(what + ": read contents");
    if (n == 0) break;  // shrunk under us: the size recorded stays, the rest reads as zeros
    // Store runs of pages that are not all zero (tmpfs reports written-then-zeroed and
    // partly written ranges as data).
    const std::string_view got(buf.data(), static_cast<size_t>(n));
    size_t run = 0;   // start of the current run of non-zero pages
    for (size_t page = 0;; page += kPage) {
      const bool end = page >= got.size();
      if (!end && got.substr(page, kPage).find_first_not_of('\0') != std::string_view::npos) continue;
      const size_t run_end = std::min(page, got.size());
      if (run_end > run) {
        stored += run_end - run;
        if (stored > kMaxData)
          return Unsupported(what + ": more than " + std::to_string(kMaxData >> 20) + " MiB of contents");
        ctx.AddData(images::ImageKind::kMemfdData, key, static_cast<uint64_t>(data) + run,
                    got.substr(run, run_end - run));
      }
      if (end) break;
      run = page + kPage;
    }
    pos = data + n;
  }
  return Status::Ok();
}

Result<UniqueFd> CreateMemfd(const img::MemfdFile& m, const ObjectStore& objects, const std::string& what) {
  UniqueFd fd(::memfd_create(m.name().c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return SysError(what + ": memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(m.size())) != 0) return SysError(what + ": ftruncate");
  for (const auto& c : objects.Chunks(images::ImageKind::kMemfdData, {m.dev(), m.inode()})) {
    size_t done = 0;
    while (done < c.data().size()) {
      ssize_t n = ::pwrite(fd.get(), c.data().data() + done, c.data().size() - done,
                           static_cast<off_t>(c.offset() + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return SysError(what + ": write contents");
      done += static_cast<size_t>(n);
    }
  }
  if (::fchmod(fd.get(), m.mode() & 07777) != 0) return SysError(what + ": fchmod");
  // Seals last: F_SEAL_WRITE would forbid filling it, F_SEAL_SEAL any later seal.
  if (m.seals() != 0 && ::fcntl(fd.get(), F_ADD_SEALS, m.seals()) != 0) return SysError(what + ": F_ADD_SEALS");
  return fd;
}

class Memfd final : public FileKind {
 public:
  const char* name() const override { return "memfd"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kMemfd; }

  bool Matches(const OpenFd& f) const override {
    return S_ISREG(f.st.st_mode) && f.link.starts_with(kPrefix) && f.link.ends_with(kDeleted);
  }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext& ctx) const override {
    STASIS_TRY_CTX(CheckFlags(f.head.flags, kMemfdFlags, "memfd"), f.Describe());
    struct statfs fs {};
    if (::fstatfs(f.local_fd.get(), &fs) != 0) return SysError(f.Describe() + ": fstatfs");
    if (fs.f_type == HUGETLBFS_MAGIC) return Unsupported(f.Describe() + ": hugetlb memfd");
    const int seals = ::fcntl(f.local_fd.get(), F_GET_SEALS);
    if (seals < 0) return SysError(f.Describe() + ": F_GET_SEALS");

    const ObjectKey key{f.st.st_dev, f.st.st_ino};
    img::MemfdFile* m = entry->mutable_memfd();
    m->set_name(f.link.substr(kPrefix.size(), f.link.size() - kPrefix.size() - kDeleted.size()));
    m->set_dev(key.dev);
    m->set_inode(key.inode);
    m->set_size(static_cast<uint64_t>(f.st.st_size));
    m->set_seals(static_cast<uint32_t>(seals));
    m->set_mode(f.st.st_mode & 07777);
    m->set_flags(f.head.flags);
    m->set_pos(f.head.pos);
    if (m->size() > kMaxSize) return Unsupported(f.Describe() + ": memfd larger than 64 TiB");
    if (ctx.FirstSight("memfd contents", key))
      STASIS_TRY(CollectContents(f.local_fd.get(), m->size(), key, ctx, f.Describe()));
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore& objects) const override {
    const img::MemfdFile& m = entry.memfd();
    if (m.name().size() > kMaxName || m.name().find('\0') != std::string::npos)
      return Corrupt("memfd inode " + std::to_string(m.inode()) + ": bad name");
    const std::string what = Name(m);
    STASIS_TRY(CheckFlags(m.flags(), kMemfdFlags, what));
    STASIS_TRY(CheckFlags(m.seals(), kSeals, what + " seals"));
    if (m.mode() > 07777) return Corrupt(what + ": bad mode");
    if (m.size() > kMaxSize) return Corrupt(what + ": size " + std::to_string(m.size()) + " too large");
    if (objects.DataEnd(images::ImageKind::kMemfdData, {m.dev(), m.inode()}) > m.size())
      return Corrupt(what + ": contents run past its size " + std::to_string(m.size()));
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::MemfdFile& m = entry.memfd();
    const std::string what = Name(m);
    const ShareKey key{name(), m.dev(), m.inode(), 0};
    UniqueFd keeper;
    auto shared = ctx.exchange.Take(key);
    if (shared.ok()) {
      keeper = std::move(*shared);
    } else if (shared.error().kind() == ErrorKind::kNotFound) {
      keeper = STASIS_VALUE(CreateMemfd(m, ctx.objects, what));
    } else {
      return std::move(shared).error();
    }
    const std::string self = "/proc/self/fd/" + std::to_string(keeper.get());
    UniqueFd fd(::open(self.c_str(), (m.flags() & (O_ACCMODE | O_APPEND | O_NOATIME)) | O_CLOEXEC));
    if (!fd.valid()) return SysError(what + ": reopen through " + self);
    if (::lseek(fd.get(), static_cast<off_t>(m.pos()), SEEK_SET) < 0) return SysError(what + ": lseek");
    STASIS_TRY(ctx.exchange.Share(key, std::move(keeper)));
    STASIS_TRY(SetStatusFlags(fd.get(), m.flags(), what));
    return fd;
  }
};

}  // namespace

const FileKind& MemfdKind() {
  static const Memfd kind;
  return kind;
}

}  // namespace stasis::files
