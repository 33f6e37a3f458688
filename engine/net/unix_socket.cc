// AF_UNIX sockets: stream, dgram and seqpacket, named or not, listening, connected (in pairs
// or one-way), with their receive queues and shutdown state.
//
// Who creates a socket at restore: a mutual pair (socketpair(), accept()ed connections) is made
// by whichever end is opened first with one socketpair(); that opener fills its own queue from
// the other end and shares the other end plus a dup of its own (the "sender") so the second
// opener can fill its queue too, and then applies the shutdown state of both. Everything else
// is made by its own opener; a socket connected to a listener or to a bound datagram socket
// connects by name, so that peer must have been opened first.
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>

#include "engine/files/status_flags.h"
#include "engine/net/queue_peek.h"
#include "engine/net/requeue.h"
#include "engine/net/sock_diag.h"
#include "engine/net/socket_kinds.h"
#include "engine/net/socket_options.h"
#include "engine/net/unix_addr.h"

namespace stasis::net {
namespace {

using files::CollectContext;
using files::OpenContext;
using files::OpenFd;
using files::ShareKey;

constexpr uint32_t kUnixFlags = files::kCommonFlags | O_NONBLOCK;
constexpr uint32_t kPartSelf = 0;    // the socket with this inode, made by its peer's opener
constexpr uint32_t kPartSender = 1;  // a dup of that socket's peer, to fill its queue from
constexpr uint32_t kShutdownMask = 3;  // RCV_SHUTDOWN | SEND_SHUTDOWN as the kernel keeps them

std::string Name(const img::UnixSocket& u) { return "unix socket " + std::to_string(u.inode()); }

bool KnownType(uint32_t t) { return t == SOCK_STREAM || t == SOCK_DGRAM || t == SOCK_SEQPACKET; }

Status CollectQueue(int fd, img::UnixSocket* u, const std::string& what) {
  auto msgs = STASIS_VALUE(PeekReceiveQueue(fd, u->type() != SOCK_STREAM, what));
  for (auto& m : msgs) {
    img::UnixQueuedMessage* q = u->add_queue();
    q->set_data(std::move(m.data));
    if (m.from_len > offsetof(sockaddr_un, sun_path)) {
      const auto* sun = reinterpret_cast<const sockaddr_un*>(&m.from);
      q->set_sender_name(NormalizeUnixName(std::string(sun->sun_path, m.from_len - offsetof(sockaddr_un, sun_path))));
    }
  }
  return Status::Ok();
}

Status CollectName(const UnixDiag& d, img::UnixSocket* u, const std::string& what) {
  std::string name = NormalizeUnixName(d.name);
  u->set_name(name);
  if (name.empty() || IsAbstractName(name)) return Status::Ok();
  if (name[0] != '/')
    return Unsupported(what + ": bound to the relative path " + name +
                       " (relative to a cwd at bind time that is not recorded)");
  u->set_vfs_inode(d.vfs_inode);
  u->set_vfs_dev(d.vfs_dev);
  struct stat st {};
  if (::lstat(name.c_str(), &st) != 0) {
    if (errno != ENOENT) return SysError(what + ": lstat " + name);
    u->set_name_unlinked(true);
  } else if (st.st_ino != d.vfs_inode) {
    return Unsupported(what + ": its path " + name + " now names another file");
  }
  return Status::Ok();
}

class UnixSocketKindImpl final : public files::FileKind {
 public:
  const char* name() const override { return "unix"; }
  img::FileEntry::FileCase entry_case() const override { return img::FileEntry::kUnixSk; }

  bool Matches(const OpenFd& f) const override {
    return S_ISSOCK(f.st.st_mode) && SocketDomain(f) == AF_UNIX;
  }

