// glibc registers an rseq area for every thread; after restore it must still be registered
// with the kernel: the area's cpu_id follows the thread when it moves between CPUs, and
// registering the same area again is refused with EBUSY.
#include <linux/rseq.h>
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "zdtm/lib/zdtm.h"

namespace {

constexpr uint32_t kRseqSig = 0x53053053;  // glibc's RSEQ_SIG on x86

volatile struct rseq* Area() {
  return reinterpret_cast<volatile struct rseq*>(static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset);
}

// "" when this thread's rseq area is registered and live, else what is wrong.
std::string CheckRseq(const char* who) {
  std::string w = who;
  int cpus = 0;
  cpu_set_t orig;
  sched_getaffinity(0, sizeof(orig), &orig);
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus < 2; ++cpu) {
    if (!CPU_ISSET(cpu, &orig)) continue;
    ++cpus;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) return w + ": sched_setaffinity failed";
    sched_yield();
    int32_t seen = Area()->cpu_id;
    unsigned real = 0;
    syscall(SYS_getcpu, &real, nullptr, nullptr);
    if (seen != static_cast<int32_t>(real)) {
      sched_setaffinity(0, sizeof(orig), &orig);
      return w + ": rseq cpu_id is " + std::to_string(seen) + " on cpu " + std::to_string(real) +
             " (area not registered?)";
    }
  }
  sched_setaffinity(0, sizeof(orig), &orig);
  long r = syscall(SYS_rseq, Area(), __rseq_size < 32 ? 32 : __rseq_size, 0, kRseqSig);
  if (r == 0) return w + ": registering the area again succeeded: it was not registered";
  if (errno != EBUSY) return w + ": registering again gave errno " + std::to_string(errno) + ", want EBUSY";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (__rseq_size == 0) t.Fail("glibc did not register rseq (kernel without rseq or glibc.pthread.rseq=0)");
  std::string before = CheckRseq("main before dump");
  if (!before.empty()) t.Fail("%s", before.c_str());
  std::atomic<int> phase{0};
  std::string thread_error;
  std::thread th([&] {
    zdtm::BlockTermInThisThread();
    thread_error = CheckRseq("thread before dump");
    phase = 1;
    while (phase.load() != 2) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    if (thread_error.empty()) thread_error = CheckRseq("thread after restore");
  });
  while (phase.load() != 1) std::this_thread::yield();
  if (!thread_error.empty()) t.Fail("%s", thread_error.c_str());

  t.Ready();
  t.WaitForTerm();

  phase = 2;
  th.join();
  if (!thread_error.empty()) t.Fail("%s", thread_error.c_str());
  std::string after = CheckRseq("main after restore");
  if (!after.empty()) t.Fail("%s", after.c_str());
  t.Pass();
}
