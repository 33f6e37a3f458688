// AF_INET/AF_INET6 TCP and UDP sockets: unconnected and bound, listening, established (through
// TCP_REPAIR), UDP bound or connected with queued datagrams, and their socket options.
//
// Dumping an established connection leaves it in repair mode, so that killing the dumped
// owner neither resets nor closes the connection; a dump that resumes its tree must take the
// socket out of repair mode again (LeaveTcpRepair).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "engine/files/status_flags.h"
#include "engine/net/inet_addr.h"
#include "engine/net/queue_peek.h"
#include "engine/net/sock_diag.h"
#include "engine/net/socket_kinds.h"
#include "engine/net/socket_options.h"
#include "engine/net/tcp_repair.h"
#include "engine/net/udp_inject.h"

namespace stasis::net {
namespace {

using files::OpenFd;

constexpr uint32_t kInetFlags = files::kCommonFlags | O_NONBLOCK;

std::string Name(const img::InetSocket& s) {
  return std::string(s.protocol() == IPPROTO_TCP ? "tcp" : "udp") + (s.family() == AF_INET6 ? "6" : "") +
         " socket " + std::to_string(s.inode());
}

Result<int> SockInt(int fd, int name, const char* what_opt, const std::string& what) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, name, &v, &len) != 0) return SysError(what + ": getsockopt " + what_opt);
  return v;
}

// The socket's row in the sock_diag table, or a CLOSE state when it is in no table (a socket
// that was never bound, connected or listened on).
Result<InetDiag> FindDiag(int family, int protocol, uint32_t inode, const std::string& what) {
  SockDiag diag = STASIS_VALUE_CTX(SockDiag::Open(), what);
  auto all = STASIS_VALUE_CTX(diag.DumpInet(family, protocol), what);
  for (auto& d : all)
    if (d.inode == inode) return std::move(d);
  InetDiag none;
  none.state = TCP_CLOSE;
  return none;
}

Status CollectUdpQueue(int fd, img::InetSocket* s, const std::string& what) {
  auto msgs = STASIS_VALUE(PeekReceiveQueue(fd, true, what, 65536));
  for (auto& m : msgs) {
    img::InetDatagram* d = s->add_queue();
    d->set_data(std::move(m.data));
    std::string addr;
    uint32_t port = 0;
    if (!SplitInetAddr(m.from, m.from_len, &addr, &port))
      return Unsupported(what + ": queued datagram without an IP source address");
    d->set_src_addr(addr);
    d->set_src_port(port);
  }
  return Status::Ok();
}

class InetSocketKindImpl final : public files::FileKind {
 public:
  const char* name() const override { return "inet"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kInetSk; }

  bool Matches(const OpenFd& f) const override {
    if (!S_ISSOCK(f.st.st_mode)) return false;
    const int domain = SocketDomain(f);
    return domain == AF_INET || domain == AF_INET6;
  }

  Status Collect(const OpenFd& f, img::FileEntry* entry, files::CollectContext&) const override {
    const std::string what = f.Describe();
    const int fd = f.local_fd.get();
    STASIS_TRY_CTX(files::CheckFlags(f.head.flags, kInetFlags, "inet socket"), what);
    const int family = SocketDomain(f);
    const int type = STASIS_VALUE(SockInt(fd, SO_TYPE, "SO_TYPE", what));
    const int protocol = STASIS_VALUE(SockInt(fd, SO_PROTOCOL, "SO_PROTOCOL", what));
    if (!((type == SOCK_STREAM && protocol == IPPROTO_TCP) || (type == SOCK_DGRAM && protocol == IPPROTO_UDP)))
      return Unsupported(what + ": socket type " + std::to_string(type) + " protocol " + std::to_string(protocol) +
                         " (only TCP and UDP)");
    img::InetSocket* s = entry->mutable_inet_sk();
    s->set_inode(static_cast<uint32_t>(f.st.st_ino));
    s->set_family(static_cast<uint32_t>(family));
    s->set_type(static_cast<uint32_t>(type));
    s->set_protocol(static_cast<uint32_t>(protocol));
    s->set_flags(f.head.flags);

    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    std::string addr;
    uint32_t port = 0;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return SysError(what + ": getsockname");
    if (SplitInetAddr(ss, len, &addr, &port) && port != 0) {
      s->set_src_addr(addr);
      s->set_src_port(port);
    }
    len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && SplitInetAddr(ss, len, &addr, &port)) {
      s->set_dst_addr(addr);
      s->set_dst_port(port);
    } else if (errno != ENOTCONN) {
      return SysError(what + ": getpeername");
    }

    InetDiag d = STASIS_VALUE(FindDiag(family, protocol, s->inode(), what));
    s->set_state(d.state);
    s->set_shutdown(d.shutdown);
    *s->mutable_opts() = STASIS_VALUE_CTX(ReadSocketOptions(fd, family, protocol), what);

