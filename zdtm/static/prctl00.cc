// Per-process prctl() state beyond the credentials survives: child_subreaper, timer slack,
// THP disable and the dumpable flag.
#include <sys/prctl.h>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) t.Fail("PR_SET_CHILD_SUBREAPER");
  if (prctl(PR_SET_TIMERSLACK, 123456) != 0) t.Fail("PR_SET_TIMERSLACK");
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) t.Fail("PR_SET_THP_DISABLE");
  if (prctl(PR_SET_DUMPABLE, 0) != 0) t.Fail("PR_SET_DUMPABLE");

  t.Ready();
  t.WaitForTerm();

  int subreaper = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
  if (subreaper != 1) t.Fail("child_subreaper is cleared");
  int slack = prctl(PR_GET_TIMERSLACK);
  if (slack != 123456) t.Fail("timer slack is %d, was 123456", slack);
  if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1) t.Fail("THP disable is cleared");
  if (prctl(PR_GET_DUMPABLE) != 0) t.Fail("dumpable is %d, was 0", prctl(PR_GET_DUMPABLE));
  t.Pass();
}
