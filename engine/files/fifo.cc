// Named FIFOs. The first opener opens the FIFO read-write (which never blocks), puts the bytes in
// flight back, and keeps that "keeper" fd in the exchange: every description is then opened
// through /proc/self/fd/<keeper>, which cannot block either since the keeper is both a reader
// and a writer, and reaches the same FIFO even if its path was unlinked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/files/kinds.h"
#include "engine/files/pipe_data.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kFifoFlags = kCommonFlags | O_NONBLOCK | O_APPEND | O_NOATIME;
constexpr std::string_view kDeleted = " (deleted)";

std::string Name(const img::FifoFile& f) { return "fifo " + f.path(); }

// An unlinked FIFO: made again at its old path (or beside it if that is taken now), opened,
// and unlinked at once, so the link reads "<path> (deleted)" as it did.
Result<UniqueFd> MakeUnlinkedFifo(const img::FifoFile& f, const std::string& what) {
  std::string path = f.path();
  if (::mkfifo(path.c_str(), 0600) != 0) {
    if (errno != EEXIST) return SysError(what + ": mkfifo");
    path += ".stasis-" + std::to_string(f.inode());
    if (::mkfifo(path.c_str(), 0600) != 0) return SysError(what + ": mkfifo " + path);
  }
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  const int open_errno = errno;
  ::unlink(path.c_str());
  if (!fd.valid()) return SysError(what + ": open " + path, open_errno);
  if (::fchmod(fd.get(), f.mode() & 07777) != 0) return SysError(what + ": fchmod");
  return fd;
}

class Fifo final : public FileKind {
 public:
  const char* name() const override { return "fifo"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kFifo; }

  bool Matches(const OpenFd& f) const override {
    return S_ISFIFO(f.st.st_mode) && !f.link.starts_with("pipe:[");
  }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext& ctx) const override {
    STASIS_TRY_CTX(CheckFlags(f.head.flags, kFifoFlags, "fifo"), f.Describe());
    const int size = ::fcntl(f.local_fd.get(), F_GETPIPE_SZ);
    if (size < 0) return SysError(f.Describe() + ": F_GETPIPE_SZ");
    std::string path = f.link;
    const bool unlinked = f.st.st_nlink == 0;
    if (unlinked && path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
    if (path.empty() || path[0] != '/')
      return Unsupported(f.Describe() + ": FIFO without an absolute path");

    const ObjectKey key{f.st.st_dev, f.st.st_ino};
    img::FifoFile* p = entry->mutable_fifo();
    p->set_path(path);
    p->set_unlinked(unlinked);
    p->set_dev(key.dev);
    p->set_inode(key.inode);
    p->set_flags(f.head.flags);
    p->set_pipe_size(static_cast<uint32_t>(size));
    p->set_mode(f.st.st_mode);
    if (ctx.FirstSight("fifo data", key)) {
      std::string data = STASIS_VALUE(PeekPipeData(f.local_fd.get(), f.Describe()));
      ctx.AddData(images::ImageKind::kPipeData, key, 0, data);
    }
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore& objects) const override {
    const img::FifoFile& f = entry.fifo();
    const std::string what = Name(f);
    if (f.path().empty() || f.path()[0] != '/' || f.path().find('\0') != std::string::npos)
      return Corrupt("fifo inode " + std::to_string(f.inode()) + ": bad path");
    STASIS_TRY(CheckFlags(f.flags(), kFifoFlags, what));
    if (f.pipe_size() < kMinPipeSize || f.pipe_size() > kMaxPipeSize)
      return Corrupt(what + ": pipe size " + std::to_string(f.pipe_size()) + " out of range");
    return CheckPipeChunks(objects.Chunks(images::ImageKind::kPipeData, {f.dev(), f.inode()}),
                           f.pipe_size(), what);
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::FifoFile& f = entry.fifo();
    const std::string what = Name(f);
    const ShareKey key{name(), f.dev(), f.inode(), 0};

    UniqueFd keeper;
    auto shared = ctx.exchange.Take(key);
    if (shared.ok()) {
      keeper = std::move(*shared);
    } else if (shared.error().kind() != ErrorKind::kNotFound) {
      return std::move(shared).error();
    } else {
      if (f.unlinked()) {
        keeper = STASIS_VALUE(MakeUnlinkedFifo(f, what));
      } else {
        keeper = UniqueFd(::open(f.path().c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
        if (!keeper.valid()) return SysError(what + ": open");
        struct stat st {};
        if (::fstat(keeper.get(), &st) != 0) return SysError(what + ": fstat");
        if (!S_ISFIFO(st.st_mode)) return Error(ErrorKind::kNotFound, what + ": no longer a FIFO");
      }
      STASIS_TRY(RefillPipe(keeper.get(), f.pipe_size(),
                            ctx.objects.Chunks(images::ImageKind::kPipeData, {f.dev(), f.inode()}),
                            what));
    }
    const std::string self = "/proc/self/fd/" + std::to_string(keeper.get());
    UniqueFd fd(::open(self.c_str(), (f.flags() & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC));
    if (!fd.valid()) return SysError(what + ": reopen through " + self);
    STASIS_TRY(ctx.exchange.Share(key, std::move(keeper)));
    STASIS_TRY(SetStatusFlags(fd.get(), f.flags(), what));
    return fd;
  }
};

}  // namespace

const FileKind& FifoKind() {
  static const Fifo kind;
  return kind;
}

}  // namespace stasis::files
