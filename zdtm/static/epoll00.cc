// An epoll keeps its registrations (events, data) on a pipe, an eventfd and a socket, and
// reports readiness after the restore; an epoll at a lower fd than its targets works too.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int ep = epoll_create1(EPOLL_CLOEXEC);   // lowest fd: restored after its targets
  int p[2], sv[2];
  if (ep < 0 || pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) t.Fail("set-up");
  int efd = eventfd(0, EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0x1111;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 0x2222;
  epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = 0x3333;
  epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
  if (write(p[1], "x", 1) != 1) t.Fail("write");

  t.Ready();
  t.WaitForTerm();

  epoll_event got[8];
  int n = epoll_wait(ep, got, 8, 1000);
  if (n != 1 || got[0].data.u64 != 0x1111 || !(got[0].events & EPOLLIN)) t.Fail("pipe readiness: n=%d", n);
  uint64_t one = 1;
  if (write(efd, &one, sizeof one) != sizeof one) t.Fail("eventfd write");
  n = epoll_wait(ep, got, 8, 1000);
  bool saw_efd = false;
  for (int i = 0; i < n; ++i) saw_efd |= got[i].data.u64 == 0x2222;
  if (!saw_efd) t.Fail("eventfd registration lost");
  if (write(sv[1], "y", 1) != 1) t.Fail("socket write");
  n = epoll_wait(ep, got, 8, 1000);
  bool saw_sock = false;
  for (int i = 0; i < n; ++i) saw_sock |= got[i].data.u64 == 0x3333;
  if (!saw_sock) t.Fail("socket registration lost");
  if (!(fcntl(ep, F_GETFD) & FD_CLOEXEC)) t.Fail("epoll lost FD_CLOEXEC");
  t.Pass();
}
