// Unaccepted unix connections whose listener is restored after its client: the listeners live
// in a child (restored after the parent, which holds the clients) and, inside that child, a
// third listener sits at a higher fd than its own client. After restore each connection is
// still waiting in its backlog; the child accepts them and reads what the clients send.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "zdtm/lib/children.h"
#include "zdtm/lib/zdtm.h"

namespace {

socklen_t Addr(const std::string& name, bool abstract, sockaddr_un* a) {
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  const size_t off = abstract ? 1 : 0;
  std::memcpy(a->sun_path + off, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off + name.size() + (abstract ? 0 : 1));
}

int Listen(const sockaddr_un& a, socklen_t len) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(l, reinterpret_cast<const sockaddr*>(&a), len) != 0 || listen(l, 8) != 0)
    zdtm::ChildFail("listen: %s", std::strerror(errno));
  return l;
}

// Accepts one connection and checks it carries exactly `want`.
void AcceptAndRead(int listener, const char* want, const char* which) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) zdtm::ChildFail("%s: the pending connection was lost", which);
  int s = accept(listener, nullptr, nullptr);
  if (s < 0) zdtm::ChildFail("%s: accept: %s", which, std::strerror(errno));
  char buf[32] = {};
  pollfd q{s, POLLIN, 0};
  if (poll(&q, 1, 5000) != 1) zdtm::ChildFail("%s: nothing to read", which);
  const ssize_t n = read(s, buf, sizeof buf);
  if (n != static_cast<ssize_t>(std::strlen(want)) || std::memcmp(buf, want, n) != 0)
    zdtm::ChildFail("%s: read %zd bytes '%.*s', want '%s'", which, n, static_cast<int>(n > 0 ? n : 0), buf, want);
  fcntl(listener, F_SETFL, O_NONBLOCK);
  if (accept(listener, nullptr, nullptr) >= 0 || errno != EAGAIN) zdtm::ChildFail("%s: an extra connection", which);
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const std::string path = t.outfile() + ".sock", own_path = t.outfile() + ".own.sock";
  const std::string abstract = "stasis-zdtm-unix-listen01-" + std::to_string(getpid());
  unlink(path.c_str());
  unlink(own_path.c_str());
  sockaddr_un pa, aa, oa;
  const socklen_t plen = Addr(path, false, &pa), alen = Addr(abstract, true, &aa), olen = Addr(own_path, false, &oa);
  // The parent's clients exist before the child and its listeners do: lower fds, earlier process.
  const int cp = socket(AF_UNIX, SOCK_STREAM, 0), ca = socket(AF_UNIX, SOCK_STREAM, 0);

  int ready[2];
  if (pipe(ready) != 0) t.Fail("pipe");
  pid_t child = zdtm::ForkChild([&]() -> int {
    close(cp);
    close(ca);
    close(ready[0]);
    const int own_client = socket(AF_UNIX, SOCK_STREAM, 0);   // below its listener
    const int lp = Listen(pa, plen), la = Listen(aa, alen), lo = Listen(oa, olen);
    if (connect(own_client, reinterpret_cast<const sockaddr*>(&oa), olen) != 0) zdtm::ChildFail("connect own");
    if (write(ready[1], "l", 1) != 1) zdtm::ChildFail("ready pipe");
    close(ready[1]);
    zdtm::MarkChildReady(t);
    while (!zdtm::Test::TermRequested()) pause();
    if (write(own_client, "own", 3) != 3) zdtm::ChildFail("write own: %s", std::strerror(errno));
    AcceptAndRead(lp, "by-path", "path listener");
    AcceptAndRead(la, "by-abstract", "abstract listener");
    AcceptAndRead(lo, "own", "the child's own listener");
    return 0;
  });
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) t.Fail("the child did not listen");
  close(ready[0]);
  if (connect(cp, reinterpret_cast<sockaddr*>(&pa), plen) != 0) t.Fail("connect by path: %s", std::strerror(errno));
  if (connect(ca, reinterpret_cast<sockaddr*>(&aa), alen) != 0) t.Fail("connect by abstract name: %s", std::strerror(errno));
  std::string why;
  if (!zdtm::WaitChildReady(t, child, &why)) t.Fail("child: %s", why.c_str());

  t.Ready();
  t.WaitForTerm();

  if (write(cp, "by-path", 7) != 7) t.Fail("write by path: %s", std::strerror(errno));
  if (write(ca, "by-abstract", 11) != 11) t.Fail("write by abstract name: %s", std::strerror(errno));
  why = zdtm::TermAndReap({child});
  if (!why.empty()) t.Fail("%s", why.c_str());
  unlink(path.c_str());
  unlink(own_path.c_str());
  t.Pass();
}
