#include "engine/net/udp_inject.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "engine/common/fd.h"
#include "engine/net/inet_addr.h"
#include "engine/net/queue_peek.h"

namespace stasis::net {
namespace {

// Where to deliver: the socket's own address, or loopback when it is bound to the wildcard.
Result<InetAddr> Destination(const img::InetSocket& s) {
  std::string addr = s.src_addr();
  if (addr.empty() || addr == std::string(addr.size(), '\0')) {
    if (s.family() == AF_INET) {
      in_addr lo{htonl(INADDR_LOOPBACK)};
      addr.assign(reinterpret_cast<const char*>(&lo), 4);
    } else {
      addr.assign(reinterpret_cast<const char*>(&in6addr_loopback), 16);
    }
  }
  return MakeInetAddr(s.family(), addr, s.src_port());
}

Result<UniqueFd> RawUdpSocket(const img::InetSocket& s, const std::string& what) {
  UniqueFd raw(::socket(static_cast<int>(s.family()), SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!raw.valid()) return SysError(what + ": raw UDP socket (needs CAP_NET_RAW)");
  int one = 1;
  // A source that is not a local address (the peer was on another host) must still be usable.
  if (s.family() == AF_INET) {
    if (setsockopt(raw.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0) return SysError(what + ": IP_FREEBIND");
  } else {
    if (setsockopt(raw.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) != 0) return SysError(what + ": IPV6_FREEBIND");
    int offset = offsetof(udphdr, check);  // IPv6 UDP needs a checksum: the kernel fills it in
    if (setsockopt(raw.get(), IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0)
      return SysError(what + ": IPV6_CHECKSUM");
  }
  return raw;
}

size_t CountQueued(int fd, const std::string& what) {
  auto q = PeekReceiveQueue(fd, true, what, 65536);
  return q.ok() ? q->size() : 0;
}

}  // namespace

Status InjectUdpQueue(int fd, const img::InetSocket& s, const std::string& what) {
  if (s.queue_size() == 0) return Status::Ok();
  const size_t already = CountQueued(fd, what);
  InetAddr dst = STASIS_VALUE_CTX(Destination(s), what);
  for (const img::InetDatagram& d : s.queue()) {
    if (d.data().size() > 65507) return Corrupt(what + ": datagram of " + std::to_string(d.data().size()) + " bytes");
    // One raw socket per source: its bind() picks the IP source address.
    UniqueFd raw = STASIS_VALUE(RawUdpSocket(s, what));
    InetAddr src = STASIS_VALUE_CTX(MakeInetAddr(s.family(), d.src_addr(), 0), what);
    if (!d.src_addr().empty() && ::bind(raw.get(), src.sa(), src.len) != 0)
      return SysError(what + ": bind raw socket to " + src.ToString());
    std::string packet(sizeof(udphdr) + d.data().size(), '\0');
    udphdr h{};
    h.source = htons(static_cast<uint16_t>(d.src_port()));
    h.dest = htons(static_cast<uint16_t>(s.src_port()));
    h.len = htons(static_cast<uint16_t>(packet.size()));
    h.check = 0;  // IPv4: "no checksum"; IPv6: computed by the kernel (IPV6_CHECKSUM)
    std::memcpy(packet.data(), &h, sizeof h);
    std::memcpy(packet.data() + sizeof h, d.data().data(), d.data().size());
    InetAddr to = dst;
    // Raw sockets take the port field as the protocol; it must be 0 (or IPPROTO_UDP) here.
    if (s.family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&to.ss)->sin6_port = 0;
    else reinterpret_cast<sockaddr_in*>(&to.ss)->sin_port = 0;
    if (::sendto(raw.get(), packet.data(), packet.size(), 0, to.sa(), to.len) != static_cast<ssize_t>(packet.size()))
      return SysError(what + ": inject datagram to " + dst.ToString());
  }
  // Loopback delivery runs in softirq context, normally before sendto returns; allow 1 s.
  for (int i = 0; i < 100; ++i) {
    if (CountQueued(fd, what) >= already + static_cast<size_t>(s.queue_size())) return Status::Ok();
    ::poll(nullptr, 0, 10);
  }
  return Error(ErrorKind::kIO, what + ": " + std::to_string(s.queue_size()) +
                                   " requeued datagrams did not all arrive (a firewall on loopback?)");
}

}  // namespace stasis::net
