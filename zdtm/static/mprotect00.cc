// mprotect'ed pieces of one area keep their protections and contents, data hidden behind
// PROT_NONE is still there when made readable again, and a PROT_NONE guard reservation that was
// never touched stays PROT_NONE and zero.
#include <sys/mman.h>

#include <cstring>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {
constexpr size_t kPage = 4096;
struct Piece {
  size_t first, count;
  int prot;
  const char* perms;
};
constexpr Piece kPieces[] = {
    {0, 2, PROT_READ, "r--p"},
    {2, 2, PROT_NONE, "---p"},
    {4, 1, PROT_READ | PROT_EXEC, "r-xp"},
    {5, 3, PROT_READ | PROT_WRITE, "rw-p"},
    {8, 1, PROT_WRITE, "-w-p"},
};
}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr size_t kPages = 9;
  auto* area = static_cast<unsigned char*>(
      mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (area == MAP_FAILED) t.Fail("mmap");
  zdtm::FillPattern(area, kPages * kPage, 77);
  for (const Piece& p : kPieces)
    if (mprotect(area + p.first * kPage, p.count * kPage, p.prot) != 0) t.Fail("mprotect piece %zu", p.first);
  constexpr size_t kGuard = 256 * kPage;
  auto* guard = static_cast<unsigned char*>(mmap(nullptr, kGuard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (guard == MAP_FAILED) t.Fail("mmap guard");

  t.Ready();
  t.WaitForTerm();

  for (const Piece& p : kPieces) {
    auto m = zdtm::FindMapping(area + p.first * kPage);
    if (!m) t.Fail("piece at page %zu is unmapped", p.first);
    if (m->perms != p.perms) t.Fail("piece at page %zu has perms %s, want %s", p.first, m->perms.c_str(), p.perms);
    if (m->start != reinterpret_cast<unsigned long>(area + p.first * kPage) ||
        m->end != reinterpret_cast<unsigned long>(area + (p.first + p.count) * kPage))
      t.Fail("piece at page %zu spans %lx-%lx, want exactly its %zu pages", p.first, m->start, m->end, p.count);
  }
  if (mprotect(area, kPages * kPage, PROT_READ) != 0) t.Fail("mprotect all readable");
  long bad = zdtm::FindPatternMismatch(area, kPages * kPage, 77);
  if (bad >= 0) t.Fail("contents differ at offset %ld (page %ld)", bad, bad / static_cast<long>(kPage));
  auto g = zdtm::FindMapping(guard);
  if (!g || g->perms != "---p" || g->end - g->start != kGuard) t.Fail("guard reservation changed");
  if (mprotect(guard, kGuard, PROT_READ) != 0) t.Fail("mprotect guard");
  if (zdtm::FindNonZero(guard, kGuard) >= 0) t.Fail("guard reservation is not zero");
  t.Pass();
}
