// A named FIFO whose path was unlinked while it stays open for reading and writing with bytes
// queued: after restore the bytes are still there, the two fds are still one FIFO, and the
// path is still gone.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  unlink("fifo01.fifo");
  if (mkfifo("fifo01.fifo", 0600) != 0) t.Fail("mkfifo: %s", std::strerror(errno));
  int r = open("fifo01.fifo", O_RDONLY | O_NONBLOCK);
  int w = open("fifo01.fifo", O_WRONLY);
  if (r < 0 || w < 0) t.Fail("open: %s", std::strerror(errno));
  if (write(w, "queued", 6) != 6) t.Fail("write");
  if (unlink("fifo01.fifo") != 0) t.Fail("unlink: %s", std::strerror(errno));

  t.Ready();
  t.WaitForTerm();

  char buf[16] = {};
  if (read(r, buf, sizeof buf) != 6 || memcmp(buf, "queued", 6) != 0) t.Fail("queued bytes lost");
  if (read(r, buf, sizeof buf) != -1 || errno != EAGAIN) t.Fail("extra bytes or not O_NONBLOCK");
  if (write(w, "more", 4) != 4 || read(r, buf, 4) != 4 || memcmp(buf, "more", 4) != 0) t.Fail("the two fds are not one FIFO");
  struct stat st, fst;
  if (fstat(r, &fst) != 0 || !S_ISFIFO(fst.st_mode)) t.Fail("fd is not a FIFO");
  if (stat("fifo01.fifo", &st) == 0) t.Fail("the unlinked path came back");
  t.Pass();
}
