// A unix stream listener bound to a path and one bound to an abstract name, each with a
// connection in its backlog that nobody accepted yet; the clients live in a child process and
// connected by path and by abstract name. After restore both connections are still waiting in
// the backlogs, the parent accepts them and reads what the clients send.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
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

// Accepts one connection within a few seconds, or -1.
int AcceptOne(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return -1;
  return accept(listener, nullptr, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const std::string path = t.outfile() + ".sock";
  const std::string abstract = "stasis-zdtm-unix-listen00-" + std::to_string(getpid());
  unlink(path.c_str());
  sockaddr_un pa, aa;
  const socklen_t plen = Addr(path, false, &pa), alen = Addr(abstract, true, &aa);
  int lp = socket(AF_UNIX, SOCK_STREAM, 0), la = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(lp, reinterpret_cast<sockaddr*>(&pa), plen) != 0 || listen(lp, 8) != 0)
    t.Fail("listen on %s: %s", path.c_str(), std::strerror(errno));
  if (bind(la, reinterpret_cast<sockaddr*>(&aa), alen) != 0 || listen(la, 8) != 0)
    t.Fail("listen on @%s: %s", abstract.c_str(), std::strerror(errno));

  pid_t child = zdtm::ForkChild([&]() -> int {
    close(lp);
    close(la);
    int cp = socket(AF_UNIX, SOCK_STREAM, 0), ca = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(cp, reinterpret_cast<sockaddr*>(&pa), plen) != 0) zdtm::ChildFail("connect by path");
    if (connect(ca, reinterpret_cast<sockaddr*>(&aa), alen) != 0) zdtm::ChildFail("connect by abstract name");
    zdtm::MarkChildReady(t);
    while (!zdtm::Test::TermRequested()) pause();
    if (write(cp, "by-path", 7) != 7) zdtm::ChildFail("write by path: %s", std::strerror(errno));
    if (write(ca, "by-abstract", 11) != 11) zdtm::ChildFail("write by abstract name: %s", std::strerror(errno));
    return 0;
  });
  std::string why;
  if (!zdtm::WaitChildReady(t, child, &why)) t.Fail("child: %s", why.c_str());

  t.Ready();
  t.WaitForTerm();

  why = zdtm::TermAndReap({child});
  if (!why.empty()) t.Fail("%s", why.c_str());
  const int sp = AcceptOne(lp), sa = AcceptOne(la);
  if (sp < 0 || sa < 0) t.Fail("a pending connection was lost (path %d, abstract %d)", sp, sa);
  char buf[32] = {};
  if (read(sp, buf, sizeof buf) != 7 || std::memcmp(buf, "by-path", 7) != 0) t.Fail("bytes by path lost");
  if (read(sa, buf, sizeof buf) != 11 || std::memcmp(buf, "by-abstract", 11) != 0) t.Fail("bytes by abstract name lost");
  fcntl(lp, F_SETFL, O_NONBLOCK);
  if (accept(lp, nullptr, nullptr) >= 0 || errno != EAGAIN) t.Fail("an extra connection in the backlog");
  unlink(path.c_str());
  t.Pass();
}
