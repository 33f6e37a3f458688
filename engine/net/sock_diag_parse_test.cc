// The sock_diag parsers on hand-made netlink bytes, including every kind of truncation.
#include "engine/net/sock_diag_parse.h"

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace stasis::net {
namespace {

using Bytes = std::basic_string<uint8_t>;

std::span<const uint8_t> View(const Bytes& b) { return {b.data(), b.size()}; }

template <typename T>
void Put(Bytes* b, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b->append(p, sizeof v);
}

void PutAttr(Bytes* b, uint16_t type, const void* data, uint16_t len) {
  nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
  Put(b, a);
  b->append(static_cast<const uint8_t*>(data), len);
  while (b->size() % 4) b->push_back(0);
}

Bytes NlMessage(uint16_t type, const Bytes& body) {
  Bytes out;
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + body.size());
  h.nlmsg_type = type;
  Put(&out, h);
  out += body;
  while (out.size() % 4) out.push_back(0);
  return out;
}

Bytes UnixBody() {
  Bytes b;
  unix_diag_msg m{};
  m.udiag_family = AF_UNIX;
  m.udiag_type = SOCK_STREAM;
  m.udiag_state = TCP_LISTEN;
  m.udiag_ino = 4711;
  Put(&b, m);
  const char name[] = "\0abstract";
  PutAttr(&b, UNIX_DIAG_NAME, name, sizeof name - 1);
  uint32_t icons[] = {11, 12, 13};
  PutAttr(&b, UNIX_DIAG_ICONS, icons, sizeof icons);
  unix_diag_rqlen rq{3, 128};
  PutAttr(&b, UNIX_DIAG_RQLEN, &rq, sizeof rq);
  uint8_t shut = 2;
  PutAttr(&b, UNIX_DIAG_SHUTDOWN, &shut, 1);
  uint32_t unknown = 7;
  PutAttr(&b, 200, &unknown, sizeof unknown);  // a future attribute: ignored
  return b;
}

TEST(SockDiagParse, UnixMessageWithEveryAttribute) {
  Bytes body = UnixBody();
  auto d = ParseUnixDiag(View(body));
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->inode, 4711u);
  EXPECT_EQ(d->type, SOCK_STREAM);
  EXPECT_EQ(d->state, TCP_LISTEN);
  EXPECT_EQ(d->name, std::string("\0abstract", 9));
  EXPECT_EQ(d->icons, (std::vector<uint32_t>{11, 12, 13}));
  EXPECT_TRUE(d->has_rqlen);
  EXPECT_EQ(d->rqueue, 3u);
  EXPECT_EQ(d->wqueue, 128u);
  EXPECT_EQ(d->shutdown, 2);
  EXPECT_EQ(d->peer_inode, 0u);
}

TEST(SockDiagParse, EveryTruncationOfAUnixMessageIsAnErrorOrAPrefix) {
  Bytes body = UnixBody();
  for (size_t n = 0; n < body.size(); ++n) {
    Bytes cut = body.substr(0, n);
    auto d = ParseUnixDiag(View(cut));
    if (n < sizeof(unix_diag_msg)) EXPECT_FALSE(d.ok()) << n;
    // Longer prefixes either fail with a message or parse what is complete; never crash.
    if (!d.ok()) EXPECT_FALSE(d.error().message().empty());
  }
}

TEST(SockDiagParse, AttributeLengthBeyondTheMessageIsCorrupt) {
  Bytes body;
  unix_diag_msg m{};
  m.udiag_family = AF_UNIX;
  Put(&body, m);
  nlattr a{200, UNIX_DIAG_PEER};
  Put(&body, a);
  uint32_t peer = 5;
  Put(&body, peer);
  auto d = ParseUnixDiag(View(body));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind(), ErrorKind::kCorruption);
  EXPECT_NE(d.error().message().find("claims 200 bytes"), std::string::npos) << d.error().message();
}

