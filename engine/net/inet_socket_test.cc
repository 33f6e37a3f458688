// TCP and UDP sockets on loopback: an established connection with data in flight both ways is
// dumped in repair mode, closed without the peer noticing, restored, and keeps talking;
// listeners and UDP sockets with queued datagrams come back with their options.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "engine/net/net_test_util.h"
#include "engine/net/socket_kinds.h"

namespace stasis::net {
namespace {

using testing::DumpSockets;
using testing::Parse;
using testing::RestoreSockets;

const files::FileKind& Kind() { return InetSocketKind(); }

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
};

Addr Loopback(int family, uint16_t port = 0) {
  Addr a;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
    a.len = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    in6->sin6_port = htons(port);
    a.len = sizeof *in6;
  }
  return a;
}

Addr Name(int fd) {
  Addr a;
  a.len = sizeof a.ss;
  ::getsockname(fd, a.sa(), &a.len);
  return a;
}

// Reads exactly n bytes within a few seconds (the peer's retransmissions may take a moment).
std::string ReadN(int fd, size_t n) {
  std::string out;
  char buf[65536];
  for (int spins = 0; out.size() < n && spins < 500; ++spins) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), MSG_DONTWAIT);
    if (got < 0 && errno == EAGAIN) continue;
    if (got <= 0) {
      out += got == 0 ? "<EOF>" : "<errno " + std::to_string(errno) + ">";
      break;
    }
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7919) >> 3);
  return s;
}

