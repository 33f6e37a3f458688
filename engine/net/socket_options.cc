#include "engine/net/socket_options.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <string>

namespace stasis::net {
namespace {

// True when the socket has a local port (bound, or connected and so autobound).
bool IsBound(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  if (ss.ss_family == AF_INET6) return reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port != 0;
  if (ss.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in*>(&ss)->sin_port != 0;
  return false;
}

std::string OptName(int level, int name) {
  return "sockopt " + std::to_string(level) + "/" + std::to_string(name);
}

Result<int> GetIntNamed(int fd, int level, int name, const char* text) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) != 0) return SysError(std::string("getsockopt ") + text);
  return v;
}

Status SetIntNamed(int fd, int level, int name, int v, const char* text) {
  if (setsockopt(fd, level, name, &v, sizeof v) != 0)
    return SysError(std::string("setsockopt ") + text + " " + std::to_string(v));
  return Status::Ok();
}

// Errors name the option as written here: "getsockopt SO_KEEPALIVE: ...".
#define GetInt(fd, level, name) GetIntNamed(fd, level, name, #name)
#define SetInt(fd, level, name, v) SetIntNamed(fd, level, name, v, #name)

Result<uint64_t> GetTimeoutUs(int fd, int name) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, name, &tv, &len) != 0) return SysError("get" + OptName(SOL_SOCKET, name));
  return static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec);
}

Status SetTimeoutUs(int fd, int name, uint64_t us) {
  timeval tv{static_cast<time_t>(us / 1000000u), static_cast<suseconds_t>(us % 1000000u)};
  if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) != 0) return SysError("set" + OptName(SOL_SOCKET, name));
  return Status::Ok();
}

Status SetBuffer(int fd, int force_name, int name, uint32_t dumped) {
  if (dumped == 0) return Status::Ok();
  int half = static_cast<int>(dumped / 2);
  if (setsockopt(fd, SOL_SOCKET, force_name, &half, sizeof half) == 0) return Status::Ok();
  if (errno != EPERM) return SysError("set" + OptName(SOL_SOCKET, force_name));
  return SetInt(fd, SOL_SOCKET, name, half);  // without CAP_NET_ADMIN: capped by the sysctl
}

}  // namespace

Result<img::SocketOptions> ReadSocketOptions(int fd, int family, int protocol) {
  img::SocketOptions o;
  o.set_sndbuf(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_SNDBUF)));
  o.set_rcvbuf(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_RCVBUF)));
  o.set_priority(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_PRIORITY)));
  o.set_mark(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_MARK)));
  o.set_rcvlowat(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_RCVLOWAT)));
  o.set_rcvtimeo_us(STASIS_VALUE(GetTimeoutUs(fd, SO_RCVTIMEO)));
  o.set_sndtimeo_us(STASIS_VALUE(GetTimeoutUs(fd, SO_SNDTIMEO)));
  // SO_PASSCRED is for unix (and netlink) sockets only on current kernels.
  if (family == AF_UNIX) {
    o.set_passcred(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_PASSCRED)) != 0);
    return o;
  }

  o.set_reuseaddr(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_REUSEADDR)) != 0);
  o.set_reuseport(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_REUSEPORT)) != 0);
  o.set_keepalive(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_KEEPALIVE)) != 0);
  o.set_broadcast(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_BROADCAST)) != 0);
  o.set_oobinline(STASIS_VALUE(GetInt(fd, SOL_SOCKET, SO_OOBINLINE)) != 0);
  linger l{};
  socklen_t llen = sizeof l;
  if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &llen) != 0) return SysError("get SO_LINGER");
  o.set_linger_on(l.l_onoff != 0);
  o.set_linger_seconds(static_cast<uint32_t>(l.l_linger));
  if (family == AF_INET6) o.set_ipv6_v6only(STASIS_VALUE(GetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY)) != 0);
  if (family == AF_INET) {
    o.set_ip_tos(STASIS_VALUE(GetInt(fd, IPPROTO_IP, IP_TOS)));
    o.set_ip_freebind(STASIS_VALUE(GetInt(fd, IPPROTO_IP, IP_FREEBIND)) != 0);
  }
  if (protocol != IPPROTO_TCP) return o;

  o.set_tcp_nodelay(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_NODELAY)) != 0);
  o.set_tcp_cork(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_CORK)) != 0);
  o.set_tcp_keepidle(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE)));
  o.set_tcp_keepintvl(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL)));
  o.set_tcp_keepcnt(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_KEEPCNT)));
  o.set_tcp_user_timeout(STASIS_VALUE(GetInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT)));
  char cong[32] = {};
  socklen_t clen = sizeof cong - 1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cong, &clen) != 0) return SysError("get TCP_CONGESTION");
  o.set_tcp_congestion(std::string(cong, strnlen(cong, clen)));
  return o;
}