  Status Collect(const OpenFd& f, img::FileEntry* entry, CollectContext&) const override {
    const std::string what = f.Describe();
    const int fd = f.local_fd.get();
    STASIS_TRY_CTX(files::CheckFlags(f.head.flags, kUnixFlags, "unix socket"), what);
    SockDiag diag = STASIS_VALUE_CTX(SockDiag::Open(), what);
    UnixDiag d = STASIS_VALUE_CTX(diag.QueryUnix(static_cast<uint32_t>(f.st.st_ino)), what);
    if (!KnownType(d.type)) return Unsupported(what + ": unix socket type " + std::to_string(d.type));

    img::UnixSocket* u = entry->mutable_unix_sk();
    u->set_inode(d.inode);
    u->set_type(d.type);
    u->set_state(d.state);
    u->set_flags(f.head.flags);
    u->set_shutdown(d.shutdown);
    STASIS_TRY(CollectName(d, u, what));
    *u->mutable_opts() = STASIS_VALUE_CTX(ReadSocketOptions(fd, AF_UNIX, 0), what);

    if (d.state == TCP_LISTEN) {
      // Connections not accepted yet belong to their clients' sockets, which reconnect.
      u->set_backlog(d.wqueue);
      for (uint32_t icon : d.icons) u->add_icons(icon);
      return Status::Ok();
    }
    if (d.peer_inode != 0) {
      u->set_peer_inode(d.peer_inode);
      auto peer = diag.QueryUnix(d.peer_inode);
      if (peer.ok()) {
        u->set_peer_name(NormalizeUnixName(peer->name));
        u->set_peer_mutual(peer->peer_inode == d.inode);
        u->set_peer_shutdown(peer->shutdown);
        if (!u->peer_mutual() && d.type != SOCK_DGRAM)
          return Internal(what + ": connected to unix socket " + std::to_string(d.peer_inode) +
                          " whose peer is another socket");
      } else if (peer.error().kind() != ErrorKind::kNotFound) {
        return std::move(peer).error().Context(what);
      } else if (d.type != SOCK_DGRAM) {
        u->set_peer_gone(true);
      }
    } else if (d.type != SOCK_DGRAM && d.state == TCP_ESTABLISHED) {
      // A connected socket whose peer has no inode: the peer is closed (the kernel then shut
      // both directions down) or is still in a listener's accept queue.
      if ((d.shutdown & kShutdownMask) == kShutdownMask) {
        u->set_peer_gone(true);
      } else {
        if (d.has_rqlen && d.wqueue > 0)
          return Unsupported(what + ": sent data on a connection its listener has not accepted yet");
        sockaddr_un peer{};
        socklen_t len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0)
          return SysError(what + ": getpeername");
        if (len <= offsetof(sockaddr_un, sun_path))
          return Unsupported(what + ": connected to an unnamed listener");
        u->set_pending(true);
        u->set_peer_name(NormalizeUnixName(std::string(peer.sun_path, len - offsetof(sockaddr_un, sun_path))));
      }
    }
    return CollectQueue(fd, u, what);
  }

  Status Validate(const img::FileEntry& entry, const files::ObjectStore&) const override {
    const img::UnixSocket& u = entry.unix_sk();
    const std::string what = Name(u);
    if (!KnownType(u.type())) return Corrupt(what + ": type " + std::to_string(u.type()));
    STASIS_TRY(files::CheckFlags(u.flags(), kUnixFlags, what));
    if (u.state() != TCP_LISTEN && u.state() != TCP_ESTABLISHED && u.state() != TCP_CLOSE)
      return Corrupt(what + ": state " + std::to_string(u.state()));
    if (u.shutdown() > kShutdownMask || u.peer_shutdown() > kShutdownMask)
      return Corrupt(what + ": shutdown bits out of range");
    socklen_t len;
    if (!u.name().empty()) STASIS_TRY_CTX(MakeUnixAddr(u.name(), &len), what);
    if (!u.peer_name().empty()) STASIS_TRY_CTX(MakeUnixAddr(u.peer_name(), &len), what);
    if (u.state() == TCP_LISTEN && (u.name().empty() || u.type() == SOCK_DGRAM))
      return Corrupt(what + ": listening but unnamed or a datagram socket");
    if (u.pending() && (u.peer_name().empty() || u.type() == SOCK_DGRAM))
      return Corrupt(what + ": pending connection without a listener name");
    if (u.peer_mutual() && u.peer_inode() == 0) return Corrupt(what + ": paired with inode 0");
    if (u.type() == SOCK_STREAM && u.queue_size() > 1) return Corrupt(what + ": stream queue split");
    size_t total = 0;
    for (const auto& q : u.queue()) total += q.data().size();
    if (total > kMaxQueuedBytes) return Corrupt(what + ": more than 12 MiB queued");
    if (u.opts().sndbuf() > (1u << 30) || u.opts().rcvbuf() > (1u << 30))
      return Corrupt(what + ": buffer size over 1 GiB");
    return Status::Ok();
  }

