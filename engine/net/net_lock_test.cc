// The network lock: the nftables element names the peer's direction of the connection, and a
// locked connection really receives nothing until it is unlocked (then the peer's
// retransmission gets through, nothing is reset).
#include "engine/net/net_lock.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>

#include "engine/common/fd.h"

namespace stasis::net {
namespace {

std::string V4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return std::string(reinterpret_cast<const char*>(&a), sizeof a);
}

std::string V6(const char* text) {
  in6_addr a{};
  inet_pton(AF_INET6, text, &a);
  return std::string(reinterpret_cast<const char*>(&a), sizeof a);
}

TEST(NetLock, ElementIsThePeersDirection) {
  TcpTuple t{AF_INET, V4("127.0.0.1"), 8080, V4("10.1.2.3"), 51000};
  auto e = LockElement(t);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(*e, "10.1.2.3 . 51000 . 127.0.0.1 . 8080");
  TcpTuple t6{AF_INET6, V6("::1"), 443, V6("fe80::1"), 40000};
  EXPECT_EQ(LockElement(t6).value(), "fe80::1 . 40000 . ::1 . 443");
}

TEST(NetLock, RefusesMalformedTuples) {
  EXPECT_FALSE(LockElement({AF_INET, V6("::1"), 1, V4("127.0.0.1"), 2}).ok());   // wrong size
  EXPECT_FALSE(LockElement({AF_INET, V4("127.0.0.1"), 0, V4("127.0.0.1"), 2}).ok());
  EXPECT_FALSE(LockElement({AF_INET, V4("127.0.0.1"), 1, V4("127.0.0.1"), 70000}).ok());
  EXPECT_FALSE(LockElement({AF_UNIX, V4("127.0.0.1"), 1, V4("127.0.0.1"), 2}).ok());
}

bool Readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

TEST(NetLock, LockedConnectionReceivesNothingUntilUnlocked) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l.get(), 1), 0);
  ASSERT_EQ(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(s.valid());

  auto tuple = TupleOfSocket(s.get(), "server");
  ASSERT_TRUE(tuple.ok()) << tuple.error().message();
  Status locked = LockConnection(*tuple, "server");
  if (!locked.ok() && locked.error().kind() == ErrorKind::kNotSupported)
    GTEST_SKIP() << locked.error().message();
  ASSERT_TRUE(locked.ok()) << locked.error().message();

  ASSERT_EQ(::send(c.get(), "x", 1, 0), 1);
  EXPECT_FALSE(Readable(s.get(), 400)) << "a segment got through the lock";
  ASSERT_TRUE(UnlockConnection(*tuple, "server").ok());
  // The client retransmits (RTO backoff: a few hundred ms, then more).
  EXPECT_TRUE(Readable(s.get(), 5000)) << "nothing arrived after the unlock";
  char b = 0;
  EXPECT_EQ(::recv(s.get(), &b, 1, 0), 1);
  EXPECT_EQ(b, 'x');
  // Unlocking twice is fine.
  EXPECT_TRUE(UnlockConnection(*tuple, "server").ok());
}

}  // namespace
}  // namespace stasis::net
