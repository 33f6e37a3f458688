// Alternate signal stacks are per thread and survive: sigaltstack() reports the same stack in
// each thread, and an SA_ONSTACK handler really runs on that thread's stack.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <string>
#include <thread>

#include "zdtm/lib/zdtm.h"

namespace {

constexpr size_t kStackSize = 64 * 1024;
#ifndef SS_AUTODISARM
constexpr int SS_AUTODISARM = 1U << 31;  // linux/signal.h; glibc 2.36 does not export it
#endif
thread_local volatile uintptr_t t_handler_sp = 0;

void OnUsr1(int) {
  volatile int local = 0;
  t_handler_sp = reinterpret_cast<uintptr_t>(&local);
}

// "" when this thread's altstack is `want` and the handler runs on it.
std::string Check(const char* who, const stack_t& want) {
  stack_t now;
  sigaltstack(nullptr, &now);
  std::string w = who;
  if (now.ss_sp != want.ss_sp || now.ss_size != want.ss_size || (now.ss_flags & ~SS_ONSTACK) != want.ss_flags)
    return w + ": sigaltstack changed";
  t_handler_sp = 0;
  pthread_kill(pthread_self(), SIGUSR1);
  auto base = reinterpret_cast<uintptr_t>(want.ss_sp);
  if (t_handler_sp < base || t_handler_sp >= base + want.ss_size) return w + ": handler did not run on the alternate stack";
  return "";
}

stack_t MakeStack(int flags) {
  stack_t s = {};
  s.ss_sp = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  s.ss_size = kStackSize;
  s.ss_flags = flags;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  struct sigaction sa = {};
  sa.sa_handler = OnUsr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, nullptr);
  stack_t main_stack = MakeStack(0);
  if (sigaltstack(&main_stack, nullptr) != 0) t.Fail("sigaltstack main");
  std::string before = Check("main before dump", main_stack);
  if (!before.empty()) t.Fail("%s", before.c_str());

  std::atomic<int> phase{0};
  std::string thread_error;
  std::thread th([&] {
    zdtm::BlockTermInThisThread();
    stack_t mine = MakeStack(SS_AUTODISARM);
    if (sigaltstack(&mine, nullptr) != 0) {
      mine.ss_flags = 0;  // kernels before 4.7 lack SS_AUTODISARM
      sigaltstack(&mine, nullptr);
    }
    phase = 1;
    while (phase.load() != 2) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    thread_error = Check("thread", mine);
  });
  while (phase.load() != 1) std::this_thread::yield();

  t.Ready();
  t.WaitForTerm();

  phase = 2;
  th.join();
  if (!thread_error.empty()) t.Fail("%s", thread_error.c_str());
  std::string after = Check("main after restore", main_stack);
  if (!after.empty()) t.Fail("%s", after.c_str());
  t.Pass();
}