  Result<UniqueFd> Open(const img::FileEntry& entry, OpenContext& ctx) const override {
    STASIS_TRY(Validate(entry, ctx.objects));
    const img::UnixSocket& u = entry.unix_sk();
    const std::string what = Name(u);
    UniqueFd fd;
    auto made = ctx.exchange.Take(Key(u.inode(), kPartSelf));
    if (made.ok() && u.state() == TCP_LISTEN) {
      // A client opened before us made us (ListenerFor): take our own backlog.
      fd = std::move(*made);
      if (::listen(fd.get(), static_cast<int>(u.backlog())) != 0) return SysError(what + ": listen");
    } else if (made.ok()) {
      fd = std::move(*made);
      // Our peer's opener made us; fill our queue through its dup, then apply both sides'
      // shutdown now that no more data has to flow.
      UniqueFd sender = STASIS_VALUE_CTX(ctx.exchange.Take(Key(u.inode(), kPartSender)), what);
      STASIS_TRY(SendQueue(sender.get(), u, nullptr, 0, what));
      STASIS_TRY(Shutdown(fd.get(), u.shutdown(), what));
      STASIS_TRY(Shutdown(sender.get(), u.peer_shutdown(), what));
    } else if (made.error().kind() != ErrorKind::kNotFound) {
      return std::move(made).error();
    } else {
      fd = STASIS_VALUE(Create(u, ctx, what));
    }
    STASIS_TRY(ApplySocketOptions(fd.get(), u.opts(), AF_UNIX, 0));
    STASIS_TRY(files::SetStatusFlags(fd.get(), u.flags(), what));
    return fd;
  }

 private:
  ShareKey Key(uint32_t inode, uint32_t part) const { return ShareKey{name(), 0, inode, part}; }

  static Result<UniqueFd> NewSocket(uint32_t type, const std::string& what) {
    int fd = ::socket(AF_UNIX, static_cast<int>(type) | SOCK_CLOEXEC, 0);
    if (fd < 0) return SysError(what + ": socket");
    return UniqueFd(fd);
  }

  static Status Shutdown(int fd, uint32_t bits, const std::string& what) {
    if (bits == 0) return Status::Ok();
    const int how = bits == kShutdownMask ? SHUT_RDWR : bits == 1 ? SHUT_RD : SHUT_WR;
    if (::shutdown(fd, how) != 0 && errno != ENOTCONN) return SysError(what + ": shutdown");
    return Status::Ok();
  }

  // Sends u's dumped receive queue from `sender` (its peer, or any socket when `to` is set).
  static Status SendQueue(int sender, const img::UnixSocket& u, const sockaddr* to, socklen_t to_len,
                          const std::string& what) {
    std::vector<Outgoing> out;
    for (const auto& q : u.queue()) out.push_back({&q.data(), to, to_len});
    return SendAll(sender, out, what);
  }

  static Result<UniqueFd> CreateListener(const img::UnixSocket& u, const std::string& what) {
    UniqueFd fd = STASIS_VALUE(NewSocket(u.type(), what));
    STASIS_TRY(BindUnix(fd.get(), u.name(), u.name_unlinked(), what));
    if (::listen(fd.get(), static_cast<int>(u.backlog())) != 0) return SysError(what + ": listen");
    return fd;
  }

  // The listening socket of the image set that a pending client reconnects to, by name.
  static const img::UnixSocket* ListenerFor(const img::UnixSocket& client, const OpenContext& ctx) {
    if (ctx.files == nullptr) return nullptr;
    for (const auto& [id, entry] : *ctx.files) {
      if (!entry.has_unix_sk()) continue;
      const img::UnixSocket& l = entry.unix_sk();
      if (l.state() == TCP_LISTEN && l.type() == client.type() && l.name() == client.peer_name() && !l.name_unlinked())
        return &l;
    }
    return nullptr;
  }

