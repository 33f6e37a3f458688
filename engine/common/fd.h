// RAII owners for file descriptors and memory mappings.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <utility>

#include "engine/common/error.h"

namespace stasis {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// open(2) that returns a Result naming the path.
Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0);

// Reads a whole (small, e.g. /proc) file. Capped at max_bytes so hostile input cannot balloon.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 64 << 20);

// Writes all of data, retrying short writes and EINTR.
Status WriteAll(int fd, const void* data, size_t size, const std::string& what);
Status PreadAll(int fd, void* data, size_t size, off_t offset, const std::string& what);

class ScopedMapping {
 public:
  ScopedMapping() = default;
  ScopedMapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  ScopedMapping(ScopedMapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  ScopedMapping& operator=(ScopedMapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~ScopedMapping() { reset(); }
  void reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }
  void* addr() const { return addr_; }
  size_t size() const { return size_; }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace stasis
