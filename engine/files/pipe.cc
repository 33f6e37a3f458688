// Anonymous pipes. pipe2() makes both ends at once: whichever end is opened first creates the
// pipe, puts the bytes in flight back and shares the other end for its opener.
#include <fcntl.h>
#include <unistd.h>

#include "engine/files/kinds.h"
#include "engine/files/pipe_data.h"
#include "engine/files/status_flags.h"

namespace stasis::files {
namespace {

constexpr uint32_t kReadEnd = 0;
constexpr uint32_t kWriteEnd = 1;
constexpr uint32_t kPipeFlags = kCommonFlags | O_NONBLOCK | O_DIRECT;

std::string Name(const img::PipeFile& p) { return "pipe:[" + std::to_string(p.inode()) + "]"; }

class Pipe final : public FileKind {
 public:
  const char* name() const override { return "pipe"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kPipe; }

  bool Matches(const OpenFd& f) const override {
    return S_ISFIFO(f.st.st_mode) && f.link.starts_with("pipe:[");
  }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext& ctx) const override {
    const uint32_t access = f.head.flags & O_ACCMODE;
    if (access != O_RDONLY && access != O_WRONLY)
      return Unsupported(f.Describe() + ": pipe opened read-write (through /proc)");
    const ObjectKey key{f.st.st_dev, f.st.st_ino};
    // Two open file descriptions of one end exist only after reopening /proc/PID/fd/N; Open
    // would make a second pipe for the second one.
    if (!ctx.FirstSight(access == O_RDONLY ? "pipe read end" : "pipe write end", key))
      return Unsupported(f.Describe() + ": a second open file description of the same pipe end");
    STASIS_TRY_CTX(CheckFlags(f.head.flags, kPipeFlags, "pipe"), f.Describe());
    const int size = ::fcntl(f.local_fd.get(), F_GETPIPE_SZ);
    if (size < 0) return SysError(f.Describe() + ": F_GETPIPE_SZ");

    img::PipeFile* p = entry->mutable_pipe();
    p->set_dev(key.dev);
    p->set_inode(key.inode);
    p->set_flags(f.head.flags);
    p->set_pipe_size(static_cast<uint32_t>(size));
    if (ctx.FirstSight("pipe data", key)) {
      std::string data = STASIS_VALUE(PeekPipeData(f.local_fd.get(), f.Describe()));
      ctx.AddData(images::ImageKind::kPipeData, key, 0, data);
    }
    return Status::Ok();
  }

  Status Validate(const img::FileEntry& entry, const ObjectStore& objects) const override {
    const img::PipeFile& p = entry.pipe();
    const std::string what = Name(p);
    STASIS_TRY(CheckFlags(p.flags(), kPipeFlags, what));
    const uint32_t access = p.flags() & O_ACCMODE;
    if (access != O_RDONLY && access != O_WRONLY)
      return Corrupt(what + ": access mode " + std::to_string(access) + " is neither end");
    if (p.pipe_size() < kMinPipeSize || p.pipe_size() > kMaxPipeSize)
      return Corrupt(what + ": pipe size " + std::to_string(p.pipe_size()) + " out of range");
    return CheckPipeChunks(objects.Chunks(images::ImageKind::kPipeData, {p.dev(), p.inode()}),
                           p.pipe_size(), what);
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::PipeFile& p = entry.pipe();
    const std::string what = Name(p);
    const uint32_t mine = (p.flags() & O_ACCMODE) == O_RDONLY ? kReadEnd : kWriteEnd;
    ShareKey key{name(), p.dev(), p.inode(), mine};

    UniqueFd fd;
    auto shared = ctx.exchange.Take(key);
    if (shared.ok()) {
      fd = std::move(*shared);
    } else if (shared.error().kind() == ErrorKind::kNotFound) {
      // The first end opened: create the pipe (non-blocking while we fill it).
      int ends[2];
      if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC | (p.flags() & O_DIRECT)) != 0)
        return SysError(what + ": pipe2");
      UniqueFd read_end(ends[0]), write_end(ends[1]);
      STASIS_TRY(RefillPipe(write_end.get(), p.pipe_size(),
                            ctx.objects.Chunks(images::ImageKind::kPipeData, {p.dev(), p.inode()}),
                            what));
      key.part = mine == kReadEnd ? kWriteEnd : kReadEnd;
      STASIS_TRY(ctx.exchange.Share(key, mine == kReadEnd ? std::move(write_end) : std::move(read_end)));
      fd = mine == kReadEnd ? std::move(read_end) : std::move(write_end);
    } else {
      return std::move(shared).error();
    }
    STASIS_TRY(SetStatusFlags(fd.get(), p.flags(), what));
    return fd;
  }
};

}  // namespace

const FileKind& PipeKind() {
  static const Pipe kind;
  return kind;
}

}  // namespace stasis::files