void EstablishedConnectionSurvives(int family) {
  UniqueFd l(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Addr la = Loopback(family);
  ASSERT_EQ(::bind(l.get(), la.sa(), la.len), 0);
  ASSERT_EQ(::listen(l.get(), 4), 0);
  la = Name(l.get());
  UniqueFd c(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int small = 4096;  // the client's window fills up, so the server keeps unsent bytes
  ASSERT_EQ(::setsockopt(c.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  ASSERT_EQ(::connect(c.get(), la.sa(), la.len), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(s.valid());
  int one = 1;
  ASSERT_EQ(::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
  ASSERT_EQ(::setsockopt(s.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);
  ASSERT_EQ(::fcntl(s.get(), F_SETFL, O_NONBLOCK), 0);

  // Server -> client: far more than the client's window takes.
  const std::string down = Pattern(600000);
  size_t sent = 0;
  while (sent < down.size()) {
    ssize_t n = ::send(s.get(), down.data() + sent, down.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ASSERT_GT(sent, 0u);
  // Client -> server: a request the server has not read.
  const std::string up = "GET /request-1\n";
  ASSERT_EQ(::send(c.get(), up.data(), up.size(), 0), static_cast<ssize_t>(up.size()));
  ::poll(nullptr, 0, 50);

  auto dumped = DumpSockets(Kind(), {s.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  const auto e = Parse((*dumped)[0]).inet_sk();
  EXPECT_EQ(e.state(), TCP_ESTABLISHED);
  EXPECT_EQ(e.tcp().recv_queue(), up);
  EXPECT_GT(e.tcp().send_queue().size(), 0u);
  EXPECT_EQ(e.tcp().send_queue(), down.substr(sent - e.tcp().send_queue().size(), e.tcp().send_queue().size()));
  EXPECT_TRUE(e.opts().tcp_nodelay());
  EXPECT_TRUE(e.opts().keepalive());
  // Closing a socket in repair mode sends nothing: the client must not see a reset or EOF.
  s.reset();
  ::poll(nullptr, 0, 50);
  pollfd hup{c.get(), POLLRDHUP, 0};
  ASSERT_GE(::poll(&hup, 1, 0), 0);
  EXPECT_EQ(hup.revents & (POLLRDHUP | POLLHUP | POLLERR), 0) << "the client saw a FIN or a reset";

  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int r = (*fds)[0].get();
  EXPECT_EQ(::fcntl(r, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(::getsockopt(r, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
  EXPECT_EQ(v, 1);

  // Everything the server ever sent reaches the client, in order, exactly once.
  EXPECT_EQ(ReadN(c.get(), sent), down.substr(0, sent));
  EXPECT_EQ(ReadN(r, up.size()), up);
  // And the conversation goes on.
  ASSERT_EQ(::send(c.get(), "ping", 4, 0), 4);
  EXPECT_EQ(ReadN(r, 4), "ping");
  ASSERT_EQ(::send(r, "pong", 4, MSG_NOSIGNAL), 4);
  EXPECT_EQ(ReadN(c.get(), 4), "pong");
}

TEST(InetSocketKind, EstablishedTcp4WithDataInFlightBothWays) { EstablishedConnectionSurvives(AF_INET); }
TEST(InetSocketKind, EstablishedTcp6WithDataInFlightBothWays) { EstablishedConnectionSurvives(AF_INET6); }

TEST(InetSocketKind, ListenerKeepsAddressBacklogAndOptions) {
  UniqueFd l(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1, buf = 100000;
  ASSERT_EQ(::setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  ASSERT_EQ(::setsockopt(l.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one), 0);
  ASSERT_EQ(::setsockopt(l.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf), 0);
  Addr a = Loopback(AF_INET6);
  ASSERT_EQ(::bind(l.get(), a.sa(), a.len), 0);
  ASSERT_EQ(::listen(l.get(), 17), 0);
  a = Name(l.get());
  int rcvbuf = 0;
  socklen_t len = sizeof rcvbuf;
  ASSERT_EQ(::getsockopt(l.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);

  auto dumped = DumpSockets(Kind(), {l.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_EQ(Parse((*dumped)[0]).inet_sk().backlog(), 17u);
  l.reset();
  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int r = (*fds)[0].get();
  Addr ra = Name(r);
  EXPECT_EQ(ra.len, a.len);
  EXPECT_EQ(std::memcmp(&ra.ss, &a.ss, a.len), 0) << "same address and port";
  int v = 0;
  len = sizeof v;
  ASSERT_EQ(::getsockopt(r, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(::getsockopt(r, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(::getsockopt(r, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
  EXPECT_EQ(v, rcvbuf) << "the doubled size, not doubled again";
  UniqueFd c(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), a.sa(), a.len), 0);
  UniqueFd s(::accept4(r, nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(s.valid());
}

TEST(InetSocketKind, ListenerWithUnacceptedConnectionIsRefusedClearly) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Addr a = Loopback(AF_INET);
  ASSERT_EQ(::bind(l.get(), a.sa(), a.len), 0);
  ASSERT_EQ(::listen(l.get(), 4), 0);
  a = Name(l.get());
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), a.sa(), a.len), 0);
  auto dumped = DumpSockets(Kind(), {l.get()});
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error().message().find("not accepted"), std::string::npos) << dumped.error().message();
}

void UdpQueueKeepsSources(int family) {
  UniqueFd r(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  Addr ra = Loopback(family);
  ASSERT_EQ(::bind(r.get(), ra.sa(), ra.len), 0);
  ra = Name(r.get());
  UniqueFd s1(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  UniqueFd s2(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  Addr any = Loopback(family);
  ASSERT_EQ(::bind(s1.get(), any.sa(), any.len), 0);
  ASSERT_EQ(::bind(s2.get(), any.sa(), any.len), 0);
  ASSERT_EQ(::sendto(s1.get(), "first", 5, 0, ra.sa(), ra.len), 5);
  ASSERT_EQ(::sendto(s2.get(), "", 0, 0, ra.sa(), ra.len), 0);
  const std::string big = Pattern(40000);
  ASSERT_EQ(::sendto(s1.get(), big.data(), big.size(), 0, ra.sa(), ra.len), static_cast<ssize_t>(big.size()));

  auto dumped = DumpSockets(Kind(), {r.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  ASSERT_EQ(Parse((*dumped)[0]).inet_sk().queue_size(), 3);
  r.reset();
  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  const int fd = (*fds)[0].get();

  auto recv_from = [&](Addr* from) {
    std::string buf(65536, '\0');
    from->len = sizeof from->ss;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, from->sa(), &from->len);
    buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return n < 0 ? std::string("<errno>") : buf;
  };
  auto same = [](const Addr& a, const Addr& b) { return a.len == b.len && std::memcmp(&a.ss, &b.ss, a.len) == 0; };
  Addr from;
  EXPECT_EQ(recv_from(&from), "first");
  EXPECT_TRUE(same(from, Name(s1.get()))) << "source address and port kept";
  // The restored server answers the sender of the requeued datagram, and it arrives.
  ASSERT_EQ(::sendto(fd, "answer", 6, 0, from.sa(), from.len), 6);
  char buf[16];
  pollfd p{s1.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_EQ(::recv(s1.get(), buf, sizeof buf, 0), 6);
  EXPECT_EQ(recv_from(&from), "");
  EXPECT_TRUE(same(from, Name(s2.get())));
  EXPECT_EQ(recv_from(&from), big);
  EXPECT_EQ(recv_from(&from), "<errno>") << "nothing more";
}

TEST(InetSocketKind, Udp4QueueKeepsBoundariesAndSources) { UdpQueueKeepsSources(AF_INET); }
TEST(InetSocketKind, Udp6QueueKeepsBoundariesAndSources) { UdpQueueKeepsSources(AF_INET6); }

TEST(InetSocketKind, ConnectedUdpStaysConnected) {
  UniqueFd peer(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  Addr pa = Loopback(AF_INET);
  ASSERT_EQ(::bind(peer.get(), pa.sa(), pa.len), 0);
  pa = Name(peer.get());
  UniqueFd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(u.get(), pa.sa(), pa.len), 0);
  Addr ua = Name(u.get());
  ASSERT_EQ(::sendto(peer.get(), "queued", 6, 0, ua.sa(), ua.len), 6);
  auto dumped = DumpSockets(Kind(), {u.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  u.reset();
  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  char buf[16];
  EXPECT_EQ(::recv((*fds)[0].get(), buf, sizeof buf, MSG_DONTWAIT), 6);
  ASSERT_EQ(::send((*fds)[0].get(), "hi", 2, 0), 2) << "connected: send without an address";
  EXPECT_EQ(::recv(peer.get(), buf, sizeof buf, 0), 2);
}

TEST(InetSocketKind, CorruptEntriesAreRefused) {
  files::ObjectStore objects = *files::ObjectStore::Parse({});
  img::FileEntry e;
  auto* s = e.mutable_inet_sk();
  s->set_family(AF_INET);
  s->set_type(SOCK_STREAM);
  s->set_protocol(IPPROTO_TCP);
  s->set_state(TCP_ESTABLISHED);
  EXPECT_FALSE(Kind().Validate(e, objects).ok()) << "established without repair state";
  s->set_state(TCP_LISTEN);
  s->set_src_addr("abc");
  EXPECT_FALSE(Kind().Validate(e, objects).ok()) << "3-byte address";
  s->set_src_addr(std::string(4, '\0'));
  s->set_src_port(70000);
  EXPECT_FALSE(Kind().Validate(e, objects).ok()) << "port out of range";
  s->set_src_port(80);
  EXPECT_TRUE(Kind().Validate(e, objects).ok());
  s->set_family(AF_PACKET);
  EXPECT_FALSE(Kind().Validate(e, objects).ok());
}

}  // namespace
}  // namespace stasis::net
