// POSIX timers that signal one particular thread (SIGEV_THREAD_ID) keep signalling that thread
// after restore, with their values; a glibc SIGEV_THREAD timer (a helper thread waiting in
// sigwaitinfo on a SIGEV_THREAD_ID timer) keeps running its callback.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "zdtm/lib/zdtm.h"

namespace {

constexpr int kWorkers = 2;
std::atomic<pid_t> g_tid[kWorkers];
std::atomic<int> g_hits[kWorkers];
std::atomic<int> g_wrong_thread{0};
std::atomic<int> g_callbacks{0};

void OnTick(int, siginfo_t* si, void*) {
  const int which = si->si_value.sival_int;
  if (which < 0 || which >= kWorkers || g_tid[which].load() != static_cast<pid_t>(syscall(SYS_gettid))) {
    g_wrong_thread.fetch_add(1);
    return;
  }
  g_hits[which].fetch_add(1);
}

void Callback(union sigval v) {
  if (v.sival_int == 77) g_callbacks.fetch_add(1);
}

void* Worker(void* arg) {
  zdtm::BlockTermInThisThread();
  const int which = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  g_tid[which] = static_cast<pid_t>(syscall(SYS_gettid));
  for (;;) pause();
}

int Wait(std::atomic<int>& counter, int from, int more) {
  for (int i = 0; i < 300 && counter.load() < from + more; ++i) usleep(10 * 1000);
  return counter.load() - from;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa {};
  sa.sa_sigaction = OnTick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 3, &sa, nullptr);

  pthread_t threads[kWorkers];
  for (int i = 0; i < kWorkers; ++i) {
    if (pthread_create(&threads[i], nullptr, Worker, reinterpret_cast<void*>(static_cast<intptr_t>(i))) != 0)
      t.Fail("pthread_create");
  }
  for (int i = 0; i < kWorkers; ++i)
    while (g_tid[i].load() == 0) usleep(1000);
  // The signal must reach the workers only: the main thread blocks it.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGRTMIN + 3);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  timer_t timers[kWorkers];
  for (int i = 0; i < kWorkers; ++i) {
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGRTMIN + 3;
    ev.sigev_value.sival_int = i;
    ev._sigev_un._tid = g_tid[i].load();
    if (timer_create(i == 0 ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ev, &timers[i]) != 0) t.Fail("timer_create %d: %m", i);
    itimerspec spec{};
    spec.it_value.tv_nsec = (100 + 50 * i) * 1000 * 1000;
    spec.it_interval.tv_nsec = (100 + 50 * i) * 1000 * 1000;
    if (timer_settime(timers[i], 0, &spec, nullptr) != 0) t.Fail("timer_settime %d: %m", i);
  }
  // glibc runs each SIGEV_THREAD notification in a new detached thread and keeps the stacks of
  // finished threads for reuse. Three stacks in that cache up front: notifications that overlap
  // after the restore (a slow guest) reuse them instead of mapping new ones, which the outside
  // view would rightly report as a mapping the dumped process did not have.
  {
    pthread_t warm[3];
    for (pthread_t& w : warm)
      if (pthread_create(&w, nullptr, [](void*) -> void* { usleep(20 * 1000); return nullptr; }, nullptr) != 0)
        t.Fail("pthread_create (stack cache)");
    for (pthread_t& w : warm) pthread_join(w, nullptr);
  }
  sigevent cb{};
  cb.sigev_notify = SIGEV_THREAD;
  cb.sigev_notify_function = Callback;
  cb.sigev_value.sival_int = 77;
  timer_t cb_timer;
  if (timer_create(CLOCK_MONOTONIC, &cb, &cb_timer) != 0) t.Fail("timer_create SIGEV_THREAD: %m");
  itimerspec cb_spec{};
  cb_spec.it_value.tv_nsec = 150 * 1000 * 1000;
  cb_spec.it_interval.tv_nsec = 150 * 1000 * 1000;
  if (timer_settime(cb_timer, 0, &cb_spec, nullptr) != 0) t.Fail("timer_settime SIGEV_THREAD: %m");
  if (Wait(g_callbacks, 0, 2) < 2) t.Fail("the SIGEV_THREAD callback does not run before the dump");

  t.Ready();
  t.WaitForTerm();

  for (int i = 0; i < kWorkers; ++i) {
    const int from = g_hits[i].load();
    if (Wait(g_hits[i], from, 3) < 3) t.Fail("thread %d no longer gets its timer's signals (%d so far)", i, from);
    itimerspec cur{};
    timer_gettime(timers[i], &cur);
    if (cur.it_interval.tv_nsec != (100 + 50 * i) * 1000 * 1000) t.Fail("timer %d interval changed", i);
  }
  if (g_wrong_thread.load() != 0) t.Fail("%d timer signals reached the wrong thread", g_wrong_thread.load());
  const int calls = g_callbacks.load();
  if (Wait(g_callbacks, calls, 3) < 3) t.Fail("the SIGEV_THREAD callback stopped (%d calls)", g_callbacks.load());
  t.Pass();
}
