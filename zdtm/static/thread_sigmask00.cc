// Every thread keeps its own signal mask, and a signal sent to a thread that blocks it stays
// pending for that thread only.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

struct ThreadState {
  std::atomic<int> phase{0};
  pid_t tid = 0;
  std::string error;
};

std::string MaskText(const sigset_t& s) {
  std::string out;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&s, sig)) out += " " + std::to_string(sig);
  return out.empty() ? " (empty)" : out;
}

sigset_t MaskFor(int index) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, index % 2 ? SIGUSR1 : SIGUSR2);
  sigaddset(&s, SIGRTMIN + index);
  if (index == 2) sigaddset(&s, SIGHUP), sigaddset(&s, SIGRTMAX);
  return s;
}

void Body(ThreadState* st, int index) {
  sigset_t want = MaskFor(index);
  pthread_sigmask(SIG_SETMASK, &want, nullptr);
  st->tid = zdtm::Gettid();
  st->phase = 1;
  while (st->phase.load() != 2) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  sigset_t now, pending;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  sigpending(&pending);
  if (MaskText(now) != MaskText(want))
    st->error = "thread " + std::to_string(index) + " mask is" + MaskText(now) + ", want" + MaskText(want);
  else if (!sigismember(&pending, SIGRTMIN + index))
    st->error = "thread " + std::to_string(index) + " lost its pending signal " + std::to_string(SIGRTMIN + index);
  else {
    for (int other = 1; other <= 3; ++other)
      if (other != index && sigismember(&pending, SIGRTMIN + other))
        st->error = "thread " + std::to_string(index) + " sees thread " + std::to_string(other) + "'s pending signal";
  }
  st->phase = 3;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr int kThreads = 3;
  ThreadState states[kThreads];
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Body, &states[i], i + 1);
  for (auto& s : states)
    while (s.phase.load() < 1) std::this_thread::yield();
  for (int i = 0; i < kThreads; ++i) syscall(SYS_tgkill, getpid(), states[i].tid, SIGRTMIN + i + 1);
  sigset_t main_mask;
  sigemptyset(&main_mask);
  sigaddset(&main_mask, SIGWINCH);
  sigaddset(&main_mask, SIGRTMIN + 10);
  pthread_sigmask(SIG_SETMASK, &main_mask, nullptr);

  t.Ready();
  t.WaitForTerm();

  for (auto& s : states) s.phase = 2;
  for (auto& th : threads) th.join();
  for (auto& s : states)
    if (!s.error.empty()) t.Fail("%s", s.error.c_str());
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  if (MaskText(now) != MaskText(main_mask)) t.Fail("main thread mask is%s, want%s", MaskText(now).c_str(), MaskText(main_mask).c_str());
  t.Pass();
}
