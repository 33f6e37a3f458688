// madvise() state is part of a mapping: DONTFORK, WIPEONFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE,
// RANDOM and SEQUENTIAL show as VmFlags in smaps and must still be there (and still act: a
// child does not get a DONTFORK area and gets a WIPEONFORK area zeroed) after restore.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {
constexpr size_t kSize = 4 << 20;  // 2 MiB-aligned part for the huge page advice
struct Advice {
  int advice;
  const char* name;
  const char* flag;
  unsigned char* area = nullptr;
  bool checked = false;  // false if this kernel does not show the flag
};
}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  std::vector<Advice> advices = {
      {MADV_DONTFORK, "DONTFORK", "dc"}, {MADV_WIPEONFORK, "WIPEONFORK", "wf"},
      {MADV_DONTDUMP, "DONTDUMP", "dd"}, {MADV_HUGEPAGE, "HUGEPAGE", "hg"},
      {MADV_NOHUGEPAGE, "NOHUGEPAGE", "nh"}, {MADV_RANDOM, "RANDOM", "rr"},
      {MADV_SEQUENTIAL, "SEQUENTIAL", "sr"},
  };
  for (size_t i = 0; i < advices.size(); ++i) {
    Advice& a = advices[i];
    a.area = static_cast<unsigned char*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (a.area == MAP_FAILED) t.Fail("mmap");
    // Filled before the advice: an area whose advice this kernel refuses (MADV_HUGEPAGE is
    // EINVAL without THP, e.g. on PREEMPT_RT) is still memory whose contents must survive.
    zdtm::FillPattern(a.area, kSize, 300 + i);
    if (madvise(a.area, kSize, a.advice) != 0) {
      zdtm::Log("madvise(%s) not supported here, not checked", a.name);
      continue;
    }
    auto m = zdtm::FindMapping(a.area);
    a.checked = m && zdtm::HasVmFlag(*m, a.flag);
    if (!a.checked) zdtm::Log("VmFlags of a %s area lack '%s' on this kernel, not checked", a.name, a.flag);
  }

  t.Ready();
  t.WaitForTerm();

  for (size_t i = 0; i < advices.size(); ++i) {
    const Advice& a = advices[i];
    auto m = zdtm::FindMapping(a.area);
    if (!m) t.Fail("%s area unmapped", a.name);
    if (a.checked && !zdtm::HasVmFlag(*m, a.flag))
      t.Fail("%s area lost VmFlag '%s' (VmFlags:%s)", a.name, a.flag, m->vm_flags.c_str());
    long bad = zdtm::FindPatternMismatch(a.area, kSize, 300 + i);
    if (bad >= 0) t.Fail("%s area: mismatch at %ld", a.name, bad);
  }
  // Behaviour, not only flags: fork and look from the child.
  const Advice& dontfork = advices[0];
  const Advice& wipe = advices[1];
  pid_t child = fork();
  if (child == 0) {
    if (zdtm::FindNonZero(wipe.area, kSize) >= 0) _exit(3);  // WIPEONFORK: child sees zeros
    volatile unsigned char c = dontfork.area[0];              // DONTFORK: not mapped in the child
    (void)c;
    _exit(4);
  }
  int status;
  waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && wipe.checked) t.Fail("WIPEONFORK area was not wiped in a child");
  if (dontfork.checked && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV))
    t.Fail("DONTFORK area was inherited by a child (child status %#x)", status);
  t.Pass();
}