TEST(SockDiagParse, WrongFamilyAndOversizedNameAreRefused) {
  Bytes body;
  unix_diag_msg m{};
  m.udiag_family = AF_INET;
  Put(&body, m);
  EXPECT_FALSE(ParseUnixDiag(View(body)).ok());

  Bytes b2;
  m.udiag_family = AF_UNIX;
  Put(&b2, m);
  std::string longname(200, 'x');
  PutAttr(&b2, UNIX_DIAG_NAME, longname.data(), static_cast<uint16_t>(longname.size()));
  EXPECT_FALSE(ParseUnixDiag(View(b2)).ok());
}

TEST(SockDiagParse, InetMessageWithTcpInfoShutdownAndV6only) {
  Bytes body;
  inet_diag_msg m{};
  m.idiag_family = AF_INET6;
  m.idiag_state = TCP_ESTABLISHED;
  m.id.idiag_sport = htons(8080);
  m.id.idiag_dport = htons(40000);
  m.id.idiag_src[3] = htonl(1);
  m.idiag_inode = 99;
  m.idiag_rqueue = 5;
  Put(&body, m);
  uint8_t shut = 1, v6only = 1, proto = IPPROTO_TCP;
  PutAttr(&body, INET_DIAG_SHUTDOWN, &shut, 1);
  PutAttr(&body, INET_DIAG_SKV6ONLY, &v6only, 1);
  PutAttr(&body, INET_DIAG_PROTOCOL, &proto, 1);
  tcp_info info{};
  info.tcpi_options = TCPI_OPT_SACK | TCPI_OPT_WSCALE;
  info.tcpi_snd_wscale = 7;
  info.tcpi_rcv_wscale = 9;
  info.tcpi_snd_mss = 65483;
  PutAttr(&body, INET_DIAG_INFO, &info, sizeof info);
  auto d = ParseInetDiag(View(body));
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->family, AF_INET6);
  EXPECT_EQ(d->src_port, 8080);
  EXPECT_EQ(d->dst_port, 40000);
  EXPECT_EQ(d->src[15], 1);
  EXPECT_EQ(d->inode, 99u);
  EXPECT_EQ(d->rqueue, 5u);
  EXPECT_TRUE(d->has_shutdown);
  EXPECT_EQ(d->shutdown, 1);
  EXPECT_TRUE(d->v6only);
  EXPECT_EQ(d->protocol, IPPROTO_TCP);
  ASSERT_TRUE(d->has_tcp_info);
  EXPECT_EQ(d->tcpi_options, TCPI_OPT_SACK | TCPI_OPT_WSCALE);
  EXPECT_EQ(d->tcpi_snd_wscale, 7);
  EXPECT_EQ(d->tcpi_rcv_wscale, 9);
  EXPECT_EQ(d->tcpi_snd_mss, 65483u);

  for (size_t n = 0; n < sizeof(inet_diag_msg); ++n) EXPECT_FALSE(ParseInetDiag(View(body.substr(0, n))).ok());
}

TEST(SockDiagParse, SplitsBatchesAndReportsDoneAndErrors) {
  Bytes batch = NlMessage(SOCK_DIAG_BY_FAMILY, UnixBody()) + NlMessage(SOCK_DIAG_BY_FAMILY, UnixBody());
  auto b = SplitDiagMessages(View(batch));
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->payloads.size(), 2u);
  EXPECT_FALSE(b->done);

  Bytes done_body;
  Put(&done_body, 0);
  batch += NlMessage(NLMSG_DONE, done_body);
  b = SplitDiagMessages(View(batch));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->done);

  Bytes err_body;
  nlmsgerr e{};
  e.error = -ENOENT;
  Put(&err_body, e);
  auto err = SplitDiagMessages(View(NlMessage(NLMSG_ERROR, err_body)));
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().sys_errno(), ENOENT);

  Bytes bad = NlMessage(SOCK_DIAG_BY_FAMILY, UnixBody());
  reinterpret_cast<nlmsghdr*>(bad.data())->nlmsg_len = 100000;
  EXPECT_FALSE(SplitDiagMessages(View(bad)).ok());
  reinterpret_cast<nlmsghdr*>(bad.data())->nlmsg_len = 3;
  EXPECT_FALSE(SplitDiagMessages(View(bad)).ok());
  EXPECT_FALSE(SplitDiagMessages(View(NlMessage(77, UnixBody()))).ok());
}

}  // namespace
}  // namespace stasis::net
