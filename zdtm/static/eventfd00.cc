// An eventfd keeps its counter and flags (EFD_NONBLOCK; a semaphore eventfd stays one); two fd
// numbers on one eventfd stay one eventfd.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int counter = eventfd(0, EFD_NONBLOCK);
  int sem = eventfd(3, EFD_SEMAPHORE | EFD_CLOEXEC);
  if (counter < 0 || sem < 0) t.Fail("eventfd: %s", std::strerror(errno));
  uint64_t v = 41;
  if (write(counter, &v, sizeof v) != sizeof v) t.Fail("write");
  v = 1;
  if (write(counter, &v, sizeof v) != sizeof v) t.Fail("write");
  int dup_counter = dup(counter);
  const int fl = fcntl(counter, F_GETFL);

  t.Ready();
  t.WaitForTerm();

  if (fcntl(counter, F_GETFL) != fl) t.Fail("flags %#o, were %#o", fcntl(counter, F_GETFL), fl);
  if (!(fcntl(sem, F_GETFD) & FD_CLOEXEC)) t.Fail("semaphore eventfd lost FD_CLOEXEC");
  v = 1;
  if (write(dup_counter, &v, sizeof v) != sizeof v) t.Fail("write through the dup");
  if (read(counter, &v, sizeof v) != sizeof v || v != 43) t.Fail("counter is %llu, want 43", (unsigned long long)v);
  if (read(counter, &v, sizeof v) != -1 || errno != EAGAIN) t.Fail("counter not empty or not O_NONBLOCK");
  for (int i = 0; i < 3; ++i)
    if (read(sem, &v, sizeof v) != sizeof v || v != 1) t.Fail("semaphore read %d gave %llu", i, (unsigned long long)v);
  if (fcntl(sem, F_SETFL, O_NONBLOCK) != 0 || read(sem, &v, sizeof v) != -1 || errno != EAGAIN)
    t.Fail("semaphore should be exhausted");
  t.Pass();
}
