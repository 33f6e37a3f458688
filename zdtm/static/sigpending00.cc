// Blocked signals stay pending where they were: shared (process-wide) and per thread, standard
// and real-time, with queued real-time instances in order and their values and senders intact.
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

struct Got {
  int sig, code, value;
  pid_t pid;
};

// Collects everything pending for the calling thread (its own and the shared queue).
std::vector<Got> Drain() {
  sigset_t all;
  sigfillset(&all);
  std::vector<Got> out;
  struct timespec zero = {0, 0};
  siginfo_t info;
  while (sigtimedwait(&all, &info, &zero) > 0)
    out.push_back({info.si_signo, info.si_code, info.si_value.sival_int, info.si_pid});
  return out;
}

std::string Describe(const std::vector<Got>& v) {
  std::string s;
  for (const Got& g : v)
    s += " {" + std::to_string(g.sig) + " code " + std::to_string(g.code) + " value " + std::to_string(g.value) + "}";
  return s.empty() ? " (none)" : s;
}

int Queue(pid_t tid, int sig, int value) {
  siginfo_t info = {};
  info.si_signo = sig;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = value;
  return static_cast<int>(syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &info));
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const int rt = SIGRTMIN;
  sigset_t block;
  sigemptyset(&block);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, rt, rt + 1, rt + 2}) sigaddset(&block, s);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);  // the thread inherits it

  std::atomic<int> phase{0};
  pid_t thread_tid = 0;
  std::vector<Got> thread_got;
  std::thread th([&] {
    thread_tid = zdtm::Gettid();
    phase = 1;
    while (phase.load() != 2) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    thread_got = Drain();
  });
  while (phase.load() != 1) std::this_thread::yield();
  // SIGTERM is blocked in every thread but main's wait loop must still see it: unblock in main.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &term, nullptr);

  // The si_code tgkill() produces differs between kernels (SI_TKILL, or SI_USER on newer ones):
  // learn it here so the check after restore compares against this kernel's own behaviour.
  sigset_t probe;
  sigemptyset(&probe);
  sigaddset(&probe, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &probe, nullptr);
  syscall(SYS_tgkill, getpid(), zdtm::Gettid(), SIGWINCH);
  siginfo_t probe_info = {};
  sigwaitinfo(&probe, &probe_info);
  pthread_sigmask(SIG_UNBLOCK, &probe, nullptr);
  const int tkill_code = probe_info.si_code;

  kill(getpid(), SIGUSR1);                           // shared, all threads block it
  union sigval v;
  v.sival_int = 11;
  sigqueue(getpid(), rt, v);                         // shared, queued twice, order matters
  v.sival_int = 22;
  sigqueue(getpid(), rt, v);
  syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR2);  // the thread's own
  Queue(thread_tid, rt + 2, 55);                     // the thread's own, real-time
  Queue(zdtm::Gettid(), rt + 1, 33);                 // main's own


  t.Ready();
  t.WaitForTerm();

  // Main drains its own (rt+1) and the whole shared queue (SIGUSR1, rt x2).
  std::vector<Got> main_got = Drain();
  phase = 2;
  th.join();
  const pid_t me = getpid();
  // The kernel dequeues the thread's own signals before the shared ones.
  std::vector<Got> main_want = {{rt + 1, SI_QUEUE, 33, me}, {SIGUSR1, SI_USER, 0, me}, {rt, SI_QUEUE, 11, me}, {rt, SI_QUEUE, 22, me}};
  std::vector<Got> thread_want = {{SIGUSR2, tkill_code, 0, me}, {rt + 2, SI_QUEUE, 55, me}};
  auto same = [](const std::vector<Got>& a, const std::vector<Got>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].sig != b[i].sig || a[i].code != b[i].code || a[i].pid != b[i].pid ||
          (a[i].code == SI_QUEUE && a[i].value != b[i].value))
        return false;
    return true;
  };
  if (!same(main_got, main_want)) t.Fail("main thread got%s, want%s", Describe(main_got).c_str(), Describe(main_want).c_str());
  if (!same(thread_got, thread_want)) t.Fail("thread got%s, want%s", Describe(thread_got).c_str(), Describe(thread_want).c_str());
  t.Pass();
}
