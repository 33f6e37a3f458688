// The three interval timers survive: ITIMER_REAL keeps delivering SIGALRM with its interval,
// ITIMER_VIRTUAL and ITIMER_PROF keep their remaining CPU time and intervals (the test burns no
// CPU while waiting, so they barely move), and none is reset or disarmed.
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>

#include "zdtm/lib/zdtm.h"

namespace {

std::atomic<int> g_alarms{0};
void OnAlarm(int) { g_alarms.fetch_add(1); }

constexpr long kTickSlackUs = 100000;

long Micros(const timeval& tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = OnAlarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, nullptr);

  itimerval real{};
  real.it_value.tv_usec = 100000;
  real.it_interval.tv_usec = 100000;
  itimerval virt{};
  virt.it_value.tv_sec = 500;
  virt.it_interval.tv_sec = 3;
  itimerval prof{};
  prof.it_value.tv_sec = 600;
  prof.it_interval.tv_usec = 250000;
  if (setitimer(ITIMER_REAL, &real, nullptr) != 0) t.Fail("setitimer real: %m");
  if (setitimer(ITIMER_VIRTUAL, &virt, nullptr) != 0) t.Fail("setitimer virtual: %m");
  if (setitimer(ITIMER_PROF, &prof, nullptr) != 0) t.Fail("setitimer prof: %m");

  t.Ready();
  t.WaitForTerm();

  itimerval cur{};
  getitimer(ITIMER_REAL, &cur);
  if (Micros(cur.it_interval) != 100000) t.Fail("ITIMER_REAL interval %ld us", Micros(cur.it_interval));
  const int alarms = g_alarms.load();
  for (int i = 0; i < 200 && g_alarms.load() < alarms + 3; ++i) usleep(10000);
  if (g_alarms.load() < alarms + 3) t.Fail("ITIMER_REAL stopped delivering SIGALRM");
  getitimer(ITIMER_VIRTUAL, &cur);
  if (Micros(cur.it_interval) != 3000000) t.Fail("ITIMER_VIRTUAL interval %ld us", Micros(cur.it_interval));
  // getitimer rounds CPU-time timers up to a scheduler tick: each set/get round adds up to one.
  if (Micros(cur.it_value) < 490 * 1000000L || Micros(cur.it_value) > 500 * 1000000L + kTickSlackUs)
    t.Fail("ITIMER_VIRTUAL has %ld us left", Micros(cur.it_value));
  getitimer(ITIMER_PROF, &cur);
  if (Micros(cur.it_interval) != 250000) t.Fail("ITIMER_PROF interval %ld us", Micros(cur.it_interval));
  if (Micros(cur.it_value) < 590 * 1000000L || Micros(cur.it_value) > 600 * 1000000L + kTickSlackUs)
    t.Fail("ITIMER_PROF has %ld us left", Micros(cur.it_value));
  t.Pass();
}
