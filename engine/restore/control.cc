#include "engine/restore/control.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace stasis::restore {
namespace {

// A puppet step opens a handful of files or forks once; a minute means it is stuck.
constexpr int kReplyTimeoutMs = 60'000;

}  // namespace

Status SendRequest(int fd, const PuppetRequest& request, const std::string& who) {
  for (;;) {
    ssize_t n = ::send(fd, &request, sizeof request, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(sizeof request)) return Status::Ok();
    if (n < 0 && errno == EINTR) continue;
    return SysError(who + ": send command to puppet");
  }
}

Result<PuppetReply> ReceiveReply(int fd, const std::string& who, UniqueFd* passed) {
  pollfd pfd{fd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&pfd, 1, kReplyTimeoutMs);
    if (r > 0) break;
    if (r == 0) return Error(ErrorKind::kIO, who + ": puppet did not answer within 60 s");
    if (errno != EINTR) return SysError(who + ": poll puppet socket");
  }
  PuppetReply reply;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  iovec iov{&reply, sizeof reply};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return SysError(who + ": read puppet reply");
  if (n == 0) return Error(ErrorKind::kIO, who + ": puppet died");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int received;
      std::memcpy(&received, CMSG_DATA(c), sizeof received);
      if (passed != nullptr) passed->reset(received);
      else ::close(received);
    }
  }
  if (n != static_cast<ssize_t>(sizeof reply) || (msg.msg_flags & MSG_CTRUNC))
    return Internal(who + ": malformed puppet reply");
  reply.what[sizeof reply.what - 1] = '\0';
  if (reply.error != 0) return SysError(who + ": " + reply.what, reply.error);
  return reply;
}

bool PuppetReceive(int fd, PuppetRequest* request) {
  for (;;) {
    ssize_t n = ::recv(fd, request, sizeof *request, 0);
    if (n == static_cast<ssize_t>(sizeof *request)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool PuppetSend(int fd, const PuppetReply& reply, int pass_fd) {
  iovec iov{const_cast<PuppetReply*>(&reply), sizeof reply};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (pass_fd >= 0) {
    std::memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(sizeof reply)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

}  // namespace stasis::restore