Status ApplyBufferSizes(int fd, const img::SocketOptions& o) {
  STASIS_TRY(SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, o.sndbuf()));
  return SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, o.rcvbuf());
}

Status ApplySocketOptions(int fd, const img::SocketOptions& o, int family, int protocol) {
  STASIS_TRY(ApplyBufferSizes(fd, o));
  if (family == AF_UNIX && o.passcred()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_PASSCRED, 1));
  if (o.priority() != 0) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_PRIORITY, static_cast<int>(o.priority())));
  if (o.mark() != 0) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_MARK, static_cast<int>(o.mark())));
  if (o.rcvlowat() > 1) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_RCVLOWAT, static_cast<int>(o.rcvlowat())));
  if (o.rcvtimeo_us() != 0) STASIS_TRY(SetTimeoutUs(fd, SO_RCVTIMEO, o.rcvtimeo_us()));
  if (o.sndtimeo_us() != 0) STASIS_TRY(SetTimeoutUs(fd, SO_SNDTIMEO, o.sndtimeo_us()));
  if (family == AF_UNIX) return Status::Ok();

  if (o.reuseaddr()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1));
  if (o.reuseport()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1));
  if (o.keepalive()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
  if (o.broadcast()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_BROADCAST, 1));
  if (o.oobinline()) STASIS_TRY(SetInt(fd, SOL_SOCKET, SO_OOBINLINE, 1));
  if (o.linger_on()) {
    linger l{1, static_cast<int>(o.linger_seconds())};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) return SysError("set SO_LINGER");
  }
  if (family == AF_INET6) {
    // Only changeable before bind; skip it when it already has the dumped value. Once bound
    // (the options are put back after a repaired connection's bind) it is left alone: binding
    // to a specific IPv6 address sets it, and it only ever decides what a bind may take.
    const bool now = STASIS_VALUE(GetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY)) != 0;
    if (now != o.ipv6_v6only() && !IsBound(fd))
      STASIS_TRY(SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6_v6only() ? 1 : 0));
  }
  if (family == AF_INET && o.ip_tos() != 0) STASIS_TRY(SetInt(fd, IPPROTO_IP, IP_TOS, static_cast<int>(o.ip_tos())));
  if (family == AF_INET && o.ip_freebind()) STASIS_TRY(SetInt(fd, IPPROTO_IP, IP_FREEBIND, 1));
  if (protocol != IPPROTO_TCP) return Status::Ok();

  if (o.tcp_nodelay()) STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_NODELAY, 1));
  if (o.tcp_cork()) STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_CORK, 1));
  if (o.tcp_keepidle() != 0) STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(o.tcp_keepidle())));
  if (o.tcp_keepintvl() != 0) STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(o.tcp_keepintvl())));
  if (o.tcp_keepcnt() != 0) STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(o.tcp_keepcnt())));
  if (o.tcp_user_timeout() != 0)
    STASIS_TRY(SetInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(o.tcp_user_timeout())));
  if (!o.tcp_congestion().empty() && o.tcp_congestion().size() < 32 &&
      setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o.tcp_congestion().data(),
                 static_cast<socklen_t>(o.tcp_congestion().size())) != 0)
    return SysError("set TCP_CONGESTION " + o.tcp_congestion());
  return Status::Ok();
}

}  // namespace stasis::net
