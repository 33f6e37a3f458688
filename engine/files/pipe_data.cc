#include "engine/files/pipe_data.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/common/fd.h"

namespace stasis::files {

Result<std::string> PeekPipeData(int fd, const std::string& what) {
  // A reader of our own, so a write end works too: opening /proc/self/fd/N of a pipe or FIFO
  // opens the pipe again; O_NONBLOCK never waits for a writer.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd reader(::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!reader.valid()) return SysError(what + ": reopen for reading");
  int queued = 0;
  if (::ioctl(reader.get(), FIONREAD, &queued) != 0) return SysError(what + ": FIONREAD");
  if (queued == 0) return std::string();
  const int size = ::fcntl(reader.get(), F_GETPIPE_SZ);
  if (size < 0) return SysError(what + ": F_GETPIPE_SZ");
  if (::fcntl(reader.get(), F_GETFL) & O_DIRECT)
    return Unsupported(what + ": packet-mode (O_DIRECT) pipe with data in flight");

  int scratch[2];
  if (::pipe2(scratch, O_NONBLOCK | O_CLOEXEC) != 0) return SysError(what + ": scratch pipe");
  UniqueFd scratch_r(scratch[0]), scratch_w(scratch[1]);
  if (::fcntl(scratch_w.get(), F_SETPIPE_SZ, size) < size)
    return SysError(what + ": scratch pipe of " + std::to_string(size) + " bytes");
  // tee() never consumes its input, so a second call would copy the same bytes again: the
  // scratch pipe has as many slots as the source, and one call must take everything.
  ssize_t copied = ::tee(reader.get(), scratch_w.get(), static_cast<size_t>(queued), SPLICE_F_NONBLOCK);
  if (copied < 0) return SysError(what + ": tee");
  if (copied != queued)
    return Error(ErrorKind::kIO, what + ": tee copied " + std::to_string(copied) + " of " +
                                     std::to_string(queued) + " queued bytes");
  std::string data(static_cast<size_t>(queued), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(scratch_r.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SysError(what + ": read scratch pipe", n == 0 ? EIO : errno);
    got += static_cast<size_t>(n);
  }
  return data;
}

Status CheckPipeChunks(std::span<const img::ObjectData> chunks, uint32_t pipe_size,
                       const std::string& what) {
  uint64_t end = 0;
  for (const auto& c : chunks) {
    if (c.offset() != end)
      return Corrupt(what + ": pipe data has a gap at byte " + std::to_string(end));
    end += c.data().size();
  }
  if (end > pipe_size)
    return Corrupt(what + ": " + std::to_string(end) + " bytes in flight exceed the pipe size " +
                   std::to_string(pipe_size));
  return Status::Ok();
}

Status RefillPipe(int write_fd, uint32_t pipe_size, std::span<const img::ObjectData> chunks,
                  const std::string& what) {
  const int now = ::fcntl(write_fd, F_GETPIPE_SZ);
  if (now < 0) return SysError(what + ": F_GETPIPE_SZ");
  if (static_cast<uint32_t>(now) != pipe_size &&
      ::fcntl(write_fd, F_SETPIPE_SZ, static_cast<int>(pipe_size)) < 0)
    return SysError(what + ": set pipe size " + std::to_string(pipe_size) +
                    (errno == EPERM ? " (above pipe-max-size without CAP_SYS_RESOURCE)" : ""));
  for (const auto& c : chunks)
    STASIS_TRY_CTX(WriteAll(write_fd, c.data().data(), c.data().size(), "pipe data"), what);
  return Status::Ok();
}

}  // namespace stasis::files
