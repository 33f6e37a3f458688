// Sleeps keep their semantics across dump and restore: a relative nanosleep, glibc's sleep()
// and an absolute clock_nanosleep that were in progress neither return early (nor with EINTR)
// nor start again from zero. The test measures how long it was frozen (gaps seen by a ticking
// thread) and checks every sleep took its requested time, plus at most that frozen time.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

// Long enough that the runner's outside-view capture and the dump's freeze land inside the sleeps
// even in a TCG guest on a loaded host (at 4 s they finished first there).
constexpr double kSleep = 10.0;       // every sleeper sleeps this long
constexpr double kBeforeReady = 1.5;  // ...and has slept this much before the dump may come
constexpr double kSlack = 1.0;        // scheduling noise on a loaded machine; < kBeforeReady

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Sleeper {
  const char* name;
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  double elapsed = 0;
  std::string error;
};

std::atomic<double> g_frozen{0};
std::atomic<bool> g_stop_ticker{false};

// Ticks every 10 ms; a gap above 100 ms is time the process spent frozen (or starved).
void Ticker() {
  zdtm::BlockTermInThisThread();
  double last = Now();
  while (!g_stop_ticker) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    double now = Now();
    if (now - last > 0.1) g_frozen = g_frozen + (now - last);
    last = now;
  }
}

void RunSleeper(Sleeper* s, int kind) {
  zdtm::BlockTermInThisThread();
  s->tid = zdtm::Gettid();
  const double start = Now();
  struct timespec req = {static_cast<time_t>(kSleep), 0}, rem = {0, 0};
  if (kind == 0) {
    long r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, &rem);
    if (r != 0) s->error = std::string("clock_nanosleep returned errno ") + std::to_string(errno);
  } else if (kind == 1) {
    unsigned left = sleep(static_cast<unsigned>(kSleep));
    if (left != 0) s->error = "sleep() returned early with " + std::to_string(left) + " s left";
  } else {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += static_cast<time_t>(kSleep);
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr);
    if (r != 0) s->error = "absolute clock_nanosleep returned " + std::to_string(r);
  }
  s->elapsed = Now() - start;
  s->done = true;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  std::thread ticker(Ticker);
  Sleeper sleepers[3] = {{"relative clock_nanosleep"}, {"sleep()"}, {"absolute clock_nanosleep"}};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(RunSleeper, &sleepers[i], i);
  for (auto& s : sleepers) {
    while (!s.tid) std::this_thread::yield();
    if (!zdtm::WaitUntilInSyscall(s.tid, SYS_clock_nanosleep) && !zdtm::WaitUntilInSyscall(s.tid, SYS_nanosleep, 100))
      t.Fail("%s never blocked", s.name);
  }
  struct timespec head = {1, 500 * 1000 * 1000};
  static_assert(kBeforeReady == 1.5);
  nanosleep(&head, nullptr);

  t.Ready();
  t.WaitForTerm();

  for (auto& th : threads) th.join();
  g_stop_ticker = true;
  ticker.join();
  const double frozen = g_frozen;
  for (auto& s : sleepers) {
    if (!s.error.empty()) t.Fail("%s: %s", s.name, s.error.c_str());
    if (s.elapsed < kSleep - 0.01) t.Fail("%s was cut short: slept %.3f s of %.1f", s.name, s.elapsed, kSleep);
    if (s.elapsed > kSleep + frozen + kSlack)
      t.Fail("%s slept %.3f s for %.1f s with %.3f s frozen: restarted from zero?", s.name, s.elapsed, kSleep, frozen);
  }
  t.Pass();
}
