// A periodic CLOCK_MONOTONIC timerfd keeps ticking with its interval; a disarmed one stays
// disarmed; an absolute CLOCK_REALTIME one far in the future keeps its expiry.
#include <fcntl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  int periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  int idle = timerfd_create(CLOCK_MONOTONIC, 0);
  int absolute = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
  if (periodic < 0 || idle < 0 || absolute < 0) t.Fail("timerfd_create: %s", std::strerror(errno));
  itimerspec spec{};
  spec.it_value.tv_nsec = 50 * 1000 * 1000;
  spec.it_interval.tv_nsec = 50 * 1000 * 1000;
  if (timerfd_settime(periodic, 0, &spec, nullptr) != 0) t.Fail("settime periodic");
  itimerspec abs{};
  clock_gettime(CLOCK_REALTIME, &abs.it_value);
  abs.it_value.tv_sec += 3600;
  if (timerfd_settime(absolute, TFD_TIMER_ABSTIME, &abs, nullptr) != 0) t.Fail("settime absolute");

  t.Ready();
  t.WaitForTerm();

  itimerspec cur{};
  timerfd_gettime(periodic, &cur);
  if (cur.it_interval.tv_sec != 0 || cur.it_interval.tv_nsec != 50 * 1000 * 1000) t.Fail("interval changed");
  uint64_t ticks = 0;
  int fl = fcntl(periodic, F_GETFL);
  if (!(fl & O_NONBLOCK)) t.Fail("periodic timerfd lost O_NONBLOCK");
  fcntl(periodic, F_SETFL, fl & ~O_NONBLOCK);
  read(periodic, &ticks, sizeof ticks);   // whatever accumulated
  if (read(periodic, &ticks, sizeof ticks) != sizeof ticks || ticks == 0) t.Fail("periodic timer does not tick");
  timerfd_gettime(idle, &cur);
  if (cur.it_value.tv_sec != 0 || cur.it_value.tv_nsec != 0) t.Fail("idle timer got armed");
  timerfd_gettime(absolute, &cur);
  if (cur.it_value.tv_sec < 3000 || cur.it_value.tv_sec > 3600) t.Fail("absolute timer remaining %lds", (long)cur.it_value.tv_sec);
  if (!(fcntl(absolute, F_GETFD) & FD_CLOEXEC)) t.Fail("absolute timerfd lost FD_CLOEXEC");
  t.Pass();
}
