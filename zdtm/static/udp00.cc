// UDP over IPv4 and IPv6 loopback: a bound socket with datagrams from another socket queued
// (boundaries and source addresses kept), a bound and connected socket with a queued datagram
// from its peer, still connected afterwards. Plus a TCP listener with SO_REUSEADDR,
// SO_KEEPALIVE, TCP_NODELAY and buffer sizes set, which keeps them and still accepts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
};

Addr Loopback(int family) {
  Addr a;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.len = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    a.len = sizeof *in6;
  }
  return a;
}

Addr Name(int fd) {
  Addr a;
  a.len = sizeof a.ss;
  getsockname(fd, a.sa(), &a.len);
  return a;
}

int Bound(zdtm::Test& t, int family, int type) {
  int fd = socket(family, type, 0);
  Addr a = Loopback(family);
  if (fd < 0 || bind(fd, a.sa(), a.len) != 0) t.Fail("bind (family %d): %s", family, std::strerror(errno));
  return fd;
}

struct Udp {
  int family, receiver, connected, sender;
};

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, level, name, &v, &len);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  Udp u[2];
  const int families[2] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; ++i) {
    u[i].family = families[i];
    u[i].receiver = Bound(t, families[i], SOCK_DGRAM);
    u[i].connected = Bound(t, families[i], SOCK_DGRAM);
    u[i].sender = Bound(t, families[i], SOCK_DGRAM);
    Addr r = Name(u[i].receiver), c = Name(u[i].connected), s = Name(u[i].sender);
    if (connect(u[i].connected, s.sa(), s.len) != 0) t.Fail("connect: %s", std::strerror(errno));
    if (sendto(u[i].sender, "d1", 2, 0, r.sa(), r.len) != 2 || sendto(u[i].sender, "dgram-2", 7, 0, r.sa(), r.len) != 7 ||
        sendto(u[i].sender, "to-connected", 12, 0, c.sa(), c.len) != 12)
      t.Fail("sendto: %s", std::strerror(errno));
  }
  int l = Bound(t, AF_INET, SOCK_STREAM);
  int one = 1, buf = 65536;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(l, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(l, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (listen(l, 5) != 0) t.Fail("listen: %s", std::strerror(errno));
  const int rcvbuf = GetInt(l, SOL_SOCKET, SO_RCVBUF), sndbuf = GetInt(l, SOL_SOCKET, SO_SNDBUF);
  const Addr laddr = Name(l);

  t.Ready();
  t.WaitForTerm();

  for (int i = 0; i < 2; ++i) {
    const Addr s = Name(u[i].sender);
    char b[64];
    const char* want[] = {"d1", "dgram-2"};
    for (const char* w : want) {
      Addr from;
      from.len = sizeof from.ss;
      ssize_t n = recvfrom(u[i].receiver, b, sizeof b, MSG_DONTWAIT, from.sa(), &from.len);
      if (n != static_cast<ssize_t>(std::strlen(w)) || std::memcmp(b, w, std::strlen(w)) != 0)
        t.Fail("family %d: datagram '%s' lost or merged (got %zd)", u[i].family, w, n);
      if (from.len != s.len || std::memcmp(&from.ss, &s.ss, s.len) != 0)
        t.Fail("family %d: datagram '%s' has another source address", u[i].family, w);
    }
    if (recv(u[i].receiver, b, sizeof b, MSG_DONTWAIT) != -1) t.Fail("family %d: an extra datagram", u[i].family);
    if (recv(u[i].connected, b, sizeof b, MSG_DONTWAIT) != 12 || std::memcmp(b, "to-connected", 12) != 0)
      t.Fail("family %d: the connected socket's datagram is lost", u[i].family);
    if (send(u[i].connected, "back", 4, 0) != 4) t.Fail("family %d: connected send: %s", u[i].family, std::strerror(errno));
    pollfd p{u[i].sender, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1 || recv(u[i].sender, b, sizeof b, 0) != 4) t.Fail("family %d: reply to the peer lost", u[i].family);
  }
  if (GetInt(l, SOL_SOCKET, SO_REUSEADDR) != 1 || GetInt(l, SOL_SOCKET, SO_KEEPALIVE) != 1 ||
      GetInt(l, IPPROTO_TCP, TCP_NODELAY) != 1)
    t.Fail("listener options lost");
  if (GetInt(l, SOL_SOCKET, SO_RCVBUF) != rcvbuf || GetInt(l, SOL_SOCKET, SO_SNDBUF) != sndbuf)
    t.Fail("listener buffers %d/%d, were %d/%d", GetInt(l, SOL_SOCKET, SO_RCVBUF), GetInt(l, SOL_SOCKET, SO_SNDBUF), rcvbuf, sndbuf);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  Addr la = laddr;
  if (connect(c, la.sa(), la.len) != 0) t.Fail("connect to the listener: %s", std::strerror(errno));
  pollfd p{l, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1 || accept(l, nullptr, nullptr) < 0) t.Fail("the listener does not accept");
  t.Pass();
}
