// A descriptor in flight: a pipe's read end sent over a unix stream socketpair with SCM_RIGHTS
// and not received yet, the pipe holding bytes. After restore the message arrives with a
// working descriptor that reads those bytes.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int sp[2], p[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0 || pipe(p) != 0) t.Fail("socketpair/pipe: %m");
  if (write(p[1], "through the pipe", 16) != 16) t.Fail("fill the pipe");
  char payload[] = "fd";
  iovec iov{payload, 2};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  if (sendmsg(sp[0], &msg, 0) != 2) t.Fail("sendmsg SCM_RIGHTS: %m");
  close(p[0]);   // only the message holds the read end now

  t.Ready();
  t.WaitForTerm();

  char got[4] = {};
  iovec riov{got, sizeof got};
  alignas(cmsghdr) char rcontrol[CMSG_SPACE(sizeof(int))] = {};
  msghdr r{};
  r.msg_iov = &riov;
  r.msg_iovlen = 1;
  r.msg_control = rcontrol;
  r.msg_controllen = sizeof rcontrol;
  if (recvmsg(sp[1], &r, MSG_DONTWAIT) != 2 || std::memcmp(got, "fd", 2) != 0) t.Fail("the message is gone");
  cmsghdr* rc = CMSG_FIRSTHDR(&r);
  if (rc == nullptr || rc->cmsg_type != SCM_RIGHTS) t.Fail("the message arrived without its descriptor");
  int fd;
  std::memcpy(&fd, CMSG_DATA(rc), sizeof fd);
  char buf[32] = {};
  if (read(fd, buf, sizeof buf) != 16 || std::memcmp(buf, "through the pipe", 16) != 0)
    t.Fail("the descriptor does not read the pipe's bytes");
  t.Pass();
}