  // A client whose connection its listener had not accepted yet connects again by name. When
  // the listener belongs to a process (or an fd) restored later, this opener makes it first and
  // hands it over: fd and process order must not decide whether the connection comes back.
  Result<UniqueFd> CreatePendingClient(const img::UnixSocket& u, OpenContext& ctx, const std::string& what) const {
    UniqueFd fd = STASIS_VALUE(NewSocket(u.type(), what));
    // Non-blocking so a full backlog is an error, not a hang.
    if (::fcntl(fd.get(), F_SETFL, O_NONBLOCK) != 0) return SysError(what + ": fcntl");
    Status connected = ConnectUnix(fd.get(), u.peer_name(), what);
    const int err = connected.ok() ? 0 : connected.error().sys_errno();
    const img::UnixSocket* listener = (err == ENOENT || err == ECONNREFUSED) ? ListenerFor(u, ctx) : nullptr;
    if (listener != nullptr) {
      UniqueFd made = STASIS_VALUE(CreateListener(*listener, Name(*listener)));
      connected = ConnectUnix(fd.get(), u.peer_name(), what);
      if (connected.ok()) STASIS_TRY(ctx.exchange.Share(Key(listener->inode(), kPartSelf), std::move(made)));
    }
    STASIS_TRY(connected);
    STASIS_TRY(Shutdown(fd.get(), u.shutdown(), what));
    return fd;
  }

  Result<UniqueFd> Create(const img::UnixSocket& u, OpenContext& ctx, const std::string& what) const {
    if (u.state() == TCP_LISTEN) return CreateListener(u, what);
    if (u.peer_mutual() || u.peer_gone()) return CreatePair(u, ctx, what);
    if (u.pending()) return CreatePendingClient(u, ctx, what);
    UniqueFd fd = STASIS_VALUE(NewSocket(u.type(), what));
    if (!u.name().empty()) STASIS_TRY(BindUnix(fd.get(), u.name(), false, what));
    if (u.queue_size() > 0) {
      // A datagram receiver: its queue comes back from a throwaway socket, sent to its name,
      // before it connects anywhere (a connected receiver takes data only from its peer).
      if (u.name().empty()) return Unsupported(what + ": queued datagrams on an unnamed, unpaired socket");
      socklen_t len = 0;
      sockaddr_un addr = STASIS_VALUE_CTX(MakeUnixAddr(u.name(), &len), what);
      UniqueFd temp = STASIS_VALUE(NewSocket(u.type(), what));
      STASIS_TRY(SendQueue(temp.get(), u, reinterpret_cast<sockaddr*>(&addr), len, what));
    }
    if (u.name_unlinked() && ::unlink(u.name().c_str()) != 0) return SysError(what + ": unlink " + u.name());
    if (u.peer_inode() != 0 && !u.peer_name().empty()) STASIS_TRY(ConnectUnix(fd.get(), u.peer_name(), what));
    STASIS_TRY(Shutdown(fd.get(), u.shutdown(), what));
    return fd;
  }

  Result<UniqueFd> CreatePair(const img::UnixSocket& u, OpenContext& ctx, const std::string& what) const {
    int ends[2];
    if (::socketpair(AF_UNIX, static_cast<int>(u.type()) | SOCK_CLOEXEC, 0, ends) != 0)
      return SysError(what + ": socketpair");
    UniqueFd mine(ends[0]), other(ends[1]);
    // Datagram sockets may be named and paired; stream ends carry their listener's name,
    // which that listener still holds, so they stay unnamed.
    if (u.type() == SOCK_DGRAM) {
      if (!u.name().empty()) STASIS_TRY(BindUnix(mine.get(), u.name(), u.name_unlinked(), what));
      if (u.peer_mutual() && !u.peer_name().empty())
        STASIS_TRY(BindUnix(other.get(), u.peer_name(), false, what));
    }
    STASIS_TRY(SendQueue(other.get(), u, nullptr, 0, what));
    if (u.peer_gone()) {
      STASIS_TRY(Shutdown(mine.get(), u.shutdown(), what));
      return mine;  // closing `other` leaves `mine` reading the queue, then EOF
    }
    UniqueFd sender(::fcntl(mine.get(), F_DUPFD_CLOEXEC, 0));
    if (!sender.valid()) return SysError(what + ": dup");
    STASIS_TRY(ctx.exchange.Share(Key(u.peer_inode(), kPartSelf), std::move(other)));
    STASIS_TRY(ctx.exchange.Share(Key(u.peer_inode(), kPartSender), std::move(sender)));
    return mine;
  }
};

}  // namespace

int SocketDomain(const OpenFd& f) {
  int domain = -1;
  socklen_t len = sizeof domain;
  if (::getsockopt(f.local_fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return -1;
  return domain;
}

const files::FileKind& UnixSocketKind() {
  static const UnixSocketKindImpl kind;
  return kind;
}

}  // namespace stasis::net
