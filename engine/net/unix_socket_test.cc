// Unix sockets on real kernel objects: pairs, listeners with pending connections, datagram
// receivers, closed peers; queued data, boundaries and shutdown survive a round trip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "engine/net/net_test_util.h"
#include "engine/net/socket_kinds.h"

namespace stasis::net {
namespace {

using testing::DumpSockets;
using testing::Parse;
using testing::RestoreSockets;

const files::FileKind& Kind() { return UnixSocketKind(); }

std::string Recv(int fd, int flags = MSG_DONTWAIT) {
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, flags);
  if (n < 0) return "<errno " + std::to_string(errno) + ">";
  return std::string(buf, static_cast<size_t>(n));
}

struct Pair {
  UniqueFd a, b;
  explicit Pair(int type) {
    int sv[2];
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0) a.reset(sv[0]), b.reset(sv[1]);
  }
};

sockaddr_un Addr(const std::string& name, socklen_t* len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  return a;
}

TEST(UnixSocketKind, StreamPairKeepsQueuesBothWaysAndShutdown) {
  Pair p(SOCK_STREAM);
  ASSERT_TRUE(p.a.valid());
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(::fcntl(p.a.get(), F_SETFL, O_NONBLOCK), 0);
  ASSERT_EQ(::send(p.a.get(), "hello ", 6, 0), 6);
  ASSERT_EQ(::send(p.a.get(), "world", 5, 0), 5);
  ASSERT_EQ(::send(p.b.get(), big.data(), 100000, 0), 100000);
  ASSERT_EQ(::shutdown(p.a.get(), SHUT_WR), 0);

  auto dumped = DumpSockets(Kind(), {p.a.get(), p.b.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  // Peeking took nothing away.
  EXPECT_EQ(Recv(p.b.get()), "hello world");
  auto ea = Parse((*dumped)[0]).unix_sk();
  EXPECT_TRUE(ea.peer_mutual());
  EXPECT_EQ(ea.shutdown(), 2u);
  p.a.reset();
  p.b.reset();

  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0, 1}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(exchange.size(), 0u) << "the second end and its sender were taken";
  int a = (*fds)[0].get(), b = (*fds)[1].get();
  EXPECT_EQ(::fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(::fcntl(b, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(Recv(b), "hello world");
  EXPECT_EQ(Recv(b), "") << "EOF: a had shut down writing";
  std::string got;
  while (got.size() < 100000) {
    std::string part = Recv(a);
    if (part.empty() || part[0] == '<') break;
    got += part;
  }
  EXPECT_EQ(got, big.substr(0, 100000));
  EXPECT_LT(::send(a, "x", 1, MSG_NOSIGNAL), 0) << "a still cannot write";
  EXPECT_EQ(::send(b, "back", 4, 0), 4);
  EXPECT_EQ(Recv(a), "back");
}

TEST(UnixSocketKind, DatagramAndSeqpacketPairsKeepMessageBoundaries) {
  for (int type : {SOCK_DGRAM, SOCK_SEQPACKET}) {
    SCOPED_TRACE(type);
    Pair p(type);
    ASSERT_TRUE(p.a.valid());
    for (const char* m : {"one", "", "three33"}) ASSERT_EQ(::send(p.a.get(), m, strlen(m), 0), (ssize_t)strlen(m));
    ASSERT_EQ(::send(p.b.get(), "reply", 5, 0), 5);
    auto dumped = DumpSockets(Kind(), {p.a.get(), p.b.get()});
    ASSERT_TRUE(dumped.ok()) << dumped.error().message();
    EXPECT_EQ(Parse((*dumped)[1]).unix_sk().queue_size(), 3);
    p.a.reset();
    p.b.reset();

    files::LocalFdExchange exchange;
    auto fds = RestoreSockets(Kind(), *dumped, {1, 0}, exchange);  // the other end first this time
    ASSERT_TRUE(fds.ok()) << fds.error().message();
    int a = (*fds)[0].get(), b = (*fds)[1].get();
    EXPECT_EQ(Recv(b), "one");
    EXPECT_EQ(Recv(b), "") << "the empty message is a message too";
    EXPECT_EQ(Recv(b), "three33");
    EXPECT_EQ(Recv(a), "reply");
    int t = 0;
    socklen_t len = sizeof t;
    ASSERT_EQ(::getsockopt(a, SOL_SOCKET, SO_TYPE, &t, &len), 0);
    EXPECT_EQ(t, type);
  }
}

TEST(UnixSocketKind, PathListenerWithPendingConnectionAndStaleSocketFile) {
  char dir[] = "/tmp/stasis-unix-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/listen.sock";
  socklen_t len;
  sockaddr_un addr = Addr(path, &len);
  UniqueFd l(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(l.get(), 5), 0);
  UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);

  auto dumped = DumpSockets(Kind(), {l.get(), c.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_EQ(Parse((*dumped)[0]).unix_sk().backlog(), 5u);
  EXPECT_TRUE(Parse((*dumped)[1]).unix_sk().pending());
  l.reset();
  c.reset();
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0) << "the stale socket file is still there";

  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0, 1}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  UniqueFd s(::accept4((*fds)[0].get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  ASSERT_TRUE(s.valid()) << "the pending connection is back in the accept queue";
  EXPECT_EQ(::send((*fds)[1].get(), "req", 3, 0), 3);
  EXPECT_EQ(Recv(s.get()), "req");
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(UnixSocketKind, BoundDatagramReceiverAndConnectedSender) {
  const std::string name = std::string("\0stasis-dgram-", 14) + std::to_string(::getpid());
  socklen_t len;
  sockaddr_un addr = Addr(name, &len);
  UniqueFd r(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::bind(r.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::send(s.get(), "d1", 2, 0), 2);
  UniqueFd other(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::sendto(other.get(), "d2-longer", 9, 0, reinterpret_cast<sockaddr*>(&addr), len), 9);

  auto dumped = DumpSockets(Kind(), {r.get(), s.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_FALSE(Parse((*dumped)[1]).unix_sk().peer_mutual());
  r.reset();
  s.reset();

  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0, 1}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(Recv((*fds)[0].get()), "d1");
  EXPECT_EQ(Recv((*fds)[0].get()), "d2-longer");
  EXPECT_EQ(::send((*fds)[1].get(), "d3", 2, 0), 2) << "the sender is connected to the receiver again";
  EXPECT_EQ(Recv((*fds)[0].get()), "d3");
}

TEST(UnixSocketKind, ClosedPeerGivesQueuedDataThenEof) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(::send(p.a.get(), "last words", 10, 0), 10);
  p.a.reset();
  auto dumped = DumpSockets(Kind(), {p.b.get()});
  ASSERT_TRUE(dumped.ok()) << dumped.error().message();
  EXPECT_TRUE(Parse((*dumped)[0]).unix_sk().peer_gone());
  p.b.reset();
  files::LocalFdExchange exchange;
  auto fds = RestoreSockets(Kind(), *dumped, {0}, exchange);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(Recv((*fds)[0].get()), "last words");
  EXPECT_EQ(Recv((*fds)[0].get()), "");
  EXPECT_EQ(exchange.size(), 0u);
}

TEST(UnixSocketKind, DescriptorsInFlightAreRefusedClearly) {
  Pair p(SOCK_DGRAM);
  int passed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(passed, 0);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &passed, sizeof passed);
  ASSERT_EQ(::sendmsg(p.a.get(), &msg, 0), 1);
  ::close(passed);

  auto dumped = DumpSockets(Kind(), {p.b.get()});
  ASSERT_FALSE(dumped.ok());
  EXPECT_EQ(dumped.error().kind(), ErrorKind::kNotSupported);
  EXPECT_NE(dumped.error().message().find("SCM_RIGHTS"), std::string::npos) << dumped.error().message();
  EXPECT_EQ(Recv(p.b.get()), "x") << "the message is still queued";
}

TEST(UnixSocketKind, CorruptEntriesAreRefusedBeforeAnySyscall) {
  img::FileEntry e;
  auto* u = e.mutable_unix_sk();
  u->set_inode(1);
  u->set_type(77);
  files::ObjectStore objects = *files::ObjectStore::Parse({});
  EXPECT_FALSE(Kind().Validate(e, objects).ok());
  u->set_type(SOCK_STREAM);
  u->set_state(TCP_LISTEN);
  EXPECT_FALSE(Kind().Validate(e, objects).ok()) << "listening but unnamed";
  u->set_name(std::string(200, 'x'));
  EXPECT_FALSE(Kind().Validate(e, objects).ok()) << "name too long";
  u->set_name("/tmp/x");
  u->set_shutdown(9);
  EXPECT_FALSE(Kind().Validate(e, objects).ok());
  u->set_shutdown(0);
  EXPECT_TRUE(Kind().Validate(e, objects).ok());
}

}  // namespace
}  // namespace stasis::net
