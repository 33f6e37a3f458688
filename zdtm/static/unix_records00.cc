// Unix sockets whose messages have boundaries: a SOCK_SEQPACKET socketpair and an accepted
// SOCK_SEQPACKET connection with records queued both ways, a SOCK_DGRAM socket bound to a path
// and one bound to an abstract name, each with datagrams queued from other sockets, and a
// datagram socket connected to the path-bound one. After restore every record and datagram
// comes back whole, in order, and the connected socket still reaches its peer.
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "zdtm/lib/zdtm.h"

namespace {

socklen_t Addr(const std::string& name, bool abstract, sockaddr_un* a) {
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  const size_t off = abstract ? 1 : 0;
  std::memcpy(a->sun_path + off, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off + name.size() + (abstract ? 0 : 1));
}

// Sizes that cannot be told apart if boundaries are lost or messages merged.
const std::vector<std::string>& Messages(char tag) {
  static std::vector<std::string> m[256];
  std::vector<std::string>& v = m[static_cast<unsigned char>(tag)];
  if (v.empty())
    for (size_t len : {1u, 7u, 300u, 4096u, 65u}) v.push_back(std::string(len, tag));
  return v;
}

bool SendAll(int fd, char tag, const sockaddr_un* to, socklen_t to_len) {
  for (const std::string& s : Messages(tag))
    if (sendto(fd, s.data(), s.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(to), to_len) !=
        static_cast<ssize_t>(s.size()))
      return false;
  return true;
}

// Receives the queued messages of tag one by one and checks each; empty string when all match.
std::string ExpectAll(int fd, char tag) {
  char buf[8192];
  for (const std::string& want : Messages(tag)) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return "message of " + std::to_string(want.size()) + " bytes missing: " + std::strerror(errno);
    if (static_cast<size_t>(n) != want.size() || std::memcmp(buf, want.data(), want.size()) != 0)
      return "got " + std::to_string(n) + " bytes where a message of " + std::to_string(want.size()) + " was";
  }
  if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) return "an extra message";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const std::string path = t.outfile() + ".dgram";
  const std::string abstract = "stasis-zdtm-unix-records00-" + std::to_string(getpid());
  unlink(path.c_str());

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) != 0) t.Fail("seqpacket socketpair: %m");
  if (!SendAll(sp[0], 'a', nullptr, 0) || !SendAll(sp[1], 'b', nullptr, 0)) t.Fail("queue seqpacket records: %m");

  sockaddr_un la;
  const socklen_t la_len = Addr(abstract + "-listen", true, &la);
  int l = socket(AF_UNIX, SOCK_SEQPACKET, 0), c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  if (bind(l, reinterpret_cast<sockaddr*>(&la), la_len) != 0 || listen(l, 4) != 0) t.Fail("seqpacket listen: %m");
  if (connect(c, reinterpret_cast<sockaddr*>(&la), la_len) != 0) t.Fail("seqpacket connect: %m");
  int s = accept(l, nullptr, nullptr);
  if (s < 0) t.Fail("seqpacket accept: %m");
  if (!SendAll(c, 'c', nullptr, 0) || !SendAll(s, 'd', nullptr, 0)) t.Fail("queue accepted records: %m");

  sockaddr_un pa, aa;
  const socklen_t pa_len = Addr(path, false, &pa), aa_len = Addr(abstract, true, &aa);
  int dp = socket(AF_UNIX, SOCK_DGRAM, 0), da = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (bind(dp, reinterpret_cast<sockaddr*>(&pa), pa_len) != 0) t.Fail("bind %s: %m", path.c_str());
  if (bind(da, reinterpret_cast<sockaddr*>(&aa), aa_len) != 0) t.Fail("bind @%s: %m", abstract.c_str());
  int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (!SendAll(sender, 'e', &pa, pa_len) || !SendAll(sender, 'f', &aa, aa_len)) t.Fail("queue datagrams: %m");
  close(sender);
  int connected = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (connect(connected, reinterpret_cast<sockaddr*>(&pa), pa_len) != 0) t.Fail("connect dgram: %m");

  t.Ready();
  t.WaitForTerm();

  std::string why;
  if (!(why = ExpectAll(sp[1], 'a')).empty()) t.Fail("seqpacket pair, end 1: %s", why.c_str());
  if (!(why = ExpectAll(sp[0], 'b')).empty()) t.Fail("seqpacket pair, end 0: %s", why.c_str());
  if (!(why = ExpectAll(s, 'c')).empty()) t.Fail("accepted seqpacket: %s", why.c_str());
  if (!(why = ExpectAll(c, 'd')).empty()) t.Fail("connecting seqpacket: %s", why.c_str());
  if (!(why = ExpectAll(dp, 'e')).empty()) t.Fail("path-bound dgram: %s", why.c_str());
  if (!(why = ExpectAll(da, 'f')).empty()) t.Fail("abstract dgram: %s", why.c_str());
  // Still connected: a send without an address reaches the path-bound socket.
  if (send(connected, "after", 5, MSG_DONTWAIT) != 5) t.Fail("connected dgram send: %m");
  char buf[16] = {};
  if (recv(dp, buf, sizeof buf, MSG_DONTWAIT) != 5 || std::memcmp(buf, "after", 5) != 0)
    t.Fail("the connected dgram socket no longer reaches its peer");
  // And the pairs still carry records both ways.
  if (send(sp[0], "x", 1, 0) != 1 || recv(sp[1], buf, sizeof buf, MSG_DONTWAIT) != 1) t.Fail("seqpacket pair after restore");
  if (send(s, "yy", 2, 0) != 2 || recv(c, buf, sizeof buf, MSG_DONTWAIT) != 2) t.Fail("accepted seqpacket after restore");
  unlink(path.c_str());
  t.Pass();
}
