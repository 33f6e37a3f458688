// The vDSO still works after restore and agrees with the kernel: clock_gettime for several
// clocks, gettimeofday, time and getcpu called through the vDSO match the real syscalls, and
// the vDSO is still an ELF image at the address the auxv names.
#include <dlfcn.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

using ClockGettime = int (*)(clockid_t, struct timespec*);
using Gettimeofday = int (*)(struct timeval*, void*);
using Time = time_t (*)(time_t*);
using Getcpu = long (*)(unsigned*, unsigned*, void*);

struct Vdso {
  ClockGettime clock_gettime = nullptr;
  Gettimeofday gettimeofday = nullptr;
  Time time = nullptr;
  Getcpu getcpu = nullptr;
};

double Seconds(const struct timespec& ts) { return ts.tv_sec + ts.tv_nsec / 1e9; }

// "" when every vDSO entry agrees with its syscall.
std::string Check(const Vdso& v) {
  for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE, CLOCK_TAI}) {
    double prev = 0;
    for (int i = 0; i < 1000; ++i) {
      struct timespec a, b;
      if (v.clock_gettime(clock, &a) != 0) return "vdso clock_gettime(" + std::to_string(clock) + ") failed";
      if (Seconds(a) < prev) return "clock " + std::to_string(clock) + " went backwards through the vDSO";
      prev = Seconds(a);
      if (i % 100) continue;
      syscall(SYS_clock_gettime, clock, &b);
      double diff = Seconds(b) - Seconds(a);
      if (diff < -0.001 || diff > 0.05) return "clock " + std::to_string(clock) + ": vDSO and syscall differ by " + std::to_string(diff) + " s";
    }
  }
  struct timeval tv, stv;
  v.gettimeofday(&tv, nullptr);
  syscall(SYS_gettimeofday, &stv, nullptr);
  double d = (stv.tv_sec - tv.tv_sec) + (stv.tv_usec - tv.tv_usec) / 1e6;
  if (d < -0.001 || d > 0.05) return "gettimeofday: vDSO and syscall differ by " + std::to_string(d) + " s";
  time_t vt = v.time(nullptr), st = syscall(SYS_time, nullptr);
  if (st - vt > 1 || vt > st) return "time(): vDSO " + std::to_string(vt) + " vs syscall " + std::to_string(st);
  cpu_set_t orig, one;
  sched_getaffinity(0, sizeof(orig), &orig);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &orig)) continue;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof(one), &one);
    unsigned vc = ~0u, sc = ~0u;
    v.getcpu(&vc, nullptr, nullptr);
    syscall(SYS_getcpu, &sc, nullptr, nullptr);
    sched_setaffinity(0, sizeof(orig), &orig);
    if (vc != sc || vc != static_cast<unsigned>(cpu)) return "getcpu: vDSO says " + std::to_string(vc) + ", syscall " + std::to_string(sc) + " on cpu " + std::to_string(cpu);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  void* h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!h) t.Fail("no vDSO loaded");
  Vdso v;
  v.clock_gettime = reinterpret_cast<ClockGettime>(dlsym(h, "__vdso_clock_gettime"));
  v.gettimeofday = reinterpret_cast<Gettimeofday>(dlsym(h, "__vdso_gettimeofday"));
  v.time = reinterpret_cast<Time>(dlsym(h, "__vdso_time"));
  v.getcpu = reinterpret_cast<Getcpu>(dlsym(h, "__vdso_getcpu"));
  if (!v.clock_gettime || !v.gettimeofday || !v.time || !v.getcpu) t.Fail("vDSO lacks an entry point");
  std::string before = Check(v);
  if (!before.empty()) t.Fail("before dump: %s", before.c_str());
  const unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);

  t.Ready();
  t.WaitForTerm();

  // The same kernel's vDSO comes back as [vdso]; another kernel's is mapped elsewhere and
  // the dumped image, redirected into it, stays here as a plain private r-x mapping.
  auto m = zdtm::FindMapping(reinterpret_cast<void*>(ehdr));
  if (!m || (m->path != "[vdso]" && !(m->path.empty() && m->perms == "r-xp")))
    t.Fail("AT_SYSINFO_EHDR %#lx is neither the [vdso] nor the redirected image (%s %s)", ehdr,
           m ? m->perms.c_str() : "", m ? m->path.c_str() : "unmapped");
  if (std::memcmp(reinterpret_cast<const void*>(ehdr), "\x7f" "ELF", 4) != 0) t.Fail("the vDSO is no ELF image any more");
  std::string after = Check(v);
  if (!after.empty()) t.Fail("after restore: %s", after.c_str());
  // libc's own entry points, which cached the vDSO's addresses at start-up.
  struct timespec a, b;
  if (clock_gettime(CLOCK_MONOTONIC, &a) != 0 || syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b) != 0 ||
      Seconds(b) - Seconds(a) < 0 || Seconds(b) - Seconds(a) > 0.05)
    t.Fail("libc clock_gettime disagrees with the syscall after restore");
  if (time(nullptr) > syscall(SYS_time, nullptr)) t.Fail("libc time() is ahead of the syscall");
  t.Pass();
}
