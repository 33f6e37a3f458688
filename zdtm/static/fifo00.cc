// A named FIFO open for reading and for writing keeps its queued bytes and its path.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  unlink("fifo00.fifo");
  if (mkfifo("fifo00.fifo", 0600) != 0) t.Fail("mkfifo: %s", std::strerror(errno));
  int r = open("fifo00.fifo", O_RDONLY | O_NONBLOCK);
  int w = open("fifo00.fifo", O_WRONLY);
  if (r < 0 || w < 0) t.Fail("open: %s", std::strerror(errno));
  if (write(w, "queued", 6) != 6) t.Fail("write");
  struct stat before;
  stat("fifo00.fifo", &before);

  t.Ready();
  t.WaitForTerm();

  char buf[16] = {};
  if (read(r, buf, sizeof buf) != 6 || memcmp(buf, "queued", 6) != 0) t.Fail("queued bytes lost");
  if (read(r, buf, sizeof buf) != -1 || errno != EAGAIN) t.Fail("extra bytes or not O_NONBLOCK");
  if (write(w, "more", 4) != 4 || read(r, buf, 4) != 4 || memcmp(buf, "more", 4) != 0) t.Fail("fifo broken");
  struct stat st, fst;
  if (fstat(r, &fst) != 0 || stat("fifo00.fifo", &st) != 0 || st.st_ino != fst.st_ino) t.Fail("fd is not the fifo at the path");
  t.Pass();
}