    if (protocol == IPPROTO_UDP) return CollectUdpQueue(fd, s, what);
    switch (d.state) {
      case TCP_CLOSE:
        return Status::Ok();
      case TCP_LISTEN:
        if (d.rqueue > 0)
          return Unsupported(what + ": listening with " + std::to_string(d.rqueue) +
                             " connections not accepted yet (they cannot be carried over)");
        s->set_backlog(d.wqueue);
        return Status::Ok();
      case TCP_ESTABLISHED: {
        if (d.shutdown != 0) return Unsupported(what + ": established connection with a shutdown direction");
        STASIS_TRY(EnterTcpRepair(fd, what));
        auto t = ReadTcpRepairState(fd, what);
        if (!t.ok()) {
          (void)LeaveTcpRepair(fd, false, what);  // give the connection back untouched
          return std::move(t).error();
        }
        *s->mutable_tcp() = std::move(*t);
        return Status::Ok();
      }
      default:
        return Unsupported(what + ": TCP state " + std::to_string(d.state) +
                           " (only listening, established and closed sockets)");
    }
  }

  Status Validate(const img::FileEntry& entry, const files::ObjectStore&) const override {
    const img::InetSocket& s = entry.inet_sk();
    const std::string what = Name(s);
    if (s.family() != AF_INET && s.family() != AF_INET6) return Corrupt(what + ": family " + std::to_string(s.family()));
    if (!((s.type() == SOCK_STREAM && s.protocol() == IPPROTO_TCP) || (s.type() == SOCK_DGRAM && s.protocol() == IPPROTO_UDP)))
      return Corrupt(what + ": type/protocol " + std::to_string(s.type()) + "/" + std::to_string(s.protocol()));
    STASIS_TRY(files::CheckFlags(s.flags(), kInetFlags, what));
    STASIS_TRY_CTX(MakeInetAddr(s.family(), s.src_addr(), s.src_port()), what);
    STASIS_TRY_CTX(MakeInetAddr(s.family(), s.dst_addr(), s.dst_port()), what);
    if (s.protocol() == IPPROTO_TCP) {
      if (s.state() != TCP_CLOSE && s.state() != TCP_LISTEN && s.state() != TCP_ESTABLISHED)
        return Corrupt(what + ": TCP state " + std::to_string(s.state()));
      if (s.state() == TCP_ESTABLISHED && (!s.has_tcp() || s.dst_addr().empty() || s.src_addr().empty()))
        return Corrupt(what + ": established without repair state or addresses");
      if (s.queue_size() > 0) return Corrupt(what + ": datagrams queued on a TCP socket");
      if (s.has_tcp() && s.tcp().unsent_bytes() > s.tcp().send_queue().size())
        return Corrupt(what + ": more unsent bytes than queued");
      if (s.has_tcp() && s.tcp().send_queue().size() + s.tcp().recv_queue().size() > 2 * kMaxQueuedBytes)
        return Corrupt(what + ": queues over the limit");
    }
    size_t total = 0;
    for (const auto& d : s.queue()) {
      total += d.data().size();
      STASIS_TRY_CTX(MakeInetAddr(s.family(), d.src_addr(), d.src_port()), what);
    }
    if (total > kMaxQueuedBytes) return Corrupt(what + ": more than 12 MiB queued");
    if (s.opts().sndbuf() > (1u << 30) || s.opts().rcvbuf() > (1u << 30)) return Corrupt(what + ": buffer size over 1 GiB");
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, files::OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::InetSocket& s = entry.inet_sk();
    const std::string what = Name(s);
    const int family = static_cast<int>(s.family()), protocol = static_cast<int>(s.protocol());
    UniqueFd fd(::socket(family, static_cast<int>(s.type()) | SOCK_CLOEXEC, protocol));
    if (!fd.valid()) return SysError(what + ": socket");
    // Before bind: SO_REUSEADDR/PORT, IPV6_V6ONLY and the buffer sizes the queues need.
    STASIS_TRY_CTX(ApplySocketOptions(fd.get(), s.opts(), family, protocol), what);
    InetAddr src = STASIS_VALUE_CTX(MakeInetAddr(s.family(), s.src_addr(), s.src_port()), what);

    if (protocol == IPPROTO_TCP && s.state() == TCP_ESTABLISHED) {
      // Stays in repair mode until the pipeline calls FinishTcpConnection right before the
      // tree resumes (CRIU's rule: every socket leaves repair together, once nothing can fail).
      STASIS_TRY(RestoreTcpConnection(fd.get(), s, what));
    } else {
      if (s.src_port() != 0 && ::bind(fd.get(), src.sa(), src.len) != 0) return SysError(what + ": bind " + src.ToString());
      if (protocol == IPPROTO_TCP && s.state() == TCP_LISTEN &&
          ::listen(fd.get(), static_cast<int>(s.backlog())) != 0)
        return SysError(what + ": listen");
      if (protocol == IPPROTO_UDP) {
        STASIS_TRY(InjectUdpQueue(fd.get(), s, what));
        if (!s.dst_addr().empty()) {
          InetAddr dst = STASIS_VALUE_CTX(MakeInetAddr(s.family(), s.dst_addr(), s.dst_port()), what);
          if (::connect(fd.get(), dst.sa(), dst.len) != 0) return SysError(what + ": connect " + dst.ToString());
        }
        if (s.shutdown() != 0) {
          const int how = s.shutdown() == 3 ? SHUT_RDWR : s.shutdown() == 1 ? SHUT_RD : SHUT_WR;
          if (::shutdown(fd.get(), how) != 0) return SysError(what + ": shutdown");
        }
      }
    }
    STASIS_TRY(files::SetStatusFlags(fd.get(), s.flags(), what));
    return fd;
  }
};

}  // namespace

const files::FileKind& InetSocketKind() {
  static const InetSocketKindImpl kind;
  return kind;
}

}  // namespace stasis::net
