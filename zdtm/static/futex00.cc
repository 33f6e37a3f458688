// Threads waiting on futexes stay waiting across dump and restore (no early or spurious
// return), with and without a timeout, and return 0 when woken afterwards; a condition
// variable waiter wakes up once signalled.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

struct Waiter {
  std::atomic<uint32_t> word{0};
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  long ret = 0;
  int err = 0;
  uint32_t word_at_return = 0;
};

void Wait(Waiter* w, bool with_timeout) {
  zdtm::BlockTermInThisThread();
  w->tid = zdtm::Gettid();
  struct timespec timeout = {120, 0};
  w->ret = syscall(SYS_futex, &w->word, FUTEX_WAIT_PRIVATE, 0, with_timeout ? &timeout : nullptr, nullptr, 0);
  w->err = errno;
  w->word_at_return = w->word.load();
  w->returned = true;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  Waiter plain, timed;
  std::thread a(Wait, &plain, false), b(Wait, &timed, true);
  std::mutex m;
  std::condition_variable cv;
  bool flag = false;
  std::atomic<pid_t> cv_tid{0};
  std::atomic<bool> cv_done{false};
  std::thread c([&] {
    zdtm::BlockTermInThisThread();
    cv_tid = zdtm::Gettid();
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return flag; });
    cv_done = true;
  });
  for (Waiter* w : {&plain, &timed}) {
    while (!w->tid) std::this_thread::yield();
    if (!zdtm::WaitUntilInSyscall(w->tid, SYS_futex)) t.Fail("waiter never blocked in futex()");
  }
  while (!cv_tid) std::this_thread::yield();
  if (!zdtm::WaitUntilInSyscall(cv_tid, SYS_futex)) t.Fail("condition variable waiter never blocked");

  t.Ready();
  t.WaitForTerm();

  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  for (Waiter* w : {&plain, &timed})
    if (w->returned) t.Fail("%s futex wait returned before the wake: ret %ld errno %d", w == &plain ? "plain" : "timed", w->ret, w->err);
  if (cv_done) t.Fail("condition variable waiter returned before the signal");
  for (Waiter* w : {&plain, &timed}) {
    w->word = 1;
    syscall(SYS_futex, &w->word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  {
    std::lock_guard<std::mutex> lock(m);
    flag = true;
  }
  cv.notify_one();
  a.join();
  b.join();
  c.join();
  for (Waiter* w : {&plain, &timed})
    if (w->ret != 0 || w->word_at_return != 1)
      t.Fail("%s futex wait ended with ret %ld errno %d word %u, want 0 after the wake", w == &plain ? "plain" : "timed", w->ret, w->err, w->word_at_return);
  t.Pass();
}
