// A MAP_SHARED anonymous mapping keeps its contents and stays shared: after restore a forked
// child's writes are seen by the parent.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  constexpr size_t kSize = 32 * 4096;
  auto* shared = static_cast<unsigned char*>(
      mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) t.Fail("mmap shared failed");
  zdtm::FillPattern(shared, kSize - 4096, 42);  // the last page stays untouched (zero)

  t.Ready();
  t.WaitForTerm();

  long bad = zdtm::FindPatternMismatch(shared, kSize - 4096, 42);
  if (bad >= 0) t.Fail("shared mapping: mismatch at offset %ld", bad);
  if (zdtm::FindNonZero(shared + kSize - 4096, 4096) >= 0) t.Fail("untouched page is not zero");
  auto m = zdtm::FindMapping(shared);
  if (!m || m->perms != "rw-s") t.Fail("mapping perms are '%s', want rw-s", m ? m->perms.c_str() : "(none)");
  pid_t child = fork();
  if (child == 0) {
    shared[kSize - 1] = 0x5a;
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  if (shared[kSize - 1] != 0x5a) t.Fail("a child's write is not visible: mapping is no longer shared");
  t.Pass();
}
