// An established TCP connection (IPv4 and IPv6, loopback) whose server is this test and whose
// client lives in another process tree (double fork + setsid: it is not dumped). At dump time
// bytes are queued both ways: a request the server has not read and a bulk reply the client has
// not read (its tiny receive buffer keeps most of it in the server's send queue). After restore
// the server reads the queued request, the client reads the whole bulk in order, sends its next
// request on the same connection and gets its answer. Needs --tcp-established.
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
#include <cstring>
#include <string>

#include "zdtm/lib/inet.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr int kFamilies[] = {AF_INET, AF_INET6};
constexpr int kConns = 2;
constexpr size_t kBulk = 256 * 1024;

char BulkByte(size_t i) { return static_cast<char>('a' + (i * 7 + i / 13) % 26); }

// The client, in its own session outside the dumped tree. Reports only through the connections.
[[noreturn]] void Client(const int* listeners, const uint16_t* ports, const std::string& go_file) {
  setsid();
  // The listeners belong to the server: a copy here would keep their ports busy at restore.
  for (int i = 0; i < kConns; ++i) close(listeners[i]);
  const double deadline = zdtm::MonotonicNow() + 50;
  int fds[kConns];
  for (int i = 0; i < kConns; ++i) {
    fds[i] = socket(kFamilies[i], SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_storage ss;
    socklen_t len = zdtm::LoopbackAddress(kFamilies[i], ports[i], &ss);
    if (connect(fds[i], reinterpret_cast<sockaddr*>(&ss), len) != 0) zdtm::ChildFail("client connect %d", i);
    if (!zdtm::SendAll(fds[i], "req-1\n", deadline) || !zdtm::ExpectBytes(fds[i], "ans-1\n", deadline))
      zdtm::ChildFail("client: first exchange on connection %d", i);
    if (!zdtm::SendAll(fds[i], "queued-up\n", deadline)) zdtm::ChildFail("client: queued request %d", i);
  }
  // Reading now would drain the server's send queue before the dump: wait for the restore.
  struct stat st;
  while (stat(go_file.c_str(), &st) != 0) {
    if (zdtm::MonotonicNow() > deadline) _exit(1);
    usleep(50 * 1000);
  }
  for (int i = 0; i < kConns; ++i) {
    bool ok = true;
    std::string bulk(kBulk, '\0');
    if (!zdtm::ReadExactly(fds[i], bulk.data(), kBulk, deadline)) ok = false;
    for (size_t k = 0; ok && k < kBulk; ++k) ok = bulk[k] == BulkByte(k);
    if (!zdtm::SendAll(fds[i], ok ? "req-2 bulk-ok\n" : "req-2 bulk-bad\n", deadline)) _exit(1);
    ok = zdtm::ExpectBytes(fds[i], "ans-2\n", deadline) && ok;
    zdtm::SendAll(fds[i], ok ? "done\n" : "fail\n", deadline);
    close(fds[i]);
  }
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const double setup_deadline = zdtm::MonotonicNow() + 20;
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
    fcntl(conns[i], F_SETFL, O_NONBLOCK);
    if (!zdtm::ExpectBytes(conns[i], "req-1\n", setup_deadline) || !zdtm::SendAll(conns[i], "ans-1\n", setup_deadline))
      t.Fail("first exchange on connection %d", i);
    // The bulk: as much as the send queue takes now, the rest after the restore.
    for (int spins = 0; spins < 100; ++spins) {
      int inq = 0;
      ioctl(conns[i], SIOCINQ, &inq);
      if (inq == 10) break;
      usleep(10 * 1000);
    }
    int inq = 0;
    ioctl(conns[i], SIOCINQ, &inq);
    if (inq != 10) t.Fail("connection %d: %d bytes queued for the server, want 10", i, inq);
  }
  size_t sent[kConns] = {};
  for (int i = 0; i < kConns; ++i) {
    std::string bulk(kBulk, '\0');
    for (size_t k = 0; k < kBulk; ++k) bulk[k] = BulkByte(k);
    for (int spins = 0; spins < 20 && sent[i] < kBulk; ++spins) {
      ssize_t r = send(conns[i], bulk.data() + sent[i], kBulk - sent[i], MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) sent[i] += static_cast<size_t>(r);
      else usleep(10 * 1000);
    }
    int outq = 0;
    ioctl(conns[i], SIOCOUTQ, &outq);
    if (outq <= 0) t.Fail("connection %d: nothing in the send queue (client reads too early?)", i);
    zdtm::Log("connection %d: %zu of %zu bulk bytes sent, %d in the send queue", i, sent[i], kBulk, outq);
  }

  t.Ready();
  t.WaitForTerm();

  const double deadline = zdtm::MonotonicNow() + 30;
  for (int i = 0; i < kConns; ++i)
    if (!zdtm::ExpectBytes(conns[i], "queued-up\n", deadline)) t.Fail("connection %d: the queued request is lost", i);
  int go = open(go_file.c_str(), O_WRONLY | O_CREAT, 0600);
  if (go < 0) t.Fail("create %s: %s", go_file.c_str(), std::strerror(errno));
  close(go);
  for (int i = 0; i < kConns; ++i) {
    std::string rest(kBulk - sent[i], '\0');
    for (size_t k = sent[i]; k < kBulk; ++k) rest[k - sent[i]] = BulkByte(k);
    if (!zdtm::SendAll(conns[i], rest, deadline)) t.Fail("connection %d: could not send the rest of the bulk", i);
    char line[32] = {};
    if (!zdtm::ReadExactly(conns[i], line, 14, deadline)) t.Fail("connection %d: no second request", i);
    if (std::memcmp(line, "req-2 bulk-ok\n", 14) != 0) t.Fail("connection %d: client says %.14s", i, line);
    if (!zdtm::SendAll(conns[i], "ans-2\n", deadline)) t.Fail("connection %d: answer", i);
    if (!zdtm::ExpectBytes(conns[i], "done\n", deadline)) t.Fail("connection %d: the client did not get its answer", i);
  }
  unlink(go_file.c_str());
  t.Pass();
}
