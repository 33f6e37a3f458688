// Unix stream socketpairs in every shutdown state (SHUT_RD, SHUT_WR, SHUT_RDWR on one end),
// with bytes queued both ways before the shutdown. After restore each end reads what was
// queued for it and then sees EOF where its direction is shut, and writes fail with EPIPE
// exactly where they did before the dump.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

struct Case {
  int how;
  const char* name;
  int fd[2];
};

// Reads what is queued (non-blocking); "EOF" when the read side is shut and empty.
std::string Drain(int fd) {
  char buf[64];
  const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n > 0) return std::string(buf, static_cast<size_t>(n));
  if (n == 0) return "EOF";
  return errno == EAGAIN ? "EAGAIN" : std::string("error ") + std::strerror(errno);
}

std::string TryWrite(int fd) {
  const ssize_t n = send(fd, "z", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n == 1) return "ok";
  return errno == EPIPE ? "EPIPE" : std::string("error ") + std::strerror(errno);
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  Case cases[] = {{SHUT_RD, "SHUT_RD", {-1, -1}}, {SHUT_WR, "SHUT_WR", {-1, -1}}, {SHUT_RDWR, "SHUT_RDWR", {-1, -1}}};
  for (Case& c : cases) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd) != 0) t.Fail("socketpair: %m");
    if (write(c.fd[0], "to-1", 4) != 4 || write(c.fd[1], "to-0", 4) != 4) t.Fail("%s: queue bytes", c.name);
    if (shutdown(c.fd[0], c.how) != 0) t.Fail("%s: shutdown: %m", c.name);
  }

  t.Ready();
  t.WaitForTerm();

  for (Case& c : cases) {
    const bool rd = c.how != SHUT_WR, wr = c.how != SHUT_RD;
    // Queued bytes are delivered whatever the shutdown; then EOF where the data cannot come any more.
    std::string got0 = Drain(c.fd[0]), got1 = Drain(c.fd[1]);
    if (got0 != "to-0") t.Fail("%s: end 0 read '%s', want 'to-0'", c.name, got0.c_str());
    if (got1 != "to-1") t.Fail("%s: end 1 read '%s', want 'to-1'", c.name, got1.c_str());
    got0 = Drain(c.fd[0]);
    got1 = Drain(c.fd[1]);
    // End 0 read-shut: EOF. End 0 write-shut: end 1 sees EOF.
    if (got0 != (rd ? "EOF" : "EAGAIN")) t.Fail("%s: end 0 then reads '%s'", c.name, got0.c_str());
    if (got1 != (wr ? "EOF" : "EAGAIN")) t.Fail("%s: end 1 then reads '%s'", c.name, got1.c_str());
    const std::string w0 = TryWrite(c.fd[0]), w1 = TryWrite(c.fd[1]);
    if (w0 != (wr ? "EPIPE" : "ok")) t.Fail("%s: end 0 writes: %s", c.name, w0.c_str());
    if (w1 != (rd ? "EPIPE" : "ok")) t.Fail("%s: end 1 writes: %s", c.name, w1.c_str());
  }
  t.Pass();
}
