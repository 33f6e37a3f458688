// Signal dispositions survive exactly (handler, flags, restorer, mask for every signal) and
// still act: an SA_SIGINFO handler gets its siginfo with sa_mask applied, an SA_RESETHAND
// handler runs once and resets, an ignored signal stays ignored.
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "zdtm/lib/zdtm.h"

namespace {

volatile sig_atomic_t g_usr1_code = 0, g_usr1_value = 0, g_usr1_masked_usr2 = 0, g_usr2_runs = 0;

void OnUsr1(int, siginfo_t* info, void*) {
  g_usr1_code = info->si_code;
  g_usr1_value = info->si_value.sival_int;
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  g_usr1_masked_usr2 = sigismember(&cur, SIGUSR2);
}
void OnUsr2(int) { g_usr2_runs = g_usr2_runs + 1; }
void OnRt(int, siginfo_t*, void*) {}

bool SameAction(const struct sigaction& a, const struct sigaction& b) {
  return a.sa_sigaction == b.sa_sigaction && a.sa_flags == b.sa_flags && a.sa_restorer == b.sa_restorer &&
         std::memcmp(&a.sa_mask, &b.sa_mask, sizeof(unsigned long)) == 0;  // the kernel keeps 64 bits
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa = {};
  sa.sa_sigaction = OnUsr1;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaddset(&sa.sa_mask, SIGRTMIN + 4);
  sigaction(SIGUSR1, &sa, nullptr);
  sa = {};
  sa.sa_handler = OnUsr2;
  sa.sa_flags = SA_NODEFER | SA_RESETHAND;
  sigaction(SIGUSR2, &sa, nullptr);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sa = {};
  sa.sa_sigaction = OnRt;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NOCLDSTOP;
  sigfillset(&sa.sa_mask);
  sigaction(SIGRTMIN + 7, &sa, nullptr);

  struct sigaction before[NSIG] = {};
  bool queryable[NSIG] = {};  // glibc refuses its internal signals (32, 33)
  for (int sig = 1; sig < NSIG; ++sig) queryable[sig] = sigaction(sig, nullptr, &before[sig]) == 0;

  t.Ready();
  t.WaitForTerm();

  for (int sig = 1; sig < NSIG; ++sig) {
    if (!queryable[sig]) continue;
    struct sigaction now;
    sigaction(sig, nullptr, &now);
    if (!SameAction(before[sig], now))
      t.Fail("signal %d: action %p flags %#x changed to %p flags %#x", sig,
             reinterpret_cast<void*>(before[sig].sa_sigaction), before[sig].sa_flags,
             reinterpret_cast<void*>(now.sa_sigaction), now.sa_flags);
  }
  union sigval v;
  v.sival_int = 4242;
  sigqueue(getpid(), SIGUSR1, v);
  if (g_usr1_code != SI_QUEUE || g_usr1_value != 4242) t.Fail("SIGUSR1 handler got code %d value %d", g_usr1_code, g_usr1_value);
  if (!g_usr1_masked_usr2) t.Fail("sa_mask (SIGUSR2) was not applied in the SIGUSR1 handler");
  raise(SIGUSR2);
  if (g_usr2_runs != 1) t.Fail("SIGUSR2 handler ran %d times", g_usr2_runs);
  struct sigaction reset;
  sigaction(SIGUSR2, nullptr, &reset);
  if (reset.sa_handler != SIG_DFL) t.Fail("SA_RESETHAND did not reset SIGUSR2");
  raise(SIGHUP);  // ignored: we are still alive
  t.Pass();
}
