// Each thread's TLS survives: thread_local values at the same addresses, the fs base (the
// thread pointer), and a gs base the thread set itself with arch_prctl(ARCH_SET_GS).
#include <asm/prctl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

thread_local uint64_t tls_value = 0;
thread_local char tls_text[32];

struct ThreadState {
  std::atomic<int> phase{0};  // 1 = set up, 2 = checked
  std::string error;
};

unsigned long ArchGet(int code) {
  unsigned long v = 0;
  syscall(SYS_arch_prctl, code, &v);
  return v;
}

void Body(ThreadState* s, int index, bool set_gs) {
  zdtm::BlockTermInThisThread();
  tls_value = 0x1234567800000000ULL + index;
  std::snprintf(tls_text, sizeof(tls_text), "thread-%d", index);
  const uint64_t* addr = &tls_value;
  const unsigned long fs = ArchGet(ARCH_GET_FS);
  const pthread_t self = pthread_self();
  const unsigned long gs_want = 0x7e0000000000UL + index * 0x1000;
  if (set_gs && syscall(SYS_arch_prctl, ARCH_SET_GS, gs_want) != 0) s->error = "ARCH_SET_GS failed";
  s->phase = 1;
  while (!zdtm::Test::TermRequested()) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  char buf[200];
  if (tls_value != 0x1234567800000000ULL + index || &tls_value != addr)
    std::snprintf(buf, sizeof(buf), "thread %d: tls value %#lx at %p, want %#llx at %p", index,
                  static_cast<unsigned long>(tls_value), static_cast<void*>(&tls_value),
                  0x1234567800000000ULL + index, static_cast<const void*>(addr)), s->error = buf;
  else if (std::string(tls_text) != "thread-" + std::to_string(index))
    s->error = "thread " + std::to_string(index) + ": tls text is '" + tls_text + "'";
  else if (ArchGet(ARCH_GET_FS) != fs || !pthread_equal(pthread_self(), self))
    std::snprintf(buf, sizeof(buf), "thread %d: fs base %#lx, was %#lx", index, ArchGet(ARCH_GET_FS), fs), s->error = buf;
  else if (set_gs && ArchGet(ARCH_GET_GS) != gs_want)
    std::snprintf(buf, sizeof(buf), "thread %d: gs base %#lx, want %#lx", index, ArchGet(ARCH_GET_GS), gs_want), s->error = buf;
  s->phase = 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr int kThreads = 3;
  ThreadState states[kThreads];
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Body, &states[i], i + 1, i != 1);
  for (auto& s : states)
    while (s.phase.load() < 1) std::this_thread::yield();
  tls_value = 0xabcdef;
  const unsigned long main_fs = ArchGet(ARCH_GET_FS);

  t.Ready();
  t.WaitForTerm();

  for (auto& th : threads) th.join();
  for (int i = 0; i < kThreads; ++i)
    if (!states[i].error.empty()) t.Fail("%s", states[i].error.c_str());
  if (tls_value != 0xabcdef) t.Fail("main thread tls value changed");
  if (ArchGet(ARCH_GET_FS) != main_fs) t.Fail("main thread fs base changed");
  t.Pass();
}
