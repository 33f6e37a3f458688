#include "engine/net/queue_peek.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace stasis::net {
namespace {

// Restores the owner's SO_PEEK_OFF (normally -1, "off") whatever happens while we walk.
class PeekOffsetGuard {
 public:
  explicit PeekOffsetGuard(int fd) : fd_(fd) {}
  Status Start() {
    socklen_t len = sizeof saved_;
    if (getsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &saved_, &len) != 0) return SysError("get SO_PEEK_OFF");
    int zero = 0;
    if (setsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) != 0) return SysError("set SO_PEEK_OFF");
    armed_ = true;
    return Status::Ok();
  }
  ~PeekOffsetGuard() {
    if (armed_) setsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &saved_, sizeof saved_);
  }

 private:
  int fd_;
  int saved_ = -1;
  bool armed_ = false;
};

// Closes any descriptors a peek handed us and says whether there were some.
bool DropPassedFds(msghdr& msg) {
  bool had_fds = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    had_fds = true;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
  return had_fds;
}

// One peek at the current offset. Returns the byte count (0 and *empty = true at the end).
Result<size_t> PeekOnce(int fd, void* buf, size_t len, int extra_flags, PeekedMessage* into,
                        bool* empty, const std::string& what) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (into != nullptr) {
    msg.msg_name = &into->from;
    msg.msg_namelen = sizeof into->from;
  }
  ssize_t n = recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | extra_flags);
  *empty = false;
  if (n < 0) {
    if (errno == EAGAIN) {
      *empty = true;
      return size_t{0};
    }
    return SysError(what + ": peek receive queue");
  }
  if (DropPassedFds(msg))
    return Unsupported(what + ": a message in the receive queue carries SCM_RIGHTS descriptors");
  if (msg.msg_flags & MSG_CTRUNC)
    return Unsupported(what + ": a message in the receive queue carries too much control data");
  if (into != nullptr) into->from_len = msg.msg_namelen;
  return static_cast<size_t>(n);
}

Result<std::vector<PeekedMessage>> PeekStream(int fd, const std::string& what) {
  PeekedMessage all;
  std::string chunk(64 * 1024, '\0');
  for (;;) {
    bool empty = false;
    size_t n = STASIS_VALUE(PeekOnce(fd, chunk.data(), chunk.size(), 0, nullptr, &empty, what));
    if (empty || n == 0) break;  // 0: the peer shut down writing; nothing more is queued
    if (all.data.size() + n > kMaxQueuedBytes)
      return Unsupported(what + ": more than 12 MiB queued to read");
    all.data.append(chunk.data(), n);
  }
  std::vector<PeekedMessage> out;
  if (!all.data.empty()) out.push_back(std::move(all));
  return out;
}

Result<std::vector<PeekedMessage>> PeekDatagrams(int fd, size_t max_datagram, const std::string& what) {
  std::vector<PeekedMessage> out;
  size_t total = 0;
  for (;;) {
    bool empty = false;
    char probe;
    PeekedMessage m;
    size_t size = max_datagram;
    if (max_datagram == 0) {
      size = STASIS_VALUE(PeekOnce(fd, &probe, 0, MSG_TRUNC, &m, &empty, what));
      if (empty) break;
      if (size == 0) {  // the probe already stepped over an empty datagram
        out.push_back(std::move(m));
        continue;
      }
    }
    if (total + size > kMaxQueuedBytes + max_datagram || out.size() >= (1u << 20))
      return Unsupported(what + ": more than 12 MiB queued to read");
    m.data.resize(size);
    // With MSG_TRUNC the result is the datagram's real size even when it did not fit.
    size_t got = STASIS_VALUE(PeekOnce(fd, m.data.data(), size, MSG_TRUNC, &m, &empty, what));
    if (empty) {
      if (max_datagram != 0) break;
      return Internal(what + ": a datagram of " + std::to_string(size) + " bytes vanished while peeked");
    }
    if (got > size || (max_datagram == 0 && got != size))
      return Unsupported(what + ": datagram of " + std::to_string(got) + " bytes does not fit " +
                         std::to_string(size));
    m.data.resize(got);
    total += got;
    if (total > kMaxQueuedBytes) return Unsupported(what + ": more than 12 MiB queued to read");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

Result<std::vector<PeekedMessage>> PeekReceiveQueue(int fd, bool keep_boundaries, const std::string& what,
                                                    size_t max_datagram) {
  PeekOffsetGuard guard(fd);
  STASIS_TRY_CTX(guard.Start(), what);
  return keep_boundaries ? PeekDatagrams(fd, max_datagram, what) : PeekStream(fd, what);
}

}  // namespace stasis::net
