#include "engine/net/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <utility>

namespace stasis::net {
namespace {

// A dump of a busy host is large but finite; a reply that never ends is a bug, not data.
constexpr size_t kMaxDiagReplies = 1u << 20;

Error NlError(const std::string& what, int nl_err) {
  return Error(ErrorKind::kIO, what + ": " + nl_geterror(nl_err));
}

}  // namespace

Result<SockDiag> SockDiag::Open() {
  nl_sock* sk = nl_socket_alloc();
  if (sk == nullptr) return Error(ErrorKind::kIO, "sock_diag: nl_socket_alloc failed");
  SockDiag diag(sk);
  int err = nl_connect(sk, NETLINK_SOCK_DIAG);
  if (err < 0) return NlError("sock_diag: connect NETLINK_SOCK_DIAG", err);
  nl_socket_enable_msg_peek(sk);
  // Exact queries are answered by one message; an automatic ack would be left behind in the
  // socket and read as the reply to the next request.
  nl_socket_disable_auto_ack(sk);
  return diag;
}

SockDiag::SockDiag(SockDiag&& o) noexcept : sk_(std::exchange(o.sk_, nullptr)) {}
SockDiag& SockDiag::operator=(SockDiag&& o) noexcept {
  if (this != &o) {
    if (sk_ != nullptr) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}
SockDiag::~SockDiag() {
  if (sk_ != nullptr) nl_socket_free(sk_);  // also closes the netlink fd
}

Result<std::vector<std::vector<uint8_t>>> SockDiag::Transact(const void* req, size_t len, int flags) {
  int err = nl_send_simple(sk_, SOCK_DIAG_BY_FAMILY, flags, const_cast<void*>(req), len);
  if (err < 0) return NlError("sock_diag: send request", err);
  std::vector<std::vector<uint8_t>> out;
  for (;;) {
    sockaddr_nl from{};
    unsigned char* buf = nullptr;
    int n = nl_recv(sk_, &from, &buf, nullptr);
    if (n < 0) return NlError("sock_diag: receive reply", n);
    std::unique_ptr<unsigned char, decltype(&free)> owned(buf, &free);
    if (n == 0) return Error(ErrorKind::kIO, "sock_diag: reply ended without NLMSG_DONE");
    auto batch = STASIS_VALUE(SplitDiagMessages({buf, static_cast<size_t>(n)}));
    for (auto p : batch.payloads) {
      if (out.size() >= kMaxDiagReplies) return Internal("sock_diag: more than 1M sockets in one reply");
      out.emplace_back(p.begin(), p.end());
    }
    // An exact (non-dump) request is answered by one message and no NLMSG_DONE.
    if (batch.done || !(flags & NLM_F_DUMP)) return out;
  }
}

Result<std::vector<UnixDiag>> SockDiag::DumpUnix() {
  unix_diag_req req{};
  req.sdiag_family = AF_UNIX;
  req.udiag_states = ~0u;
  req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
                   UDIAG_SHOW_RQLEN;
  auto replies = STASIS_VALUE(Transact(&req, sizeof req, NLM_F_DUMP));
  std::vector<UnixDiag> out;
  out.reserve(replies.size());
  for (const auto& r : replies) out.push_back(STASIS_VALUE(ParseUnixDiag(r)));
  return out;
}

Result<UnixDiag> SockDiag::QueryUnix(uint32_t inode) {
  unix_diag_req req{};
  req.sdiag_family = AF_UNIX;
  req.udiag_states = ~0u;
  req.udiag_ino = inode;
  req.udiag_cookie[0] = req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;  // "any socket with this inode"
  req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
                   UDIAG_SHOW_RQLEN;
  auto replies = Transact(&req, sizeof req, 0);
  if (!replies.ok()) {
    if (replies.error().sys_errno() == ENOENT)
      return Error(ErrorKind::kNotFound, "sock_diag: no unix socket with inode " + std::to_string(inode));
    return std::move(replies).error().Context("sock_diag: unix socket " + std::to_string(inode));
  }
  if (replies->size() != 1)
    return Corrupt("sock_diag: " + std::to_string(replies->size()) + " replies for unix socket " +
                   std::to_string(inode));
  return ParseUnixDiag((*replies)[0]);
}

Result<std::vector<InetDiag>> SockDiag::DumpInet(int family, int protocol) {
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(family);
  req.sdiag_protocol = static_cast<uint8_t>(protocol);
  req.idiag_states = ~0u;
  req.idiag_ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_SHUTDOWN - 1));
  auto replies = STASIS_VALUE(Transact(&req, sizeof req, NLM_F_DUMP));
  std::vector<InetDiag> out;
  out.reserve(replies.size());
  for (const auto& r : replies) {
    auto d = STASIS_VALUE(ParseInetDiag(r));
    if (d.protocol == 0) d.protocol = static_cast<uint8_t>(protocol);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace stasis::net
