// Several threads keep counting across dump and restore, keep their thread ids and names, and
// the counters continue from where they were (no reset).
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr int kThreads = 4;
std::atomic<bool> g_stop{false};  // set by main after the checks; SIGTERM alone must not stop them

struct Counter {
  std::atomic<long> count{0};
  std::atomic<bool> tid_changed{false};
  pid_t tid = 0;
  char name[16];
};

void Count(Counter* c, int index) {
  zdtm::BlockTermInThisThread();
  c->tid = zdtm::Gettid();
  std::snprintf(c->name, sizeof(c->name), "zdtm-count-%d", index);
  pthread_setname_np(pthread_self(), c->name);
  while (!g_stop.load()) {
    c->count.fetch_add(1);
    if (zdtm::Gettid() != c->tid) c->tid_changed = true;
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  Counter counters[kThreads];
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Count, &counters[i], i);
  for (int i = 0; i < kThreads; ++i)
    while (counters[i].count.load() < 5) std::this_thread::yield();
  long at_ready[kThreads];
  for (int i = 0; i < kThreads; ++i) at_ready[i] = counters[i].count.load();

  t.Ready();
  t.WaitForTerm();

  long first[kThreads];
  for (int i = 0; i < kThreads; ++i) first[i] = counters[i].count.load();
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, nullptr);
  for (int i = 0; i < kThreads; ++i) {
    Counter& c = counters[i];
    long now = c.count.load();
    if (first[i] < at_ready[i]) t.Fail("thread %d counter went back from %ld to %ld", i, at_ready[i], first[i]);
    if (now <= first[i]) t.Fail("thread %d stopped counting (%ld)", i, now);
    if (c.tid_changed) t.Fail("thread %d saw its tid change", i);
    auto comm = zdtm::ReadWholeFile(zdtm::ProcDirOf(c.tid, "/proc/self/task") + "/comm");
    if (!comm || *comm != std::string(c.name) + "\n") t.Fail("thread %d (tid %d) has name '%s', want %s", i, c.tid, comm ? comm->c_str() : "?", c.name);
  }
  g_stop = true;
  for (auto& th : threads) th.join();
  t.Pass();
}
