// Several POSIX timers survive with their ids (a gap included), clocks, signals, sigev values,
// intervals and remaining times: a periodic one keeps firing its handler with its value, a
// one-shot an hour ahead still has about an hour to go, a SIGEV_NONE timer on CLOCK_BOOTTIME
// and a process-CPU-time timer stay armed, a disarmed one stays disarmed, and
// /proc/self/timers reads the same as before.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "zdtm/lib/zdtm.h"

namespace {

std::atomic<int> g_fired{0};
std::atomic<int> g_bad_value{0};

void OnTick(int, siginfo_t* si, void*) {
  if (si->si_code != SI_TIMER || si->si_value.sival_int != 0x5151) g_bad_value.fetch_add(1);
  g_fired.fetch_add(1);
}

std::string ReadTimers() {
  FILE* f = std::fopen("/proc/self/timers", "r");
  if (f == nullptr) return "cannot open";
  char buf[8192];
  size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  std::string text(buf, n);
  // The notify lines name us by our pid as /proc sees it. In the ns flavor /proc is the
  // host's, where our pid changes with every restore, so name ourselves "self" instead;
  // the id inside our namespace is what must survive, and getpid() checks that.
  char self[32] = {};
  if (readlink("/proc/self", self, sizeof self - 1) > 0) {
    const std::string mine = std::string("pid.") + self + "\n";
    for (size_t at = text.find(mine); at != std::string::npos; at = text.find(mine, at))
      text.replace(at, mine.size(), "pid.self\n");
  }
  return text;
}

double Remaining(timer_t id) {
  itimerspec cur{};
  if (timer_gettime(id, &cur) != 0) return -1;
  return static_cast<double>(cur.it_value.tv_sec) + static_cast<double>(cur.it_value.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa {};
  sa.sa_sigaction = OnTick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 2, &sa, nullptr);

  sigevent periodic_ev{};
  periodic_ev.sigev_notify = SIGEV_SIGNAL;
  periodic_ev.sigev_signo = SIGRTMIN + 2;
  periodic_ev.sigev_value.sival_int = 0x5151;
  sigevent far_ev{};
  far_ev.sigev_notify = SIGEV_SIGNAL;
  far_ev.sigev_signo = SIGUSR2;
  far_ev.sigev_value.sival_ptr = reinterpret_cast<void*>(0x1234abcdULL);
  sigevent none_ev{};
  none_ev.sigev_notify = SIGEV_NONE;

  timer_t periodic, gap, far, none, cpu, idle;
  if (timer_create(CLOCK_MONOTONIC, &periodic_ev, &periodic) != 0) t.Fail("timer_create periodic: %m");
  if (timer_create(CLOCK_MONOTONIC, &none_ev, &gap) != 0) t.Fail("timer_create gap: %m");
  if (timer_create(CLOCK_REALTIME, &far_ev, &far) != 0) t.Fail("timer_create far: %m");
  if (timer_create(CLOCK_BOOTTIME, &none_ev, &none) != 0) t.Fail("timer_create none: %m");
  if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &none_ev, &cpu) != 0) t.Fail("timer_create cpu: %m");
  if (timer_create(CLOCK_MONOTONIC, nullptr, &idle) != 0) t.Fail("timer_create idle: %m");
  if (timer_delete(gap) != 0) t.Fail("timer_delete: %m");   // ids need not be dense

  itimerspec spec{};
  spec.it_value.tv_nsec = 100 * 1000 * 1000;
  spec.it_interval.tv_nsec = 100 * 1000 * 1000;
  if (timer_settime(periodic, 0, &spec, nullptr) != 0) t.Fail("settime periodic: %m");
  itimerspec hour{};
  hour.it_value.tv_sec = 3600;
  if (timer_settime(far, 0, &hour, nullptr) != 0) t.Fail("settime far: %m");
  itimerspec half{};
  half.it_value.tv_sec = 1800;
  half.it_interval.tv_sec = 7;
  if (timer_settime(none, 0, &half, nullptr) != 0) t.Fail("settime none: %m");
  itimerspec cpu_spec{};
  cpu_spec.it_value.tv_sec = 1000;
  if (timer_settime(cpu, 0, &cpu_spec, nullptr) != 0) t.Fail("settime cpu: %m");
  const std::string before = ReadTimers();

  t.Ready();
  t.WaitForTerm();

  const std::string after = ReadTimers();
  if (after != before) t.Fail("/proc/self/timers changed:\n--- before\n%s--- after\n%s", before.c_str(), after.c_str());
  const int fired = g_fired.load();
  for (int i = 0; i < 200 && g_fired.load() < fired + 3; ++i) usleep(10 * 1000);
  if (g_fired.load() < fired + 3) t.Fail("the periodic timer stopped firing (%d signals)", g_fired.load());
  if (g_bad_value.load() != 0) t.Fail("%d timer signals carried a wrong si_code or value", g_bad_value.load());
  itimerspec cur{};
  timer_gettime(periodic, &cur);
  if (cur.it_interval.tv_sec != 0 || cur.it_interval.tv_nsec != 100 * 1000 * 1000) t.Fail("periodic interval changed");
  const double far_left = Remaining(far);
  if (far_left < 3000 || far_left > 3600) t.Fail("one-shot timer has %.1f s left", far_left);
  const double none_left = Remaining(none);
  if (none_left < 1200 || none_left > 1800) t.Fail("SIGEV_NONE timer has %.1f s left", none_left);
  timer_gettime(none, &cur);
  if (cur.it_interval.tv_sec != 7) t.Fail("SIGEV_NONE timer interval %ld s", static_cast<long>(cur.it_interval.tv_sec));
  const double cpu_left = Remaining(cpu);
  if (cpu_left < 990 || cpu_left > 1000) t.Fail("CPU-time timer has %.3f s left", cpu_left);
  if (Remaining(idle) != 0) t.Fail("the disarmed timer got armed");
  if (timer_gettime(gap, &cur) == 0 || errno != EINVAL) t.Fail("the deleted timer id exists again");
  t.Pass();
}
