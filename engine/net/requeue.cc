#include "engine/net/requeue.h"

#include <sys/socket.h>

namespace stasis::net {
namespace {

// Raises SO_SNDBUF for the lifetime of the guard. Without CAP_NET_ADMIN the raise may be
// capped by net.core.wmem_max; that is fine when the queue was small.
class SndbufRaise {
 public:
  explicit SndbufRaise(int fd) : fd_(fd) {
    socklen_t len = sizeof saved_;
    if (getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &saved_, &len) != 0) return;
    int big = 32 << 20;
    raised_ = setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) == 0;
  }
  ~SndbufRaise() {
    if (!raised_) return;
    int half = saved_ / 2;  // getsockopt reported the doubled value
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof half);
  }

 private:
  int fd_;
  int saved_ = 0;
  bool raised_ = false;
};

}  // namespace

Status SendAll(int sender, const std::vector<Outgoing>& messages, const std::string& what) {
  if (messages.empty()) return Status::Ok();
  SndbufRaise raise(sender);
  for (const Outgoing& m : messages) {
    size_t off = 0;
    do {  // stream sockets may take a big buffer in pieces; datagrams go whole or fail
      ssize_t n = ::sendto(sender, m.data->data() + off, m.data->size() - off,
                           MSG_DONTWAIT | MSG_NOSIGNAL, m.to, m.to_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return SysError(what + ": requeue " + std::to_string(m.data->size()) + " bytes");
      }
      off += static_cast<size_t>(n);
    } while (off < m.data->size());
  }
  return Status::Ok();
}

}  // namespace stasis::net
