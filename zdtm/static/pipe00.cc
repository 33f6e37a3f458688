// A pipe keeps its queued bytes, its size, its ends' flags and fd numbers; a pipe whose write
// end was closed before the dump gives its bytes and then EOF (no stray writer survives); a
// pipe whose read end was closed gives EPIPE to its writer (no stray reader survives).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

int MoveTo(int fd, int number) {
  int r = dup3(fd, number, 0);
  close(fd);
  return r;
}

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 251);
  return s;
}

std::string ReadSome(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int a[2], b[2], c[2];
  if (pipe2(a, O_NONBLOCK) != 0 || pipe(b) != 0 || pipe(c) != 0) t.Fail("pipe: %s", std::strerror(errno));
  const int a_read = MoveTo(a[0], 20), a_write = MoveTo(a[1], 21);
  const int b_read = MoveTo(b[0], 30);
  const int c_write = MoveTo(c[1], 41);
  close(c[0]);   // only the write end is left
  if (fcntl(a_write, F_SETFD, FD_CLOEXEC) != 0) t.Fail("F_SETFD");
  if (fcntl(a_read, F_SETPIPE_SZ, 256 * 1024) < 0) t.Fail("F_SETPIPE_SZ: %s", std::strerror(errno));
  const int size = fcntl(a_read, F_GETPIPE_SZ);
  const std::string data_a = Pattern(100000, 'a');
  const std::string data_b = Pattern(3000, 'b');
  if (write(a_write, data_a.data(), data_a.size()) != static_cast<ssize_t>(data_a.size())) t.Fail("fill a");
  if (write(b[1], data_b.data(), data_b.size()) != static_cast<ssize_t>(data_b.size())) t.Fail("fill b");
  close(b[1]);   // only the read end is left
  const int fl_a_read = fcntl(a_read, F_GETFL), fl_a_write = fcntl(a_write, F_GETFL);

  t.Ready();
  t.WaitForTerm();

  if (fcntl(a_read, F_GETFL) != fl_a_read || fcntl(a_write, F_GETFL) != fl_a_write)
    t.Fail("pipe flags changed: %#o/%#o, were %#o/%#o", fcntl(a_read, F_GETFL), fcntl(a_write, F_GETFL), fl_a_read, fl_a_write);
  if (!(fcntl(a_write, F_GETFD) & FD_CLOEXEC) || (fcntl(a_read, F_GETFD) & FD_CLOEXEC)) t.Fail("FD_CLOEXEC changed");
  if (fcntl(a_read, F_GETPIPE_SZ) != size) t.Fail("pipe size %d, was %d", fcntl(a_read, F_GETPIPE_SZ), size);
  if (ReadSome(a_read, data_a.size()) != data_a) t.Fail("pipe a lost or changed its bytes");
  char x;
  if (read(a_read, &x, 1) != -1 || errno != EAGAIN) t.Fail("pipe a has extra bytes or is not O_NONBLOCK");
  if (write(a_write, "ping", 4) != 4 || ReadSome(a_read, 4) != "ping") t.Fail("pipe a does not carry new bytes");
  if (ReadSome(b_read, data_b.size() + 1) != data_b) t.Fail("pipe b: bytes differ or no EOF after them");
  if (write(c_write, "x", 1) != -1 || errno != EPIPE) t.Fail("pipe c: a reader survived (write: %s)", std::strerror(errno));
  for (int fd : {3, 4, 5, 22, 31, 40, 42})
    if (fcntl(fd, F_GETFD) != -1) t.Fail("fd %d is open but should not be", fd);
  t.Pass();
}
