// A thread inside sigsuspend() stays there across dump and restore; when the signal comes, the
// handler runs with the temporary mask, sigsuspend() returns -1/EINTR and the thread's original
// mask is back (the kernel keeps that mask aside while the thread sleeps: a restore that only
// copies the current mask leaves the temporary one in place).
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

sigset_t g_mask_in_handler;
std::atomic<bool> g_handled{false};

void OnUsr1(int) {
  pthread_sigmask(SIG_BLOCK, nullptr, &g_mask_in_handler);
  g_handled = true;
}

std::string Text(const sigset_t& s) {
  std::string out;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&s, sig)) out += " " + std::to_string(sig);
  return out.empty() ? " (empty)" : out;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa = {};
  sa.sa_handler = OnUsr1;
  sigaction(SIGUSR1, &sa, nullptr);
  sigset_t original, temporary;
  sigemptyset(&original);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGRTMIN + 5}) sigaddset(&original, s);
  sigemptyset(&temporary);
  for (int s : {SIGUSR2, SIGTERM, SIGRTMIN + 9}) sigaddset(&temporary, s);

  std::atomic<pid_t> tid{0};
  std::atomic<bool> returned{false};
  int ret = 0, err = 0;
  sigset_t after;
  std::thread th([&] {
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    tid = zdtm::Gettid();
    ret = sigsuspend(&temporary);
    err = errno;
    pthread_sigmask(SIG_BLOCK, nullptr, &after);
    returned = true;
  });
  while (!tid) std::this_thread::yield();
  if (!zdtm::WaitUntilInSyscall(tid, SYS_rt_sigsuspend)) t.Fail("thread never blocked in sigsuspend()");

  t.Ready();
  t.WaitForTerm();

  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  if (returned) t.Fail("sigsuspend() returned without a signal: ret %d errno %d", ret, err);
  pthread_kill(th.native_handle(), SIGUSR1);
  th.join();
  if (!g_handled) t.Fail("the handler did not run");
  if (ret != -1 || err != EINTR) t.Fail("sigsuspend() returned %d errno %d", ret, err);
  sigset_t want_in_handler = temporary;
  sigaddset(&want_in_handler, SIGUSR1);
  if (Text(g_mask_in_handler) != Text(want_in_handler))
    t.Fail("mask in the handler was%s, want%s", Text(g_mask_in_handler).c_str(), Text(want_in_handler).c_str());
  if (Text(after) != Text(original))
    t.Fail("mask after sigsuspend() is%s, want the original%s", Text(after).c_str(), Text(original).c_str());
  t.Pass();
}
