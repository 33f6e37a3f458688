// no_new_privs stays set: it can never be cleared by the process, so a restore that forgets it
// silently lifts a security restriction. It still acts: a set-uid exec would not gain privileges,
// which we observe as PR_GET_NO_NEW_PRIVS in a forked child too.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm/lib/zdtm.h"

int main(int argc, char** argv) {
  auto t = zdtm::Test::Init(argc, argv);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) t.Fail("PR_SET_NO_NEW_PRIVS");

  t.Ready();
  t.WaitForTerm();

  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) t.Fail("no_new_privs is cleared");
  pid_t child = fork();
  if (child == 0) _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) t.Fail("a child does not inherit no_new_privs");
  t.Pass();
}
