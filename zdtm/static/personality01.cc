// READ_IMPLIES_EXEC survives and acts after restore (a new PROT_READ mapping is executable),
// while the existing mappings keep their exact protections: a restore that sets the
// personality before rebuilding the address space would make them executable.
#include <sys/mman.h>
#include <sys/personality.h>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  auto* ro = static_cast<unsigned char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  zdtm::FillPattern(ro, 8192, 3);
  mprotect(ro, 8192, PROT_READ);
  const int want = READ_IMPLIES_EXEC;
  if (personality(want) == -1) t.Fail("personality");
  auto* probe = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto pm = zdtm::FindMapping(probe);
  if (!pm || pm->perms != "r-xp") t.Fail("READ_IMPLIES_EXEC does not act on this kernel (%s)", pm ? pm->perms.c_str() : "-");
  munmap(probe, 4096);

  t.Ready();
  t.WaitForTerm();

  if (personality(0xffffffff) != want) t.Fail("personality is %#x, was %#x", personality(0xffffffff), want);
  auto m = zdtm::FindMapping(ro);
  if (!m || m->perms != "r--p") t.Fail("read-only mapping became '%s'", m ? m->perms.c_str() : "-");
  if (zdtm::FindPatternMismatch(ro, 8192, 3) >= 0) t.Fail("read-only mapping content differs");
  probe = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pm = zdtm::FindMapping(probe);
  if (!pm || pm->perms != "r-xp") t.Fail("READ_IMPLIES_EXEC no longer acts (%s)", pm ? pm->perms.c_str() : "-");
  t.Pass();
}
