// A unix stream socketpair and a datagram socketpair keep their queued data and stay connected
// to each other; one end shared with a child keeps working from both processes.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/children.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int st[2], dg[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) != 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, dg) != 0)
    t.Fail("socketpair: %s", std::strerror(errno));
  if (write(st[0], "stream-bytes", 12) != 12) t.Fail("write stream");
  if (send(dg[0], "d1", 2, 0) != 2 || send(dg[0], "dgram2", 6, 0) != 6) t.Fail("send dgram");
  pid_t child = zdtm::ForkChild([&]() -> int {
    zdtm::MarkChildReady(t);
    while (!zdtm::Test::TermRequested()) pause();
    return write(st[1], "from-child", 10) == 10 ? 0 : 1;
  });
  std::string why;
  if (!zdtm::WaitChildReady(t, child, &why)) t.Fail("child: %s", why.c_str());

  t.Ready();
  t.WaitForTerm();

  char buf[64] = {};
  if (read(st[1], buf, 12) != 12 || memcmp(buf, "stream-bytes", 12) != 0) t.Fail("stream data lost");
  if (recv(dg[1], buf, sizeof buf, 0) != 2 || recv(dg[1], buf, sizeof buf, 0) != 6 || memcmp(buf, "dgram2", 6) != 0)
    t.Fail("datagrams lost or merged");
  if (recv(dg[1], buf, sizeof buf, 0) != -1 || errno != EAGAIN) t.Fail("extra datagram or not O_NONBLOCK");
  if (write(st[1], "back", 4) != 4 || read(st[0], buf, 4) != 4 || memcmp(buf, "back", 4) != 0) t.Fail("stream not connected");
  if (send(dg[1], "x", 1, 0) != 1 || recv(dg[0], buf, 1, 0) != 1) t.Fail("dgram pair not connected");
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) t.Fail("child could not write its shared end");
  if (read(st[0], buf, 10) != 10 || memcmp(buf, "from-child", 10) != 0) t.Fail("child's bytes lost");
  t.Pass();
}
