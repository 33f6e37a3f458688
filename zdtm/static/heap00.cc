// The heap survives: malloc'ed blocks (small from brk, large from mmap) keep their contents,
// the kernel's brk is where it was, and malloc/free/sbrk keep working afterwards.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr int kSmall = 300;
  void* small[kSmall];
  for (int i = 0; i < kSmall; ++i) {
    small[i] = malloc(16 + i * 7);
    zdtm::FillPattern(small[i], 16 + i * 7, i);
  }
  for (int i = 0; i < kSmall; i += 4) free(small[i]), small[i] = nullptr;  // holes in the free lists
  void* big = malloc(4 << 20);
  zdtm::FillPattern(big, 4 << 20, 999);
  void* grown = sbrk(64 * 1024);
  if (grown == reinterpret_cast<void*>(-1)) t.Fail("sbrk");
  zdtm::FillPattern(grown, 64 * 1024, 31337);
  const auto start_brk = zdtm::StatField(getpid(), 47);
  // Read last: anything that allocates after this (StatField does) may move the brk.
  const long kernel_brk = syscall(SYS_brk, 0);

  t.Ready();
  t.WaitForTerm();

  for (int i = 0; i < kSmall; ++i) {
    if (!small[i]) continue;
    long bad = zdtm::FindPatternMismatch(small[i], 16 + i * 7, i);
    if (bad >= 0) t.Fail("malloc block %d: mismatch at %ld", i, bad);
  }
  if (zdtm::FindPatternMismatch(big, 4 << 20, 999) >= 0) t.Fail("large malloc block differs");
  if (zdtm::FindPatternMismatch(grown, 64 * 1024, 31337) >= 0) t.Fail("sbrk area differs");
  long now_brk = syscall(SYS_brk, 0);
  if (now_brk != kernel_brk) t.Fail("kernel brk is %#lx, was %#lx", now_brk, kernel_brk);
  auto now_start = zdtm::StatField(getpid(), 47);
  if (now_start != start_brk) t.Fail("start_brk is %s, was %s", now_start ? now_start->c_str() : "?", start_brk ? start_brk->c_str() : "?");
  // The allocator and the brk must still work.
  for (int i = 0; i < kSmall; ++i) free(small[i]);
  void* more[64];
  for (int i = 0; i < 64; ++i) {
    more[i] = malloc(1000 + i);
    if (!more[i]) t.Fail("malloc after restore");
    std::memset(more[i], i, 1000 + i);
  }
  for (int i = 0; i < 64; ++i) free(more[i]);
  free(big);
  // Measured right around the sbrk: the allocations above may legitimately have grown or
  // trimmed the heap (they did after a guest -> host migration).
  const long before_sbrk = syscall(SYS_brk, 0);
  if (sbrk(4096) == reinterpret_cast<void*>(-1)) t.Fail("sbrk after restore");
  const long after_sbrk = syscall(SYS_brk, 0);
  if (after_sbrk != before_sbrk + 4096) t.Fail("brk went from %#lx to %#lx on sbrk(4096)", before_sbrk, after_sbrk);
  t.Pass();
}
