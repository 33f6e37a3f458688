// The personality survives: ADDR_NO_RANDOMIZE and UNAME26, and it still acts (uname() reports
// a 2.6.x release under UNAME26).
#include <sys/personality.h>
#include <sys/utsname.h>

#include <cstring>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  const int want = ADDR_NO_RANDOMIZE | UNAME26;
  if (personality(want) == -1) t.Fail("personality");
  struct utsname u;
  uname(&u);
  if (std::strncmp(u.release, "2.6.", 4) != 0) t.Fail("UNAME26 does not act here (%s)", u.release);

  t.Ready();
  t.WaitForTerm();

  int now = personality(0xffffffff);
  if (now != want) t.Fail("personality is %#x, was %#x", now, want);
  uname(&u);
  if (std::strncmp(u.release, "2.6.", 4) != 0) t.Fail("uname release %s under UNAME26", u.release);
  t.Pass();
}
