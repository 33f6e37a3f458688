// An established TCP connection (IPv4 and IPv6) whose peer, in another process tree, never
// stops talking: it sends a numbered line every 10 ms while the server is dumped, killed and
// restored. The segments it sends while no socket owns the connection must be held back (the
// network lock) rather than answered with a reset; after restore every line arrives exactly
// once and in order, and the peer gets its answer. Needs --tcp-established.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "zdtm/lib/inet.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr int kFamilies[] = {AF_INET, AF_INET6};
constexpr int kConns = 2;
// The client, in its own session outside the dumped tree. Reports only through the connections
// (and the outfile, through ChildFail).
[[noreturn]] void Client(const int* listeners, const uint16_t* ports, const std::string& go_file) {
  setsid();
  for (int i = 0; i < kConns; ++i) close(listeners[i]);
  const double deadline = zdtm::MonotonicNow() + 50;
  int fds[kConns];
  for (int i = 0; i < kConns; ++i) {
    fds[i] = socket(kFamilies[i], SOCK_STREAM, 0);
    sockaddr_storage ss;
    socklen_t len = zdtm::LoopbackAddress(kFamilies[i], ports[i], &ss);
    if (connect(fds[i], reinterpret_cast<sockaddr*>(&ss), len) != 0) zdtm::ChildFail("client connect %d", i);
  }
  struct stat st;
  unsigned n = 0;
  for (; stat(go_file.c_str(), &st) != 0; ++n) {
    if (zdtm::MonotonicNow() > deadline) _exit(1);
    char line[32];
    std::snprintf(line, sizeof line, "ping %06u\n", n);
    for (int i = 0; i < kConns; ++i)
      if (!zdtm::SendAll(fds[i], line, deadline)) zdtm::ChildFail("client: connection %d broke at ping %u: %s", i, n, std::strerror(errno));
    usleep(10 * 1000);
  }
  char stop[32];
  std::snprintf(stop, sizeof stop, "stop %06u\n", n);
  for (int i = 0; i < kConns; ++i) {
    if (!zdtm::SendAll(fds[i], stop, deadline)) zdtm::ChildFail("client: connection %d: stop", i);
    if (!zdtm::ExpectBytes(fds[i], "ok\n", deadline)) zdtm::ChildFail("client: connection %d: no answer after restore", i);
    close(fds[i]);
  }
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int listeners[kConns], conns[kConns];
  uint16_t ports[kConns];
  for (int i = 0; i < kConns; ++i) {
    listeners[i] = socket(kFamilies[i], SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listeners[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss;
    socklen_t len = zdtm::LoopbackAddress(kFamilies[i], 0, &ss);
    if (bind(listeners[i], reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(listeners[i], 4) != 0)
      t.Fail("listen (family %d): %s", kFamilies[i], std::strerror(errno));
    ports[i] = zdtm::LocalPort(listeners[i]);
  }
  const std::string go_file = t.outfile() + ".go";
  unlink(go_file.c_str());
  pid_t middle = fork();
  if (middle < 0) t.Fail("fork: %s", std::strerror(errno));
  if (middle == 0) {
    pid_t client = fork();
    if (client == 0) Client(listeners, ports, go_file);
    _exit(client > 0 ? 0 : 1);
  }
  int status = 0;
  if (waitpid(middle, &status, 0) != middle || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    t.Fail("could not start the client");
  for (int i = 0; i < kConns; ++i) {
    conns[i] = accept(listeners[i], nullptr, nullptr);
    if (conns[i] < 0) t.Fail("accept: %s", std::strerror(errno));
  }
  // The pings pile up unread in the receive queues from here on.
  t.Ready();
  t.WaitForTerm();

  int go = open(go_file.c_str(), O_WRONLY | O_CREAT, 0600);
  if (go < 0) t.Fail("create %s: %s", go_file.c_str(), std::strerror(errno));
  close(go);
  const double deadline = zdtm::MonotonicNow() + 40;
  for (int i = 0; i < kConns; ++i) {
    for (unsigned want = 0;; ++want) {
      char line[16] = {};
      if (!zdtm::ReadExactly(conns[i], line, 12, deadline)) t.Fail("connection %d: line %u lost", i, want);
      char expect[16];
      std::snprintf(expect, sizeof expect, "ping %06u\n", want);
      if (std::memcmp(line, expect, 12) == 0) continue;
      std::snprintf(expect, sizeof expect, "stop %06u\n", want);
      if (std::memcmp(line, expect, 12) != 0) t.Fail("connection %d: got '%.11s' where line %u belongs", i, line, want);
      zdtm::Log("connection %d: %u pings in order", i, want);
      break;
    }
    if (!zdtm::SendAll(conns[i], "ok\n", deadline)) t.Fail("connection %d: answer", i);
  }
  // The client exits after its answers; a reset it saw shows up as its FAIL line.
  usleep(200 * 1000);
  unlink(go_file.c_str());
  t.Pass();
}
