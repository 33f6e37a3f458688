// A thread blocked in pause() is still blocked after restore (it does not return on its own),
// and returns -1/EINTR only once a signal handler ran.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {
std::atomic<bool> g_handled{false};
void OnUsr1(int) { g_handled = true; }
}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa = {};
  sa.sa_handler = OnUsr1;
  sigaction(SIGUSR1, &sa, nullptr);
  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  std::atomic<bool> handled_before_return{false};
  int ret = 0, err = 0;
  std::thread th([&] {
    zdtm::BlockTermInThisThread();
    tid = zdtm::Gettid();
    ret = pause();
    err = errno;
    handled_before_return = g_handled.load();
    returned = true;
  });
  while (!tid) std::this_thread::yield();
  if (!zdtm::WaitUntilInSyscall(tid, SYS_pause)) t.Fail("thread never blocked in pause()");

  t.Ready();
  t.WaitForTerm();

  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  if (returned) t.Fail("pause() returned without a signal: ret %d errno %d", ret, err);
  if (!zdtm::WaitUntilInSyscall(tid, SYS_pause, 2000)) t.Fail("thread is not in pause() any more");
  pthread_kill(th.native_handle(), SIGUSR1);
  th.join();
  if (ret != -1 || err != EINTR) t.Fail("pause() returned %d errno %d, want -1 EINTR", ret, err);
  if (!handled_before_return) t.Fail("pause() returned before the handler ran");
  t.Pass();
}
