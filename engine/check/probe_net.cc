// Sockets: TCP_REPAIR on a loopback connection and sock_diag dumps that must find sockets we
// just made, as the socket collectors will.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "engine/check/probes.h"

namespace stasis::check {
namespace {

constexpr int kTcpListenState = 10;  // TCP_LISTEN in the kernel's state numbering

class Sock {
 public:
  explicit Sock(int fd) noexcept : fd_(fd) {}
  ~Sock() {
    if (fd_ >= 0) close(fd_);
  }
  Sock(const Sock&) = delete;
  Sock& operator=(const Sock&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

ino_t InodeOf(int fd) noexcept {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

sockaddr_in Loopback() noexcept {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A bound (and for TCP listening) loopback socket, or -errno.
int BoundLoopback(int type) noexcept {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in a = Loopback();
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      (type == SOCK_STREAM && listen(fd, 1) != 0)) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

void ProbeTcpRepair(ProbeReport& r) noexcept {
  const Feature f = Feature::kTcpRepair;
  Sock listener(BoundLoopback(SOCK_STREAM));
  if (!listener.ok()) return r.MissingErrno(f, -listener.get(), "loopback listen (is lo up?)");
  sockaddr_in addr{};
  socklen_t alen = sizeof(addr);
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &alen);
  Sock client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client.ok() || connect(client.get(), reinterpret_cast<sockaddr*>(&addr), alen) != 0)
    return r.MissingErrno(f, errno, "loopback connect");
  Sock server(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server.ok()) return r.MissingErrno(f, errno, "accept");

  int on = TCP_REPAIR_ON;
  if (setsockopt(client.get(), SOL_TCP, TCP_REPAIR, &on, sizeof(on)) != 0)
    return r.MissingErrno(f, errno, "TCP_REPAIR on (needs CAP_NET_ADMIN)");
  int queue = TCP_SEND_QUEUE;
  unsigned int seq = 0;
  socklen_t len = sizeof(seq);
  tcp_repair_window window{};
  socklen_t wlen = sizeof(window);
  if (setsockopt(client.get(), SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) != 0) {
    r.MissingErrno(f, errno, "TCP_REPAIR_QUEUE");
  } else if (getsockopt(client.get(), SOL_TCP, TCP_QUEUE_SEQ, &seq, &len) != 0) {
    r.MissingErrno(f, errno, "TCP_QUEUE_SEQ");
  } else if (getsockopt(client.get(), SOL_TCP, TCP_REPAIR_WINDOW, &window, &wlen) != 0) {
    r.MissingErrno(f, errno, "TCP_REPAIR_WINDOW");
  } else {
    r.Ok(f, "read send sequence and window of a loopback connection");
  }
  int off = TCP_REPAIR_OFF_NO_WP;
  setsockopt(client.get(), SOL_TCP, TCP_REPAIR, &off, sizeof(off));
}

// Sends a sock_diag dump request and looks for `inode` in the answer: 1 found, 0 not found,
// -errno if the kernel refused (e.g. ENOENT: that *_diag module is not loaded).
template <typename Request, typename Answer>
int DumpFinds(const Request& req, ino_t inode, uint32_t Answer::*inode_field) noexcept {
  Sock nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.ok()) return -errno;
  timeval timeout{1, 0};
  setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  struct {
    nlmsghdr nlh;
    Request req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req = req;
  if (send(nl.get(), &msg, sizeof(msg), 0) != static_cast<ssize_t>(sizeof(msg))) return -errno;

  alignas(nlmsghdr) char buf[32768];
  bool found = false;
  for (;;) {
    ssize_t n = recv(nl.get(), buf, sizeof(buf), 0);
    if (n < 0) return -errno;
    if (n == 0) return -EPIPE;
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return found ? 1 : 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        return err->error < 0 ? err->error : -EPROTO;
      }
      if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(Answer))) {
        auto* a = static_cast<const Answer*>(NLMSG_DATA(h));
        if (a->*inode_field == inode) found = true;
      }
    }
  }
}

void ReportDiag(ProbeReport& r, Feature f, int result, const char* what) noexcept {
  if (result == 1) return r.Ok(f, "dump found our %s socket", what);
  if (result == 0) return r.Missing(f, "dump did not list our %s socket", what);
  if (result == -ENOENT) return r.Missing(f, "no %s diag handler (module not loaded?)", what);
  r.MissingErrno(f, -result, "sock_diag dump");
}

void ProbeSockDiag(ProbeReport& r) noexcept {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    r.MissingErrno(Feature::kSockDiagUnix, errno, "socketpair");
  } else {
    unix_diag_req req{};
    req.sdiag_family = AF_UNIX;
    req.udiag_states = ~0u;
    ReportDiag(r, Feature::kSockDiagUnix, DumpFinds(req, InodeOf(pair[0]), &unix_diag_msg::udiag_ino), "unix");
    close(pair[0]);
    close(pair[1]);
  }

  struct {
    Feature feature;
    int type;
    int protocol;
    uint32_t states;
    const char* name;
  } const kInet[] = {
      {Feature::kSockDiagTcp, SOCK_STREAM, IPPROTO_TCP, 1u << kTcpListenState, "tcp"},
      {Feature::kSockDiagUdp, SOCK_DGRAM, IPPROTO_UDP, ~0u, "udp"},
  };
  for (const auto& k : kInet) {
    Sock s(BoundLoopback(k.type));
    if (!s.ok()) {
      r.MissingErrno(k.feature, -s.get(), "loopback socket (is lo up?)");
      continue;
    }
    inet_diag_req_v2 req{};
    req.sdiag_family = AF_INET;
    req.sdiag_protocol = static_cast<uint8_t>(k.protocol);
    req.idiag_states = k.states;
    ReportDiag(r, k.feature, DumpFinds(req, InodeOf(s.get()), &inet_diag_msg::idiag_inode), k.name);
  }
}

}  // namespace

void ProbeNet(ProbeReport& r) noexcept {
  ProbeTcpRepair(r);
  ProbeSockDiag(r);
}

}  // namespace stasis::check
