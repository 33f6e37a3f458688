// The sock_diag client against real sockets of this process.
#include "engine/net/sock_diag.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "engine/common/fd.h"

namespace stasis::net {
namespace {

uint32_t Inode(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

TEST(SockDiag, UnixPairShowsPeersQueueAndShutdown) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  ASSERT_EQ(::write(a.get(), "hello", 5), 5);
  ASSERT_EQ(::shutdown(a.get(), SHUT_WR), 0);

  auto diag = SockDiag::Open();
  ASSERT_TRUE(diag.ok()) << diag.error().message();
  auto da = diag->QueryUnix(Inode(a.get()));
  auto db = diag->QueryUnix(Inode(b.get()));
  ASSERT_TRUE(da.ok()) << da.error().message();
  ASSERT_TRUE(db.ok()) << db.error().message();
  EXPECT_EQ(da->peer_inode, Inode(b.get()));
  EXPECT_EQ(db->peer_inode, Inode(a.get()));
  EXPECT_EQ(da->type, SOCK_STREAM);
  EXPECT_EQ(da->state, TCP_ESTABLISHED);
  EXPECT_EQ(db->rqueue, 5u);
  EXPECT_EQ(da->shutdown, 2) << "SEND_SHUTDOWN on the side that shut writing";
  EXPECT_EQ(db->shutdown, 1) << "mirrored as RCV_SHUTDOWN on the peer";

  auto all = diag->DumpUnix();
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_TRUE(std::any_of(all->begin(), all->end(), [&](const UnixDiag& d) { return d.inode == Inode(a.get()); }));
}

TEST(SockDiag, UnixListenerShowsBacklogAndPendingConnections) {
  UniqueFd l(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const char name[] = "\0stasis-sockdiag-test";
  std::memcpy(addr.sun_path, name, sizeof name - 1);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sizeof name - 1);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(l.get(), 7), 0);
  UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);

  auto diag = SockDiag::Open();
  ASSERT_TRUE(diag.ok());
  auto dl = diag->QueryUnix(Inode(l.get()));
  ASSERT_TRUE(dl.ok()) << dl.error().message();
  EXPECT_EQ(dl->state, TCP_LISTEN);
  EXPECT_EQ(dl->name, std::string(name, sizeof name - 1));
  EXPECT_EQ(dl->rqueue, 1u);
  EXPECT_EQ(dl->wqueue, 7u);
  EXPECT_EQ(dl->icons.size(), 1u);
  auto dc = diag->QueryUnix(Inode(c.get()));
  ASSERT_TRUE(dc.ok());
  EXPECT_EQ(dc->peer_inode, 0u) << "a connection not accepted yet has no inode";

  auto missing = diag->QueryUnix(0x7ffffff0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
}

TEST(SockDiag, InetListenerAndConnectionOnLoopback) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(l.get(), 9), 0);
  socklen_t len = sizeof sin;
  ASSERT_EQ(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sin), &len), 0);
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(s.valid());

  auto diag = SockDiag::Open();
  ASSERT_TRUE(diag.ok());
  auto all = diag->DumpInet(AF_INET, IPPROTO_TCP);
  ASSERT_TRUE(all.ok()) << all.error().message();
  auto find = [&](uint32_t ino) {
    return std::find_if(all->begin(), all->end(), [&](const InetDiag& d) { return d.inode == ino; });
  };
  auto dl = find(Inode(l.get()));
  ASSERT_NE(dl, all->end());
  EXPECT_EQ(dl->state, TCP_LISTEN);
  EXPECT_EQ(dl->wqueue, 9u);
  EXPECT_EQ(dl->src_port, ntohs(sin.sin_port));
  auto ds = find(Inode(s.get()));
  ASSERT_NE(ds, all->end());
  EXPECT_EQ(ds->state, TCP_ESTABLISHED);
  EXPECT_EQ(ds->protocol, IPPROTO_TCP);
  EXPECT_TRUE(ds->has_tcp_info);
  EXPECT_GT(ds->tcpi_snd_mss, 0u);
}

}  // namespace
}  // namespace stasis::net
