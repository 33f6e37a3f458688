#include "engine/common/fd.h"

#include <fcntl.h>

namespace stasis {

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return SysError("open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return std::move(fd).error();
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read " + path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      return Error(ErrorKind::kIO, "read " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("write " + what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status PreadAll(int fd, void* data, size_t size, off_t offset, const std::string& what) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read " + what);
    }
    if (n == 0) return Corrupt(what + ": unexpected end of file");
    p += n;
    offset += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace stasis
