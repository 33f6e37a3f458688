// A deep stack (about 2 MiB of frames) keeps every frame's contents, and the [stack] area can
// still grow down after restore.
#include <sys/mman.h>

#include <cstdint>

#include "zdtm/lib/pattern.h"
#include "zdtm/lib/self_proc.h"
#include "zdtm/lib/zdtm.h"

namespace {

constexpr size_t kFrame = 256 * 1024;
constexpr int kDepth = 8;

zdtm::Test* g_test;  // the recursion needs the test object at the bottom

// Returns the depth at which a frame was found corrupted, or -1.
__attribute__((noinline)) int Recurse(int depth, int max_depth, bool wait) {
  unsigned char frame[kFrame];
  zdtm::FillPattern(frame, kFrame, 500 + depth);
  int bad = -1;
  if (depth + 1 < max_depth) {
    bad = Recurse(depth + 1, max_depth, wait);
  } else if (wait) {
    g_test->Ready();
    g_test->WaitForTerm();
    auto m = zdtm::FindMapping(frame);
    if (!m || m->path != "[stack]") g_test->Fail("the deepest frame is not in [stack] (%s)", m ? m->path.c_str() : "none");
    // Grow the stack further than it ever was: the area must still be a growing stack.
    if (Recurse(0, 4, false) >= 0) g_test->Fail("new frames below the restored stack are corrupt");
  }
  if (zdtm::FindPatternMismatch(frame, kFrame, 500 + depth) >= 0) return depth;
  asm volatile("" ::"r"(frame) : "memory");
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  g_test = &t;
  int bad = Recurse(0, kDepth, true);
  if (bad >= 0) t.Fail("stack frame at depth %d is corrupt", bad);
  t.Pass();
}
